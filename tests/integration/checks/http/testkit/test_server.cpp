#include "test_server.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>  // Boost 1.74's awaitable.hpp needs std::exchange declared first

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <stdexcept>
#include <thread>

namespace vitals::testkit {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct test_server::impl {
  handler h;
  std::string garbage;
  asio::io_context ioc{1};
  std::optional<asio::ssl::context> tls;
  tcp::acceptor acceptor{ioc};
  std::thread thread;
  std::atomic<std::size_t> served{0};
  std::atomic<std::size_t> accepted{0};
  std::atomic<bool> keep_alive{false};
  // Open HTTP connections (server thread only), true while a request is being handled: from the
  // end of its read until its response is handed to the socket. The others are idle.
  std::map<tcp::socket*, bool> open;
  std::uint16_t port = 0;

  // Serves requests until the peer or a response closes the connection (one request unless
  // keep_alive).
  template <class Stream>
  asio::awaitable<void> serve_http(Stream& stream, bool client_cert) {
    boost::beast::flat_buffer buf;
    tcp::socket* sock = &boost::beast::get_lowest_layer(stream);
    open[sock] = false;
    while (co_await serve_one(stream, buf, client_cert)) {
    }
    open.erase(sock);
  }

  void set_busy(tcp::socket* sock, bool busy) {
    if (auto it = open.find(sock); it != open.end()) it->second = busy;
  }

  template <class Stream>
  asio::awaitable<bool> serve_one(Stream& stream, boost::beast::flat_buffer& buf,
                                  bool client_cert) {
    error_code ec;
    bhttp::request<bhttp::string_body> req;
    tcp::socket* sock = &boost::beast::get_lowest_layer(stream);
    co_await bhttp::async_read(stream, buf, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
    set_busy(sock, true);
    request_info info{
        std::string(req.method_string()), std::string(req.target()), {}, client_cert, req.body()};
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      info.headers[name] = std::string(f.value());
    }
    ++served;
    response_spec spec = h(info);
    if (spec.delay.count() > 0) {
      asio::steady_timer t{ioc, spec.delay};
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(spec.status), 11};
    for (const auto& [k, v] : spec.headers) res.set(k, v);
    const bool keep =
        keep_alive && req.keep_alive() && res.find(bhttp::field::connection) == res.end();
    if (!keep) res.set(bhttp::field::connection, "close");
    res.body() = spec.body;
    res.prepare_payload();
    // The client may have the whole response before this coroutine resumes after the write:
    // from here on the connection counts as idle.
    set_busy(sock, false);
    co_await bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    co_return keep && !ec;
  }

