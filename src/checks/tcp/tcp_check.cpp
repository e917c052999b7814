#include <array>
#include <chrono>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "common/asio_net.hpp"
#include "common/net.hpp"
#include "common/resolver.hpp"
#include "common/url.hpp"
#include "vitals/checks/tcp.hpp"

namespace vitals::checks {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;
using detail::steady_time;

// Shows what the peer sent in a failure message: printable ASCII only, bounded.
std::string printable(std::string_view bytes) {
  std::string out;
  for (const char c : bytes.substr(0, 60)) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(c);
    } else if (c == '\r') {
      out.append("\\r");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back('.');
    }
  }
  if (bytes.size() > 60) out.append("...");
  return out;
}

struct progress {
  const char* phase = "connecting to";
  asio::ip::tcp::endpoint peer{};
  error_code ec{};
  std::string received{};
  bool found = false;
  bool done = false;
};

class tcp_check final : public vitals::check {
 public:
  explicit tcp_check(tcp_options o) : options_(std::move(o)) {
    if (options_.host.size() >= 2 && options_.host.front() == '[' && options_.host.back() == ']') {
      options_.host = options_.host.substr(1, options_.host.size() - 2);
    }
    if (options_.host.empty()) throw std::invalid_argument("tcp check: host is empty");
    if (options_.port == 0) throw std::invalid_argument("tcp check: port must be 1-65535");
    if (!options_.expect.empty() && options_.max_read_bytes < options_.expect.size()) {
      throw std::invalid_argument("tcp check: max_read_bytes is smaller than expect");
    }
  }

  [[nodiscard]] check_traits traits() const override {
    return {.type = "tcp",
            .component_type = "component",
            .measurement = "connections",
            .dependency = true,
            .secrets = {}};
  }

  result run(const context& ctx) override {
    const auto deadline = ctx.deadline();
    const auto started = std::chrono::steady_clock::now();
    auto looked_up = resolver_.resolve(options_.host, options_.port, deadline);
    if (!looked_up) return detail::to_result(*looked_up.error);
    const auto endpoints = detail::to_endpoints(looked_up.addresses);

    asio::io_context ioc{1};
    beast::tcp_stream stream{ioc};
    progress pr;
    bool finished = false;
    asio::co_spawn(ioc, exchange(stream, endpoints, deadline, pr),
                   [&](const std::exception_ptr&) { finished = true; });
    ioc.run_until(deadline + std::chrono::milliseconds{200});
    if (!finished) {
      stream.close();
      ioc.restart();
      ioc.run_for(std::chrono::milliseconds{50});
      pr.ec = beast::error::timeout;
    }
    const auto elapsed = std::chrono::steady_clock::now() - started;
    const std::string peer = pr.peer.port() != 0 ? detail::endpoint_text(pr.peer)
                                                 : detail::host_port(options_.host, options_.port);
    if (pr.ec == beast::error::timeout || pr.ec == asio::error::operation_aborted) {
      std::string msg =
          "timed out after " + detail::format_duration(elapsed) + " " + pr.phase + " " + peer;
      if (!pr.received.empty()) msg += " (got \"" + printable(pr.received) + "\")";
      return vitals::fail(msg, failure_kind::timeout);
    }
    if (pr.ec && !(pr.ec == asio::error::eof && !options_.expect.empty())) {
      const auto kind = detail::kind_from_error(pr.ec);
      if (kind == failure_kind::refused) {
        return vitals::fail(detail::error_text(pr.ec) + " (" + peer + ")", kind);
      }
      return vitals::fail(detail::error_text(pr.ec) + " " + pr.phase + " " + peer, kind);
    }
    if (!options_.expect.empty() && !pr.found) {
      const std::string how = pr.ec == asio::error::eof
                                  ? "before the connection closed"
                                  : "in the first " + std::to_string(pr.received.size()) + " bytes";
      return vitals::fail("expected \"" + printable(options_.expect) + "\" not found " + how +
                              " from " + peer + " (got \"" + printable(pr.received) + "\")",
                          failure_kind::protocol);
    }
    const double ms =
        std::round(std::chrono::duration<double, std::milli>(elapsed).count() * 100.0) / 100.0;
    return vitals::pass().observe(ms, "ms").detail("peer", peer);
  }

 private:
  asio::awaitable<void> exchange(beast::tcp_stream& stream,
                                 const std::vector<asio::ip::tcp::endpoint>& endpoints,
                                 steady_time deadline, progress& pr) {
    const auto use = [&pr] { return asio::redirect_error(asio::use_awaitable, pr.ec); };
    stream.expires_at(deadline);
    pr.ec = co_await detail::connect_any(stream, endpoints, pr.peer);
    if (pr.ec) co_return;
    if (!options_.send.empty()) {
      pr.phase = "sending to";
      co_await asio::async_write(stream, asio::buffer(options_.send), use());
      if (pr.ec) co_return;
    }
    if (!options_.expect.empty()) {
      pr.phase = "waiting for the expected reply from";
      std::array<char, 1024> buf{};
      while (pr.received.size() < options_.max_read_bytes) {
        const std::size_t want = std::min(buf.size(), options_.max_read_bytes - pr.received.size());
        const std::size_t n =
            co_await stream.async_read_some(asio::buffer(buf.data(), want), use());
        pr.received.append(buf.data(), n);
        if (pr.received.find(options_.expect) != std::string::npos) {
          pr.found = true;
          break;
        }
        if (pr.ec) co_return;
      }
    }
    pr.ec = {};
    pr.done = true;
  }

  tcp_options options_;
  detail::bounded_resolver resolver_{};
};

}  // namespace

std::shared_ptr<vitals::check> tcp(tcp_options options) {
  return std::make_shared<tcp_check>(std::move(options));
}

}  // namespace vitals::checks
