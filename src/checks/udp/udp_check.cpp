#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/asio_net.hpp"
#include "common/io_loop.hpp"
#include "common/net.hpp"
#include "common/resolver.hpp"
#include "common/url.hpp"
#include "vitals/checks/descriptors.hpp"
#include "vitals/checks/udp.hpp"

namespace vitals::checks {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using detail::steady_time;

// The first bytes of a reply datagram looked at (the rest of a longer one is discarded).
constexpr std::size_t reply_bytes = 8192;

// What one receive ended with: a datagram (`n` bytes), an error, or the timer (`timer_fired`).
struct received {
  error_code ec{};
  std::size_t n = 0;
  bool timer_fired = false;
};

// Receives one datagram on `socket` until `until`: the timer cancels the receive.
asio::awaitable<received> receive_until(asio::ip::udp::socket& socket, std::string& buf,
                                        steady_time until) {
  received out;
  asio::steady_timer timer{socket.get_executor(), until};
  timer.async_wait([&socket, &out](const error_code& ec) {
    if (ec) return;  // cancelled: the datagram (or an error) came first
    out.timer_fired = true;
    socket.cancel();
  });
  out.n = co_await socket.async_receive(asio::buffer(buf),
                                        asio::redirect_error(asio::use_awaitable, out.ec));
  timer.cancel();
  co_return out;
}

double elapsed_ms(steady_time started) {
  const auto d = std::chrono::steady_clock::now() - started;
  return std::round(std::chrono::duration<double, std::milli>(d).count() * 100.0) / 100.0;
}

class udp_check final : public detail::loop_check<udp_check> {
  friend loop_check;

 public:
  // The socket of the run; the event loop is shared.
  [[nodiscard]] std::size_t descriptors() const noexcept override { return 1; }

  explicit udp_check(udp_options o) : options_(std::move(o)) {
    detail::check_target("udp", options_.host, options_.port);
    if (options_.icmp_wait.count() < 0) {
      throw std::invalid_argument("udp check: icmp_wait is negative");
    }
  }

  [[nodiscard]] check_traits traits() const override {
    return {.type = "udp",
            .component_type = "component",
            .measurement = "responseTime",
            .dependency = true};
  }

 private:
  asio::awaitable<result> evaluate(const context& ctx, steady_time started) {
    const auto deadline = ctx.deadline();
    if (!detail::numeric_address(options_.host, options_.port)) {
      ctx.doing("resolving " + options_.host);
    }
    auto looked_up =
        co_await detail::resolve_on_loop(resolver_, options_.host, options_.port, deadline);
    if (!looked_up)
      co_return detail::to_result(
          detail::timed_out(started, deadline, "resolving " + options_.host));
    if (!*looked_up) co_return detail::to_result(*looked_up->error);
    // A datagram goes to one address: the first the resolver gives (no handshake tells a
    // working one from a dead one before anything is sent).
    const auto first = detail::to_endpoints(looked_up->addresses).front();
    co_return co_await exchange(ctx, started, {first.address(), first.port()},
                                detail::endpoint_text(first));
  }

  // Sends the datagram on a connected socket (so the kernel reports the peer's ICMP
  // port-unreachable as ECONNREFUSED on the next receive) and waits for the reply, or for
  // `icmp_wait` when none is expected.
  asio::awaitable<result> exchange(const context& ctx, steady_time started,
                                   asio::ip::udp::endpoint peer_ep, std::string peer) {
    const auto deadline = ctx.deadline();
    asio::ip::udp::socket socket{detail::io_loop()};
    error_code ec;
    socket.open(peer_ep.protocol(), ec);
    if (!ec) socket.connect(peer_ep, ec);  // sets the peer: no packet is sent
    if (ec) co_return detail::to_result(detail::socket_failure(ec, "connecting to", peer));
    ctx.doing("sending to " + peer);
    co_await socket.async_send(asio::buffer(options_.send),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return detail::to_result(detail::socket_failure(ec, "sending to", peer));

    const bool want_reply = !options_.expect.empty();
    const auto now = std::chrono::steady_clock::now();
    const auto half_left = std::max<std::chrono::nanoseconds>((deadline - now) / 2, {});
    const auto until =
        want_reply ? deadline
                   : now + std::min<std::chrono::nanoseconds>(options_.icmp_wait, half_left);
    ctx.doing((want_reply ? "waiting for the reply from " : "listening for a refusal from ") +
              peer);
    std::string buf(reply_bytes, '\0');
    const auto got = co_await receive_until(socket, buf, until);
    if (got.timer_fired && got.ec == asio::error::operation_aborted) {
      if (want_reply) {
        co_return vitals::fail(
            detail::timed_out_text(started, deadline, "waiting for the reply from " + peer),
            failure_kind::timeout);
      }
      co_return vitals::pass()
          .observe(elapsed_ms(started), "ms")
          .detail("peer", peer)
          .detail("reply",
                  "none expected; not refused within " + detail::format_duration(until - now));
    }
    if (got.ec) co_return detail::to_result(detail::socket_failure(got.ec, "receiving from", peer));
    if (want_reply &&
        std::string_view{buf}.substr(0, got.n).find(options_.expect) == std::string_view::npos) {
      co_return vitals::fail("the " + std::to_string(got.n) + "-byte reply from " + peer +
                                 " does not contain the expected text",
                             failure_kind::protocol);
    }
    co_return vitals::pass().observe(elapsed_ms(started), "ms").detail("peer", peer);
  }

  udp_options options_;
  detail::bounded_resolver resolver_{};
};

}  // namespace

std::shared_ptr<vitals::check> udp(udp_options options) {
  return std::make_shared<udp_check>(std::move(options));
}

}  // namespace vitals::checks
