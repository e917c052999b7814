#include "vitals/http/server.hpp"

#include <unistd.h>
#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/address_v6.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include "server_connection.hpp"

// Admission at the cap is per worker: each I/O thread owns its connections and only it may
// close one, so the accepting thread never touches another worker's list. A new connection
// at the cap goes to the next worker in turn, which closes its own cheapest connection; a
// worker with none to spare passes it on, and only when every worker has none is it refused.
// Connections are dealt round-robin, so each worker's cheapest is close to the global one.

namespace vitals::http {

using detail::asio::ip::tcp;
namespace asio = detail::asio;

namespace {

// Owns an accepted descriptor while it travels to another worker, so a post that never runs
// (server stopping) still closes it.
struct handoff {
  int fd = -1;
  tcp protocol = tcp::v4();
  detail::client_slot slot{};
  handoff(int f, tcp p, const detail::client_slot& s) noexcept : fd(f), protocol(p), slot(s) {}
  handoff(handoff&& o) noexcept : fd(std::exchange(o.fd, -1)), protocol(o.protocol), slot(o.slot) {}
  handoff& operator=(handoff&&) = delete;
  handoff(const handoff&) = delete;
  ~handoff() {
    if (fd >= 0) ::close(fd);
  }
};

detail::client_key key_of(const tcp::endpoint& peer) {
  const auto a = peer.address();
  const auto v6 = a.is_v4() ? asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4()) : a.to_v6();
  return v6.to_bytes();
}

// Opens, binds and listens: null, or the step that failed (`ec` says why).
const char* listen_on(tcp::acceptor& a, const tcp::endpoint& endpoint,
                      boost::system::error_code& ec) {
  a.open(endpoint.protocol(), ec);
  if (ec) return "open";
  a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) return "setsockopt";
  a.bind(endpoint, ec);
  if (ec) return "bind";
  a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return "listen";
  return nullptr;
}

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
    shared_.streams.cap = std::min(shared_.options.max_event_streams,
                                   std::max<std::size_t>(shared_.options.max_connections / 2, 1));
    metrics_source_ =
        shared_.serve->add_metrics_source([this](detail::metrics_writer& w) { write_metrics(w); });
  }

  ~impl() {
    // First: a scrape in progress finishes before the counters it reads go away.
    shared_.serve->remove_metrics_source(metrics_source_);
    stop();
  }

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
    std::optional<asio::ip::address> metrics_address;
    if (!o.metrics_address.empty()) {
      metrics_address = asio::ip::make_address(o.metrics_address, ec);
      if (ec) {
        throw std::system_error(
            std::make_error_code(std::errc::invalid_argument),
            "vitals::http::server: bad metrics address '" + o.metrics_address + "'");
      }
    }
    if (o.tls.enabled() && !tls_) {
      // Before the port is taken: a certificate that cannot be loaded fails start() cleanly.
      tls_.emplace(o.tls);
      shared_.tls = &*tls_;
    }
    for (std::size_t i = 0; i < o.io_threads; ++i) {
      workers_.push_back(std::make_unique<detail::worker>(shared_));
    }
    const auto fail = [&](const char* what, const std::string& which, std::uint16_t port) {
      acceptor_.reset();
      metrics_acceptor_.reset();
      workers_.clear();
      throw std::system_error(
          ec.value(), std::system_category(),
          std::string{"vitals::http::server: "} + what + " " + which + ":" + std::to_string(port));
    };
    acceptor_.emplace(workers_.front()->io());
    if (const char* step = listen_on(*acceptor_, {address, o.port}, ec)) {
      fail(step, o.address, o.port);
    }
    port_ = acceptor_->local_endpoint().port();
    if (metrics_address) {
      // A listener for the scraper: /metrics alone (client_slot::metrics_only).
      metrics_acceptor_.emplace(workers_.front()->io());
      if (const char* step =
              listen_on(*metrics_acceptor_, {*metrics_address, o.metrics_port}, ec)) {
        fail(step, "metrics listener " + o.metrics_address, o.metrics_port);
      }
      metrics_port_ = metrics_acceptor_->local_endpoint().port();
    }
    accept_retry_.emplace(workers_.front()->io());
    metrics_retry_.emplace(workers_.front()->io());
    accept(*acceptor_, false);
    if (metrics_acceptor_) accept(*metrics_acceptor_, true);
    if (tls_) {
      tls_timer_.emplace(workers_.front()->io());
      watch_tls();
    }
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
    if (metrics_acceptor_) metrics_acceptor_->close(ec);
    metrics_acceptor_.reset();
    accept_retry_.reset();
    metrics_retry_.reset();
    tls_timer_.reset();
    acceptor_.reset();
    workers_.clear();
    shared_.open.store(0, std::memory_order_relaxed);
    shared_.streams.open.store(0, std::memory_order_relaxed);
    const std::lock_guard clients{shared_.clients_mutex};
    shared_.clients.clear();
  }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::uint16_t metrics_port() const noexcept { return metrics_port_; }
  [[nodiscard]] std::size_t connections() const noexcept {
    return shared_.open.load(std::memory_order_relaxed);
  }
  [[nodiscard]] server_stats stats() const noexcept {
    return {
        .connections = shared_.open.load(std::memory_order_relaxed),
        .evicted_idle = shared_.evicted_idle.load(std::memory_order_relaxed),
        .evicted_silent = shared_.evicted_silent.load(std::memory_order_relaxed),
        .refused_busy = shared_.refused_busy.load(std::memory_order_relaxed),
        .refused_per_client = shared_.refused_per_client.load(std::memory_order_relaxed),
        .tls_handshake_failures = shared_.tls_handshake_failures.load(std::memory_order_relaxed),
        .tls_reloads = tls_ ? tls_->reloads() : 0,
        .tls_reload_failures = tls_ ? tls_->reload_failures() : 0,
        .bad_request_malformed = refused(detail::refusal::malformed),
        .bad_request_line_too_long = refused(detail::refusal::line_too_long),
        .bad_request_header_too_large = refused(detail::refusal::header_too_large),
        .bad_request_body = refused(detail::refusal::body),
        .bad_request_host = refused(detail::refusal::host),
        .internal_errors = refused(detail::refusal::internal),
        .event_streams = shared_.streams.open.load(std::memory_order_relaxed),
        .event_streams_refused = shared_.streams.refused.load(std::memory_order_relaxed),
        .event_streams_dropped = shared_.streams_dropped.load(std::memory_order_relaxed)};
  }
  [[nodiscard]] std::string tls_reload_error() const { return tls_ ? tls_->last_error() : ""; }
  [[nodiscard]] const handler& get_handler() const noexcept { return handler_; }
  // The handler swaps services on its own (each request loads the current one once), so
  // neither the listener nor the connections notice.
  void rebind(std::shared_ptr<service> svc) { handler_.rebind(std::move(svc)); }

 private:
  [[nodiscard]] std::uint64_t refused(detail::refusal why) const noexcept {
    return shared_.refusals[static_cast<std::size_t>(why)].load(std::memory_order_relaxed);
  }

  // The server's part of /metrics (see docs/metrics.md).
  void write_metrics(detail::metrics_writer& w) const {
    using detail::metric_type;
    const server_stats s = stats();
    w.family("vitals_http_connections", metric_type::gauge, "Connections open now.");
    w.sample("", static_cast<double>(s.connections));
    w.family("vitals_http_connections_max", metric_type::gauge,
             "The connection cap (max_connections).");
    w.sample("", static_cast<double>(shared_.options.max_connections));
    w.family("vitals_http_connections_evicted", metric_type::counter,
             "Connections closed to admit a new one at the cap: idle keep-alive or silent.");
    w.sample("", R"(reason="idle")", static_cast<double>(s.evicted_idle));
    w.sample("", R"(reason="silent")", static_cast<double>(s.evicted_silent));
    w.family("vitals_http_connections_refused", metric_type::counter,
             "New connections refused: every open one busy at the cap, or the client's limit.");
    w.sample("", R"(reason="busy")", static_cast<double>(s.refused_busy));
    w.sample("", R"(reason="per_client")", static_cast<double>(s.refused_per_client));
    w.family("vitals_http_bad_requests", metric_type::counter,
             "Requests refused before reaching the handler, by kind.");
    w.sample("", R"(kind="malformed")", static_cast<double>(s.bad_request_malformed));
    w.sample("", R"(kind="line_too_long")", static_cast<double>(s.bad_request_line_too_long));
    w.sample("", R"(kind="header_too_large")", static_cast<double>(s.bad_request_header_too_large));
    w.sample("", R"(kind="body")", static_cast<double>(s.bad_request_body));
    w.sample("", R"(kind="host")", static_cast<double>(s.bad_request_host));
    w.family("vitals_http_internal_errors", metric_type::counter,
             "Answers that could not be produced (500).");
    w.sample("", s.internal_errors);
    if (shared_.serve->events() != nullptr) {
      w.family("vitals_http_event_streams", metric_type::gauge,
               "Event streams (/api/v1/events) open now.");
      w.sample("", static_cast<double>(s.event_streams));
      w.family("vitals_http_event_streams_max", metric_type::gauge,
               "The event stream cap (max_event_streams, at most half of max_connections).");
      w.sample("", static_cast<double>(shared_.streams.cap));
      w.family("vitals_http_event_streams_closed", metric_type::counter,
               "Event streams refused at the cap, or dropped because their client did not read.");
      w.sample("", R"(reason="refused")", static_cast<double>(s.event_streams_refused));
      w.sample("", R"(reason="slow")", static_cast<double>(s.event_streams_dropped));
    }
    if (!tls_) return;
    w.family("vitals_http_tls_handshake_failures", metric_type::counter,
             "TLS handshakes refused (bad client hello, protocol or certificate).");
    w.sample("", s.tls_handshake_failures);
    w.family("vitals_http_tls_reloads", metric_type::counter,
             "Certificate reloads after a change of the files, by result.");
    w.sample("", R"(result="ok")", static_cast<double>(s.tls_reloads));
    w.sample("", R"(result="error")", static_cast<double>(s.tls_reload_failures));
  }

  void accept(tcp::acceptor& from, bool metrics_only) {
    from.async_accept(
        [this, &from, metrics_only](const boost::system::error_code& ec, tcp::socket socket) {
          if (ec == asio::error::operation_aborted || !from.is_open()) return;
          if (ec) {
            // Out of descriptors or similar: back off instead of spinning on the error.
            auto& retry = metrics_only ? metrics_retry_ : accept_retry_;
            retry->expires_after(std::chrono::milliseconds{50});
            retry->async_wait([this, &from, metrics_only](const boost::system::error_code& tec) {
              if (!tec) accept(from, metrics_only);
            });
            return;
          }
          dispatch(std::move(socket), metrics_only);
          accept(from, metrics_only);
        });
  }

  // Looks at the certificate files every tls_reload_period, on the first worker's thread.
  void watch_tls() {
    tls_timer_->expires_after(detail::tls_reload_period);
    tls_timer_->async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      tls_->poll();
      watch_tls();
    });
  }

  void dispatch(tcp::socket socket, bool metrics_only) {
    detail::worker& first = *workers_.front();
    detail::client_slot slot{};
    slot.metrics_only = metrics_only;
    if (shared_.options.max_connections_per_client > 0) {
      boost::system::error_code ec;
      const auto peer = socket.remote_endpoint(ec);
      if (ec) return;  // already gone
      slot.key = key_of(peer);
      slot.counted = true;
      if (!shared_.take_client(slot.key)) {
        shared_.refused_per_client.fetch_add(1, std::memory_order_relaxed);
        first.refuse_busy(std::move(socket), {});
        return;
      }
    }
    const bool placed = shared_.try_reserve();
    const std::size_t target = next_worker_;
    next_worker_ = (next_worker_ + 1) % workers_.size();
    if (target == 0) {
      take(0, std::move(socket), slot, placed, workers_.size());
    } else {
      hand_over(target, std::move(socket), slot, placed, workers_.size());
    }
  }

  // On worker `at`'s thread: adopts the connection if it has a place under the cap or this
  // worker can make one; otherwise passes it to the next worker, `hops` workers in all.
  void take(std::size_t at, tcp::socket socket, const detail::client_slot& slot, bool placed,
            std::size_t hops) {
    detail::worker& w = *workers_[at];
    if (placed || shared_.try_reserve() || w.make_room()) {
      w.adopt(std::move(socket), slot);
    } else if (hops > 1) {
      hand_over((at + 1) % workers_.size(), std::move(socket), slot, false, hops - 1);
    } else {
      shared_.refused_busy.fetch_add(1, std::memory_order_relaxed);
      w.refuse_busy(std::move(socket), slot);
    }
  }

  // Hands the bare descriptor over so that only the owning thread ever touches its reactor
  // state (the io_contexts run without per-socket locking).
  void hand_over(std::size_t target, tcp::socket socket, const detail::client_slot& slot,
                 bool placed, std::size_t hops) {
    boost::system::error_code ec;
    const tcp protocol = socket.local_endpoint(ec).protocol();
    handoff h{ec ? -1 : socket.release(ec), protocol, slot};
    if (ec) {
      if (placed) shared_.open.fetch_sub(1, std::memory_order_relaxed);
      shared_.give_back(slot);
      return;
    }
    detail::worker& w = *workers_[target];
    asio::post(w.io(), [this, target, placed, hops, h = std::move(h)]() mutable {
      detail::worker& to = *workers_[target];
      boost::system::error_code aec;
      tcp::socket s{to.io()};
      s.assign(h.protocol, h.fd, aec);
      if (aec) {
        if (placed) shared_.open.fetch_sub(1, std::memory_order_relaxed);
        shared_.give_back(h.slot);
        return;
      }
      h.fd = -1;
      take(target, std::move(s), h.slot, placed, hops);
    });
  }

  handler handler_;
  detail::server_shared shared_{};
  std::vector<std::unique_ptr<detail::worker>> workers_{};
  std::optional<tcp::acceptor> acceptor_{};
  std::optional<tcp::acceptor> metrics_acceptor_{};
  std::optional<asio::steady_timer> accept_retry_{};
  std::optional<asio::steady_timer> metrics_retry_{};
  std::optional<detail::tls_state> tls_{};
  std::optional<asio::steady_timer> tls_timer_{};
  std::size_t next_worker_ = 0;
  std::uint64_t metrics_source_ = 0;
  std::uint16_t port_ = 0;
  std::uint16_t metrics_port_ = 0;
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
std::uint16_t server::metrics_port() const noexcept { return impl_->metrics_port(); }
std::size_t server::connections() const noexcept { return impl_->connections(); }
server_stats server::stats() const noexcept { return impl_->stats(); }
std::string server::tls_reload_error() const { return impl_->tls_reload_error(); }
void server::rebind(std::shared_ptr<service> svc) { impl_->rebind(std::move(svc)); }
void server::rebind(service& svc) {
  impl_->rebind(std::shared_ptr<service>(std::shared_ptr<void>{}, &svc));
}
const handler& server::get_handler() const noexcept { return impl_->get_handler(); }

}  // namespace vitals::http
