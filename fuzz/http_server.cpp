// The built-in server's real connection code (src/http/server_connection.cpp) over a
// socketpair: whole byte streams — pipelined requests, delivered at once or in pieces — sent to a
// connection adopted by a real worker (its read buffer, Beast parser, batching, refusals,
// linger), answered by handler::impl::serve() over a service with a passing, a warning, a
// failing, a live-only and a never-run check. The worker's io_context is polled on this thread,
// so there is no thread and no timer: the client closing its side is what ends the connection.
//
// The first byte picks the piece size and the handler (default options, or a prefix, details for
// everyone and other status codes). Properties of the bytes the server sent: a sequence of
// complete HTTP/1.1 responses, each with a valid status code, a head ending in a blank line,
// and a Content-Length that frames it (the body's length, or none for HEAD); nothing after a
// response that says `Connection: close`; and the connection released once the client has
// closed (no connection left waiting forever).
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_util.hpp"
#include "handler_impl.hpp"
#include "server_connection.hpp"
#include "vitals/http/handler.hpp"
#include "vitals/http/server.hpp"
#include "vitals/service.hpp"
#include "vitals/testing/manual_clock.hpp"

namespace {

using namespace std::chrono_literals;
using vitals_fuzz::require;
namespace detail = vitals::http::detail;

struct fixture {
  std::shared_ptr<vitals::service> svc;
  std::unique_ptr<vitals::http::handler> plain;
  std::unique_ptr<vitals::http::handler> prefixed;
  // One worker per handler, as the server builds them (small limits: inputs reach them).
  std::unique_ptr<detail::server_shared> shared[2];
  std::unique_ptr<detail::worker> workers[2];

