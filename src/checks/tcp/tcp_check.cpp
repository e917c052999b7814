#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "common/asio_net.hpp"
#include "common/io_loop.hpp"
#include "common/net.hpp"
#include "common/resolver.hpp"
#include "common/url.hpp"
#include "vitals/checks/descriptors.hpp"
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

class tcp_check final : public detail::loop_check<tcp_check> {
  friend loop_check;

 public:
  // The connection of the run; the event loop is shared.
  [[nodiscard]] std::size_t descriptors() const noexcept override { return 1; }

  explicit tcp_check(tcp_options o) : options_(std::move(o)) {
    detail::check_target("tcp", options_.host, options_.port);
    if (!options_.expect.empty() && options_.max_read_bytes < options_.expect.size()) {
      throw std::invalid_argument("tcp check: max_read_bytes is smaller than expect");
    }
    sent_pieces_ = pieces_of(options_.send);
  }

  [[nodiscard]] check_traits traits() const override {
    return {.type = "tcp",
            .component_type = "component",
            .measurement = "connections",
            .dependency = true,
            .secrets = options_.send.size() >= 3 ? std::vector<std::string>{options_.send}
                                                 : std::vector<std::string>{}};
  }

 private:
  asio::awaitable<result> evaluate(const context& ctx, steady_time started) {
    const auto deadline = ctx.deadline();
    const std::string target = detail::host_port(options_.host, options_.port);
    if (!detail::numeric_address(options_.host, options_.port)) {
      ctx.doing("resolving " + options_.host);
    }
    auto looked_up =
        co_await detail::resolve_on_loop(resolver_, options_.host, options_.port, deadline);
    if (!looked_up)
      co_return detail::to_result(
          detail::timed_out(started, deadline, "resolving " + options_.host));
    if (!*looked_up) co_return detail::to_result(*looked_up->error);
    const auto endpoints = detail::to_endpoints(looked_up->addresses);

    beast::tcp_stream stream{detail::io_loop()};
    progress pr;
    co_await exchange(ctx, stream, endpoints, deadline, pr);
    stream.close();
    const auto elapsed = std::chrono::steady_clock::now() - started;
    const std::string peer = pr.peer.port() != 0 ? detail::endpoint_text(pr.peer) : target;
    if (pr.ec == beast::error::timeout || pr.ec == asio::error::operation_aborted) {
      std::string msg =
          detail::timed_out_text(started, deadline, std::string(pr.phase) + " " + peer);
      if (!pr.received.empty()) msg += " (got \"" + printable(hide_sent(pr.received)) + "\")";
      co_return vitals::fail(msg, failure_kind::timeout);
    }
    if (pr.ec && !(pr.ec == asio::error::eof && !options_.expect.empty())) {
      co_return detail::to_result(detail::socket_failure(pr.ec, pr.phase, peer));
    }
    if (!options_.expect.empty() && !pr.found) {
      const std::string how = pr.ec == asio::error::eof
                                  ? "before the connection closed"
                                  : "in the first " + std::to_string(pr.received.size()) + " bytes";
      co_return vitals::fail("expected \"" + printable(options_.expect) + "\" not found " + how +
                                 " from " + peer + " (got \"" + printable(hide_sent(pr.received)) +
                                 "\")",
                             failure_kind::protocol);
    }
    const double ms =
        std::round(std::chrono::duration<double, std::milli>(elapsed).count() * 100.0) / 100.0;
    co_return vitals::pass().observe(ms, "ms").detail("peer", peer);
  }

  // The payload may carry a credential (`send: "AUTH <password>\r\n"`) and a peer may quote
  // what it was sent (an error echoing the command, an echo service): the payload, its lines and
  // its words are never shown in what we quote back from the peer. Longest first, so a line is
  // hidden whole before its words are looked for. Protocol words (GET, PING, AUTH, HTTP/1.1)
  // stay visible: replies legitimately repeat them, and a password is never one of them.
  static bool protocol_word(std::string_view w) {
    std::size_t i = 0;
    while (i < w.size() && w[i] >= 'A' && w[i] <= 'Z') ++i;
    if (i == 0) return false;
    if (i == w.size()) return true;
    if (w[i] != '/' || i + 1 == w.size()) return false;
    return std::all_of(w.begin() + static_cast<std::ptrdiff_t>(i) + 1, w.end(),
                       [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  }

  static std::vector<std::string> pieces_of(const std::string& send) {
    std::vector<std::string> pieces;
    const auto add = [&](std::string_view p) {
      if (p.size() >= 3 && !protocol_word(p) &&
          std::find(pieces.begin(), pieces.end(), p) == pieces.end()) {
        pieces.emplace_back(p);
      }
    };
    add(send);
    for (const std::string_view seps : {std::string_view{"\r\n"}, std::string_view{" \t\r\n"}}) {
      std::size_t from = 0;
      while (from <= send.size()) {
        const auto end = std::min(send.find_first_of(seps, from), send.size());
        add(std::string_view{send}.substr(from, end - from));
        from = end + 1;
      }
    }
    std::sort(pieces.begin(), pieces.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    return pieces;
  }

  [[nodiscard]] std::string hide_sent(std::string text) const {
    for (const auto& piece : sent_pieces_) {
      for (auto p = text.find(piece); p != std::string::npos; p = text.find(piece, p + 3)) {
        text.replace(p, piece.size(), "***");
      }
    }
    // A read that stopped in the middle of a piece: hide the beginning of it that it ends with.
    for (const auto& piece : sent_pieces_) {
      for (std::size_t n = std::min(piece.size() - 1, text.size()); n >= 3; --n) {
        if (std::string_view{text}.ends_with(std::string_view{piece}.substr(0, n))) {
          text.replace(text.size() - n, n, "***");
          return text;
        }
      }
    }
    return text;
  }

  asio::awaitable<void> exchange(const context& ctx, beast::tcp_stream& stream,
                                 const std::vector<asio::ip::tcp::endpoint>& endpoints,
                                 steady_time deadline, progress& pr) {
    const auto use = [&pr] { return asio::redirect_error(asio::use_awaitable, pr.ec); };
    const auto phase = [&](const char* what) {
      pr.phase = what;
      ctx.doing(std::string(what) + " " + detail::endpoint_text(pr.peer));
    };
    stream.expires_at(deadline);
    ctx.doing("connecting to " + detail::host_port(options_.host, options_.port));
    pr.ec = co_await detail::connect_any(stream, endpoints, pr.peer);
    if (pr.ec) co_return;
    if (!options_.send.empty()) {
      phase("sending to");
      co_await asio::async_write(stream, asio::buffer(options_.send), use());
      if (pr.ec) co_return;
    }
    if (!options_.expect.empty()) {
      phase("waiting for the expected reply from");
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
  std::vector<std::string> sent_pieces_{};
  detail::bounded_resolver resolver_{};
};

}  // namespace

std::shared_ptr<vitals::check> tcp(tcp_options options) {
  return std::make_shared<tcp_check>(std::move(options));
}

}  // namespace vitals::checks
