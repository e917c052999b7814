#include "vitals/http/server.hpp"

#include <unistd.h>
#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include "server_connection.hpp"

namespace vitals::http {

using detail::asio::ip::tcp;
namespace asio = detail::asio;

namespace {

// Owns an accepted descriptor while it travels to another worker, so a post that never runs
// (server stopping) still closes it.
struct handoff {
  int fd = -1;
  tcp protocol = tcp::v4();
  handoff(int f, tcp p) noexcept : fd(f), protocol(p) {}
  handoff(handoff&& o) noexcept : fd(std::exchange(o.fd, -1)), protocol(o.protocol) {}
  handoff& operator=(handoff&&) = delete;
  handoff(const handoff&) = delete;
  ~handoff() {
    if (fd >= 0) ::close(fd);
  }
};

std::chrono::milliseconds sweep_period_for(const server_options& o) {
  // Deadlines are enforced within one period: a quarter of the shortest timeout, between 10 ms
  // and 250 ms (probe clients never come near the defaults, tests use short ones).
  const auto shortest = std::min(o.header_timeout, o.idle_timeout);
  return std::clamp(shortest / 4, std::chrono::milliseconds{10}, std::chrono::milliseconds{250});
}

}  // namespace

class server::impl {
 public:
  impl(std::shared_ptr<service> svc, server_options options, handler_options handler_opts)
      : handler_(std::move(svc), std::move(handler_opts)) {
    if (options.io_threads == 0) options.io_threads = 1;
    if (options.max_pipelined == 0) options.max_pipelined = 1;
    if (options.max_connections == 0) options.max_connections = 1;
    shared_.options = std::move(options);
    shared_.serve = &detail::handler_access::of(handler_);
    shared_.linger_timeout = std::min(shared_.options.header_timeout,
                                      std::chrono::milliseconds{std::chrono::seconds{2}});
    shared_.sweep_period = sweep_period_for(shared_.options);
  }

  ~impl() { stop(); }

  void start() {
    std::lock_guard lock{mutex_};
    if (started_) return;
    const auto& o = shared_.options;
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(o.address, ec);
    if (ec) {
      throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                              "vitals::http::server: bad address '" + o.address + "'");
    }
    for (std::size_t i = 0; i < o.io_threads; ++i) {
      workers_.push_back(std::make_unique<detail::worker>(shared_));
    }
    acceptor_.emplace(workers_.front()->io());
    const tcp::endpoint endpoint{address, o.port};
    auto fail = [&](const char* what) {
      acceptor_.reset();
      workers_.clear();
      throw std::system_error(ec.value(), std::system_category(),
                              std::string{"vitals::http::server: "} + what + " " + o.address + ":" +
                                  std::to_string(o.port));
    };
    acceptor_->open(endpoint.protocol(), ec);
    if (ec) fail("open");
    acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
    if (ec) fail("setsockopt");
    acceptor_->bind(endpoint, ec);
    if (ec) fail("bind");
    acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) fail("listen");
    port_ = acceptor_->local_endpoint().port();
    accept_retry_.emplace(workers_.front()->io());
    accept();
    for (auto& w : workers_) w->run_thread();
    started_ = true;
  }

  void stop() {
    std::lock_guard lock{mutex_};
    if (!started_ || stopped_) return;
    stopped_ = true;
    // Stop every loop first: afterwards nothing runs concurrently and the listener and the
    // connections can be closed from here.
    for (auto& w : workers_) w->stop_and_join();
    boost::system::error_code ec;
    acceptor_->close(ec);
    accept_retry_.reset();
    acceptor_.reset();
    workers_.clear();
    shared_.open.store(0, std::memory_order_relaxed);
  }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::size_t connections() const noexcept {
    return shared_.open.load(std::memory_order_relaxed);
  }
  [[nodiscard]] const handler& get_handler() const noexcept { return handler_; }
  // The handler swaps services on its own (each request loads the current one once), so
  // neither the listener nor the connections notice.
  void rebind(std::shared_ptr<service> svc) { handler_.rebind(std::move(svc)); }

 private:
  void accept() {
    acceptor_->async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) return;
      if (ec) {
        // Out of descriptors or similar: back off instead of spinning on the error.
        accept_retry_->expires_after(std::chrono::milliseconds{50});
        accept_retry_->async_wait([this](const boost::system::error_code& tec) {
          if (!tec) accept();
        });
        return;
      }
      dispatch(std::move(socket));
      accept();
    });
  }

  void dispatch(tcp::socket socket) {
    detail::worker& first = *workers_.front();
    if (shared_.open.load(std::memory_order_relaxed) >= shared_.options.max_connections) {
      first.refuse_busy(std::move(socket));
      return;
    }
    // Only this thread increments, so the check above cannot be raced past the cap.
    shared_.open.fetch_add(1, std::memory_order_relaxed);
    const std::size_t target = next_worker_;
    next_worker_ = (next_worker_ + 1) % workers_.size();
    if (target == 0) {
      first.adopt(std::move(socket));
      return;
    }
    // Hand the bare descriptor over so that only the owning thread ever touches its reactor
    // state (the io_contexts run without per-socket locking).
    const tcp protocol = socket.local_endpoint().protocol();
    boost::system::error_code ec;
    handoff h{socket.release(ec), protocol};
    if (ec) {
      shared_.open.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    detail::worker& w = *workers_[target];
    asio::post(w.io(), [&w, h = std::move(h)]() mutable {
      boost::system::error_code aec;
      tcp::socket s{w.io()};
      s.assign(h.protocol, h.fd, aec);
      if (aec) {
        w.shared().open.fetch_sub(1, std::memory_order_relaxed);
        return;
      }
      h.fd = -1;
      w.adopt(std::move(s));
    });
  }

  handler handler_;
  detail::server_shared shared_{};
  std::vector<std::unique_ptr<detail::worker>> workers_{};
  std::optional<tcp::acceptor> acceptor_{};
  std::optional<asio::steady_timer> accept_retry_{};
  std::size_t next_worker_ = 0;
  std::uint16_t port_ = 0;
  std::mutex mutex_{};
  bool started_ = false;
  bool stopped_ = false;
};

server::server(service& svc, server_options options, handler_options handler_opts)
    // Non-owning: an aliasing pointer without a control block; the caller keeps `svc` alive.
    : server(std::shared_ptr<service>(std::shared_ptr<void>{}, &svc), std::move(options),
             std::move(handler_opts)) {}

server::server(std::shared_ptr<service> svc, server_options options, handler_options handler_opts)
    : impl_(std::make_unique<impl>(std::move(svc), std::move(options), std::move(handler_opts))) {}

server::~server() = default;

void server::start() { impl_->start(); }
void server::stop() { impl_->stop(); }
std::uint16_t server::port() const noexcept { return impl_->port(); }
std::size_t server::connections() const noexcept { return impl_->connections(); }
void server::rebind(std::shared_ptr<service> svc) { impl_->rebind(std::move(svc)); }
void server::rebind(service& svc) {
  impl_->rebind(std::shared_ptr<service>(std::shared_ptr<void>{}, &svc));
}
const handler& server::get_handler() const noexcept { return impl_->get_handler(); }

}  // namespace vitals::http