  fixture() {
    auto clk = std::make_shared<vitals::testing::manual_clock>();
    vitals::registry reg;
    const vitals::check_options base{.interval = 10s, .timeout = 1s, .jitter = 0};
    reg.add(
        "db", [](const vitals::context&) { return vitals::pass().detail("pool", "4/10"); }, base);
    reg.add("cache",
            [](const vitals::context&) {
              return vitals::warn("slow: 250ms").observe(std::int64_t{250}, "ms");
            },
            {.probes = vitals::ready | vitals::startup,
             .critical = false,
             .interval = 10s,
             .timeout = 1s,
             .jitter = 0});
    reg.add(
        "queue",
        [](const vitals::context&) {
          return vitals::fail("connection refused (q:5672)", vitals::failure_kind::refused);
        },
        base);
    reg.add("loop", [](const vitals::context&) { return vitals::pass(); },
            {.probes = vitals::live, .interval = 10s, .timeout = 1s, .jitter = 0});
    reg.add("later", [](const vitals::context&) { return vitals::pass(); },
            {.interval = 10s, .timeout = 1s, .initial_delay = 1h, .jitter = 0});
    svc = std::make_shared<vitals::service>(
        std::move(reg), vitals::service_options{.info = {.service_id = "fuzz", .version = "1"},
                                                .max_threads = 2,
                                                .clock = clk,
                                                .on_event = [](const vitals::event&) {}});
    (void)svc->poll();
    for (int i = 0; i < 200 && svc->current()->find("queue")->runs == 0; ++i) {
      (void)svc->wait_for_update(svc->current()->generation, 10ms);
    }
    plain =
        std::make_unique<vitals::http::handler>(svc, vitals::http::handler_options{.token = "t0k"});
    prefixed = std::make_unique<vitals::http::handler>(
        svc, vitals::http::handler_options{.token = "t0k",
                                           .details = vitals::http::detail_policy::everyone,
                                           .codes = {.warn = 299, .fail = 500, .unknown = 501},
                                           .prefix = "/ops",
                                           .status_page = {.enabled = true, .page_size = 10}});
    const vitals::http::handler* handlers[2] = {plain.get(), prefixed.get()};
    for (int i = 0; i < 2; ++i) {
      shared[i] = std::make_unique<detail::server_shared>();
      shared[i]->options = {.max_header_bytes = 2048, .max_request_line = 512, .max_pipelined = 4};
      shared[i]->serve = &detail::handler_access::of(*handlers[i]);
      shared[i]->linger_timeout = 100ms;
      shared[i]->sweep_period = 10ms;
      workers[i] = std::make_unique<detail::worker>(*shared[i]);
    }
  }
};

fixture& the_fixture() {
  static fixture f;
  return f;
}

std::size_t content_length(std::string_view head) {
  const auto at = head.find("\r\nContent-Length: ");
  require(at != std::string_view::npos, "response without Content-Length", head);
  std::size_t n = 0;
  std::size_t k = at + 18;
  require(k < head.size() && head[k] >= '0' && head[k] <= '9', "bad Content-Length", head);
  for (; k < head.size() && head[k] >= '0' && head[k] <= '9'; ++k) n = n * 10 + (head[k] - '0');
  return n;
}

bool response_starts(std::string_view out, std::size_t at) {
  return at == out.size() || out.substr(at).starts_with("HTTP/1.1 ");
}

/// Everything the server sent on one connection: complete, well-framed responses.
void check_output(std::string_view out) {
  std::size_t pos = 0;
  while (pos < out.size()) {
    require(out.substr(pos).starts_with("HTTP/1.1 "), "not a status line", out.substr(pos, 80));
    const auto end = out.find("\r\n\r\n", pos);
    require(end != std::string_view::npos, "response head not complete", out.substr(pos, 200));
    const std::string_view head = out.substr(pos, end + 2 - pos);
    require(head.size() > 13 && head[12] == ' ', "bad status line", head);
    const int code = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
    require(code >= 100 && code <= 599, "status out of range", head);
    const std::size_t length = content_length(head);
    const std::size_t body = end + 4;
    if (body + length <= out.size() && response_starts(out, body + length)) {
      pos = body + length;
    } else {
      require(response_starts(out, body), "Content-Length does not frame the response", head);
      pos = body;  // a HEAD answer: the GET's length, no body
    }
    if (head.find("\r\nConnection: close\r\n") != std::string_view::npos) {
      require(pos == out.size(), "bytes after Connection: close", out.substr(pos, 80));
    }
  }
}

void drain(int fd, std::string& out) {
  char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

/// One real connection of `w`, sent `bytes` in `piece`s, then the client's FIN.
void connection(detail::worker& w, detail::server_shared& shared, std::string_view bytes,
                std::size_t piece) {
  int sv[2];
  require(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0,
          "socketpair");
  boost::system::error_code ec;
  detail::tcp::socket server_end{w.io()};
  server_end.assign(detail::tcp::v4(), sv[0], ec);
  require(!ec, "assign");
  shared.open.fetch_add(1, std::memory_order_relaxed);  // the place adopt() expects to hold
  w.adopt(std::move(server_end), {});
  const auto turn = [&] {
    w.io().restart();
    (void)w.io().poll();
  };
  std::string out;
  std::size_t fed = 0;
  int stalled = 0;
  while (fed < bytes.size() && stalled < 64) {
    const ssize_t n =
        ::send(sv[1], bytes.data() + fed, std::min(piece, bytes.size() - fed), MSG_NOSIGNAL);
    if (n > 0) {
      fed += static_cast<std::size_t>(n);
      stalled = 0;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      ++stalled;  // the server is not reading (closing, or waiting for us to drain)
    } else {
      break;  // the server closed: the rest is never read
    }
    turn();
    drain(sv[1], out);
  }
  ::shutdown(sv[1], SHUT_WR);
  for (int i = 0; i < 1000 && shared.open.load(std::memory_order_relaxed) != 0; ++i) {
    turn();
    drain(sv[1], out);
  }
  require(shared.open.load(std::memory_order_relaxed) == 0,
          "connection not released after the client closed");
  drain(sv[1], out);
  ::close(sv[1]);
  check_output(out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fixture& f = the_fixture();
  vitals_fuzz::reader in{data, size};
  const unsigned choice = in.byte();
  const int which = (choice & 1) != 0 ? 1 : 0;
  // Mostly whole sends (a client's pipelined burst), sometimes a trickle.
  const std::size_t piece = (choice & 0x80) != 0 ? ((choice >> 1) & 0x3f) + 1 : 64 * 1024;
  connection(*f.workers[which], *f.shared[which], in.rest(), piece);
  return 0;
}
