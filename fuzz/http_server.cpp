// The built-in server's request path without sockets: whole byte streams (pipelined requests,
// delivered in pieces) through the server's request parser (server_parser.hpp) and its read
// loop (the rules of connection::parse_batch / compact, server_connection.cpp), answered by
// handler::impl::serve() (handler_impl.hpp, reached through detail::handler_access) over a
// service with a passing, a warning, a failing and a never-run check.
//
// The first byte picks the piece size and the handler (default options, or a prefix, details for
// everyone and other status codes). Properties of every answer: an HTTP/1.1 status line with a
// valid code, a head ending in CRLF, a Content-Length equal to the body's size; bytes after a
// refused request are never answered; at most max_pipelined answers per batch.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_util.hpp"
#include "handler_impl.hpp"
#include "server_parser.hpp"
#include "vitals/http/handler.hpp"
#include "vitals/http/server.hpp"
#include "vitals/service.hpp"
#include "vitals/testing/manual_clock.hpp"

namespace {

using namespace std::chrono_literals;
using vitals_fuzz::require;
namespace beast_http = boost::beast::http;

struct fixture {
  std::shared_ptr<vitals::service> svc;
  std::unique_ptr<vitals::http::handler> plain;
  std::unique_ptr<vitals::http::handler> prefixed;
  vitals::http::server_options options{};

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
                                           .prefix = "/ops"});
  }
};

const fixture& the_fixture() {
  static const fixture f;
  return f;
}

void check_answer(const vitals::http::wire_response& w, std::string_view method) {
  require(w.status >= 100 && w.status <= 599, "status out of range");
  require(w.typed != nullptr, "answer without its typed form");
  require(w.head.starts_with("HTTP/1.1 "), "head without a status line", w.head);
  require(w.head.ends_with("\r\n"), "head does not end in CRLF", w.head);
  const auto at = w.head.find("\r\nContent-Length: ");
  require(at != std::string_view::npos, "head without Content-Length", w.head);
  const std::string expected =
      "\r\nContent-Length: " + std::to_string(w.typed->body.size()) + "\r\n";
  require(w.head.substr(at, expected.size()) == expected, "Content-Length is not the body's",
          w.head);
  if (method != "HEAD") require(w.body == w.typed->body, "wire body differs from typed body");
}

/// One connection: the server's read buffer, parser and batching, fed `bytes` in `piece`s.
void connection(const vitals::http::detail::handler_impl& serve,
                const vitals::http::server_options& opt, std::string_view bytes,
                std::size_t piece) {
  using vitals::http::detail::request_parser;
  const std::size_t rcap = std::max<std::size_t>(opt.max_header_bytes, 1024);
  const auto rbuf = std::make_unique<char[]>(rcap);
  std::size_t rbeg = 0;
  std::size_t rpos = 0;
  std::size_t rend = 0;
  std::size_t fed = 0;
  auto parser = std::make_unique<request_parser>(opt.max_request_line, opt.max_header_bytes);
  for (;;) {
    // read(): what fits in the buffer, at most one piece.
    const std::size_t room = rcap - rend;
    const std::size_t n = std::min({piece, room, bytes.size() - fed});
    if (n == 0) return;  // the client is done (or the buffer is full: refused below first)
    std::memcpy(rbuf.get() + rend, bytes.data() + fed, n);
    fed += n;
    rend += n;
    // parse_batch(), then advance()'s compact() before the next read.
    std::size_t answered = 0;
    bool need_more = false;
    while (!need_more) {
      if (answered == opt.max_pipelined) {
        answered = 0;  // batch_full: the batch is written, parsing goes on
        continue;
      }
      if (rpos == rend && rbeg == rend) break;
      boost::beast::error_code ec;
      const std::size_t used =
          parser->put(boost::asio::const_buffer(rbuf.get() + rpos, rend - rpos), ec);
      require(used <= rend - rpos, "parser consumed more than it was given");
      rpos += used;
      if (ec == beast_http::error::need_more) {
        const std::size_t head = rend - rbeg;
        if (!parser->request_line_done() && head > opt.max_request_line) return;  // 414
        if (head >= opt.max_header_bytes || head >= rcap) return;                 // 431
        break;
      }
      if (ec) return;  // 414, 431, 413 or 400: answered and closed
      if (!parser->is_header_done()) {
        if (rpos == rend) break;
        continue;
      }
      if (parser->has_transfer_encoding()) return;                                      // 501
      if (const auto length = parser->content_length(); length && *length > 0) return;  // 413
      require(!parser->method().empty() && !parser->target().empty(), "empty method or target");
      require(parser->method().data() >= rbuf.get() &&
                  parser->target().data() + parser->target().size() <= rbuf.get() + rend,
              "request views outside the read buffer");
      const auto w = serve.serve(parser->method(), parser->target(), parser->authorization());
      check_answer(w, parser->method());
      ++answered;
      if (!parser->keep_alive()) return;  // Connection: close
      // next_request()
      rbeg = rpos;
      parser = std::make_unique<request_parser>(opt.max_request_line, opt.max_header_bytes);
      if (rbeg == rend) rbeg = rpos = rend = 0;
    }
    // compact()
    if (rbeg != 0) {
      const std::size_t keep = rend - rbeg;
      std::memmove(rbuf.get(), rbuf.get() + rbeg, keep);
      parser->shift(static_cast<std::ptrdiff_t>(rbeg));
      rpos -= rbeg;
      rend = keep;
      rbeg = 0;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fixture& f = the_fixture();
  vitals_fuzz::reader in{data, size};
  const unsigned choice = in.byte();
  const auto& h = (choice & 1) != 0 ? *f.prefixed : *f.plain;
  const auto& impl = vitals::http::detail::handler_access::of(h);
  // Mostly whole reads (a client's pipelined burst), sometimes a trickle.
  const std::size_t piece = (choice & 0x80) != 0 ? ((choice >> 1) & 0x3f) + 1 : 64 * 1024;
  connection(impl, f.options, in.rest(), piece);
  return 0;
}