  asio::awaitable<void> session(tcp::socket sock) {
    error_code ec;
    if (!garbage.empty()) {
      co_await asio::async_write(sock, asio::buffer(garbage),
                                 asio::redirect_error(asio::use_awaitable, ec));
      sock.shutdown(tcp::socket::shutdown_both, ec);
      co_return;
    }
    if (!tls) {
      co_await serve_http(sock, false);
      sock.shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
    asio::ssl::stream<tcp::socket> stream{std::move(sock), *tls};
    co_await stream.async_handshake(asio::ssl::stream_base::server,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    const bool client_cert = SSL_get0_peer_certificate(stream.native_handle()) != nullptr;
    co_await serve_http(stream, client_cert);
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  }

  asio::awaitable<void> accept_loop() {
    while (true) {
      error_code ec;
      tcp::socket sock =
          co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      ++accepted;
      asio::co_spawn(ioc, session(std::move(sock)), asio::detached);
    }
  }
};

test_server::test_server(handler h, std::optional<server_tls> tls, std::string garbage)
    : impl_(std::make_unique<impl>()) {
  impl_->h = std::move(h);
  impl_->garbage = std::move(garbage);
  if (tls) {
    impl_->tls.emplace(asio::ssl::context::tls_server);
    SSL_CTX* ctx = impl_->tls->native_handle();
    if (SSL_CTX_use_certificate(ctx, tls->cert.cert.get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, tls->cert.key.get()) != 1) {
      throw std::runtime_error("test_server: bad certificate");
    }
    if (!tls->client_ca_file.empty()) {
      impl_->tls->load_verify_file(tls->client_ca_file);
      impl_->tls->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    }
  }
  const tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), 0};
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

test_server::~test_server() {
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void test_server::stop() {
  // Closed on the server's own thread; wait for it so the next connect is refused.
  std::promise<void> closed;
  asio::post(impl_->ioc, [this, &closed] {
    error_code ec;
    impl_->acceptor.close(ec);
    closed.set_value();
  });
  closed.get_future().wait_for(std::chrono::seconds{5});
}

std::uint16_t test_server::port() const noexcept { return impl_->port; }
std::size_t test_server::requests() const noexcept { return impl_->served.load(); }
std::size_t test_server::connections() const noexcept { return impl_->accepted.load(); }
void test_server::set_keep_alive(bool on) noexcept { impl_->keep_alive = on; }

std::size_t test_server::close_idle() {
  std::promise<std::size_t> closed;
  asio::post(impl_->ioc, [this, &closed] {
    std::size_t n = 0;
    for (auto it = impl_->open.begin(); it != impl_->open.end();) {
      if (it->second) {
        ++it;
        continue;
      }
      error_code ec;
      it->first->close(ec);
      it = impl_->open.erase(it);
      ++n;
    }
    closed.set_value(n);
  });
  auto f = closed.get_future();
  if (f.wait_for(std::chrono::seconds{5}) != std::future_status::ready) return 0;
  return f.get();
}
std::string test_server::url(const std::string& path) const {
  return std::string(impl_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port()) +
         path;
}

namespace {

int listen_loopback(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sin;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 ||
      ::listen(fd, 256) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) != 0) {
    throw std::runtime_error("listen_loopback failed");
  }
  port = ntohs(sin.sin_port);
  return fd;
}

}  // namespace

child_server::child_server() {
  const pid_t parent = ::getpid();
  const int fd = listen_loopback(port_);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Child: only async-signal-safe calls from here on (the parent has threads).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(0);
    static const char reply[] =
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n"
        "Connection: close\r\n\r\nok";
    while (true) {
      const int c = ::accept(fd, nullptr, nullptr);
      if (c < 0) continue;
      char buf[2048];
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 1000) > 0 && ::read(c, buf, sizeof buf) > 0) {
        [[maybe_unused]] const auto n = ::write(c, reply, sizeof reply - 1);
      }
      ::close(c);
    }
  }
  ::close(fd);
}

child_server::~child_server() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
}

void child_server::freeze() { ::kill(pid_, SIGSTOP); }
void child_server::thaw() { ::kill(pid_, SIGCONT); }

std::uint16_t closed_port() {
  std::uint16_t port = 0;
  const int fd = listen_loopback(port);
  ::close(fd);
  return port;
}

std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

std::size_t socket_count() {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const auto target = std::filesystem::read_symlink(e.path(), ec);
    if (!ec && target.string().rfind("socket:", 0) == 0) ++n;
  }
  return n;
}

vitals::result run_once(vitals::check& c, std::chrono::milliseconds timeout) {
  const vitals::context ctx{"test", std::chrono::steady_clock::now() + timeout,
                            std::make_shared<std::atomic<bool>>(false)};
  return c.run(ctx);
}

std::string all_text(const vitals::result& r) {
  std::string out = r.output;
  for (const auto& [k, v] : r.details) out.append("\n").append(k).append("=").append(v);
  if (r.observed) {
    if (const auto* s = std::get_if<std::string>(&r.observed->value)) out.append("\n").append(*s);
  }
  return out;
}

get_result http_get(std::uint16_t port, const std::string& target,
                    const std::string& extra_headers) {
  get_result out;
  const auto start = std::chrono::steady_clock::now();
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) {
    if (fd >= 0) ::close(fd);
    return out;
  }
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers +
                          "Connection: close\r\n\r\n";
  [[maybe_unused]] const auto sent = ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string resp;
  char buf[4096];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  out.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  if (resp.rfind("HTTP/1.1 ", 0) == 0 && resp.size() >= 12)
    out.status = std::stoi(resp.substr(9, 3));
  if (const auto p = resp.find("\r\n\r\n"); p != std::string::npos) out.body = resp.substr(p + 4);
  return out;
}

}  // namespace vitals::testkit
