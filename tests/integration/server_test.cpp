// The built-in server against real sockets on loopback: HTTP semantics and hard limits.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "server_fixture.hpp"

namespace vitals::test {
namespace {

using clk = std::chrono::steady_clock;

TEST_F(server_test, keep_alive_serves_many_requests_on_one_connection) {
  ASSERT_NO_FATAL_FAILURE(start());
  client c = connect();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.send(get("/readyz")));
    auto r = c.read_reply();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body.substr(0, 2), "ok");
    EXPECT_FALSE(r->has_header("Connection: close"));
    ASSERT_TRUE(r->header("Date"));
    EXPECT_TRUE(std::regex_match(
        *r->header("Date"),
        std::regex{
            R"((Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT)"}))
        << *r->header("Date");
  }
  EXPECT_EQ(srv_->connections(), 1u);
}

TEST_F(server_test, pipelined_requests_are_answered_in_order) {
  // 20 requests in one write crosses the default batch of 16 responses per read.
  ASSERT_NO_FATAL_FAILURE(start());
  client c = connect();
  std::string batch;
  for (int i = 0; i < 20; ++i) batch += get(i % 2 == 0 ? "/readyz" : "/no-such-path");
  ASSERT_TRUE(c.send(batch));
  for (int i = 0; i < 20; ++i) {
    auto r = c.read_reply();
    ASSERT_TRUE(r) << "response " << i;
    EXPECT_EQ(r->status, i % 2 == 0 ? 200 : 404) << "response " << i;
  }
  // Nothing more than the 20 answers.
  EXPECT_EQ(c.fill(100ms), read_end::timeout);
}

TEST_F(server_test, pipelining_with_small_batches_and_a_split_request) {
  ASSERT_NO_FATAL_FAILURE(start({.max_pipelined = 3}));
  client c = connect();
  std::string batch;
  for (int i = 0; i < 10; ++i) batch += get("/livez");
  const std::string last = get("/readyz");
  batch += last.substr(0, 9);  // the 11th request arrives in two pieces
  ASSERT_TRUE(c.send(batch));
  for (int i = 0; i < 10; ++i) {
    auto r = c.read_reply();
    ASSERT_TRUE(r) << "response " << i;
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(c.fill(100ms), read_end::timeout);
  ASSERT_TRUE(c.send(last.substr(9)));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(server_test, head_has_length_but_no_body) {
  ASSERT_NO_FATAL_FAILURE(start());
  client c = connect();
  ASSERT_TRUE(c.send(get("/readyz", {}, "HEAD")));
  auto h = c.read_reply(/*head_request=*/true);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  ASSERT_TRUE(h->header("Content-Length"));
  EXPECT_GT(std::stoul(*h->header("Content-Length")), 0u);
  // If a body had been sent it would now be parsed as the next response and fail.
  ASSERT_TRUE(c.send(get("/readyz")));
  auto g = c.read_reply();
  ASSERT_TRUE(g);
  EXPECT_EQ(g->status, 200);
  EXPECT_EQ(g->header("Content-Length"), h->header("Content-Length"));
}

TEST_F(server_test, other_methods_get_405_and_unknown_paths_404) {
  ASSERT_NO_FATAL_FAILURE(start());
  client c = connect();
  ASSERT_TRUE(c.send(get("/readyz", {}, "POST")));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  ASSERT_TRUE(c.send(get("/readyz", {}, "DELETE")));
  r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  ASSERT_TRUE(c.send(get("/definitely/not/here")));
  r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(server_test, header_over_8k_gets_431_and_close) {
  ASSERT_NO_FATAL_FAILURE(start());
  client c = connect();
  ASSERT_TRUE(c.send(get("/readyz", "X-Fill: " + std::string(9 * 1024, 'a') + "\r\n")));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(r->has_header("Connection: close"));
  EXPECT_TRUE(c.wait_closed(2s));
}

TEST_F(server_test, many_small_headers_sent_piecewise_still_hit_431) {
  // Beast's own limit counts from the last consumed field; the server counts the whole head.
  ASSERT_NO_FATAL_FAILURE(start());
  client c = connect();
  ASSERT_TRUE(c.send("GET /readyz HTTP/1.1\r\nHost: x\r\n"));
  std::optional<http_reply> r;
  for (int i = 0; i < 12 && !r; ++i) {
    if (!c.send("X-Fill-" + std::to_string(i) + ": " + std::string(1000, 'b') + "\r\n")) break;
    if (c.fill(20ms) == read_end::data) r = c.read_reply();
  }
  if (!r) r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(c.wait_closed(2s));
}

TEST_F(server_test, long_request_line_gets_414) {
  ASSERT_NO_FATAL_FAILURE(start());
  client c = connect();
  ASSERT_TRUE(c.send(get("/readyz?" + std::string(5000, 'x'))));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 414);
  EXPECT_TRUE(c.wait_closed(2s));

  // Also while the line is still incomplete (no CRLF yet).
  client d = connect();
  ASSERT_TRUE(d.send("GET /" + std::string(6000, 'y')));
  r = d.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 414);
}

TEST_F(server_test, slowloris_is_cut_at_the_header_timeout) {
  ASSERT_NO_FATAL_FAILURE(start({.header_timeout = 300ms, .idle_timeout = 5s}));
  client c = connect();
  const std::string slow = "GET /readyz HTTP/1.1\r\nX-Slow: " + std::string(200, 's');
  const auto t0 = clk::now();
  bool closed = false;
  for (char ch : slow) {
    if (!c.send(std::string_view{&ch, 1})) {
      closed = true;
      break;
    }
    const auto e = c.fill(100ms);
    if (e == read_end::eof || e == read_end::reset) {
      closed = true;
      break;
    }
    if (clk::now() - t0 > 3s) break;
  }
  const auto elapsed = clk::now() - t0;
  ASSERT_TRUE(closed) << "server kept a trickling header open";
  EXPECT_GE(elapsed, 280ms);
  EXPECT_LE(elapsed, 1s) << "the trickle extended the header deadline";
  EXPECT_TRUE(eventually([&] { return srv_->connections() == 0; }));
}

TEST_F(server_test, idle_keep_alive_connections_are_closed) {
  ASSERT_NO_FATAL_FAILURE(start({.header_timeout = 5s, .idle_timeout = 300ms}));
  client c = connect();
  ASSERT_TRUE(c.send(get("/livez")));
  ASSERT_TRUE(c.read_reply());
  auto t0 = clk::now();
  ASSERT_TRUE(c.wait_closed(3s));
  EXPECT_GE(clk::now() - t0, 280ms);
  EXPECT_LE(clk::now() - t0, 1s);

  // A connection that never sends anything is idle too.
  client silent = connect();
  t0 = clk::now();
  ASSERT_TRUE(silent.wait_closed(3s));
  EXPECT_LE(clk::now() - t0, 1s);
  EXPECT_TRUE(eventually([&] { return srv_->connections() == 0; }));
}

TEST_F(server_test, silent_new_connections_get_the_header_timeout_not_the_idle_one) {
  ASSERT_NO_FATAL_FAILURE(start({.header_timeout = 300ms, .idle_timeout = 30s}));
  client silent = connect();
  const auto t0 = clk::now();
  ASSERT_TRUE(silent.wait_closed(3s));
  EXPECT_GE(clk::now() - t0, 280ms);
  EXPECT_LE(clk::now() - t0, 1s);

  // Once a request has been served, the connection may idle for the idle timeout.
  client used = connect();
  ASSERT_TRUE(used.send(get("/livez")));
  ASSERT_TRUE(used.read_reply());
  EXPECT_FALSE(used.wait_closed(700ms));
}

TEST_F(server_test, connection_cap_refuses_the_excess_when_all_are_busy_and_recovers) {
  // Held connections in the middle of a request may not be closed to make room: the next one
  // is refused. (Idle and silent ones make room: server_admission_test.cpp.)
  ASSERT_NO_FATAL_FAILURE(start({.max_connections = 4}));
  std::vector<client> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(connect());
    ASSERT_TRUE(held.back().send("GET /livez HTTP/1.1\r\n"));
  }
  ASSERT_TRUE(eventually([&] { return srv_->connections() == 4; }));
  std::this_thread::sleep_for(50ms);  // their bytes are read

  client extra = connect();
  extra.send(get("/livez"));
  auto r = extra.read_reply();
  if (r) {
    EXPECT_EQ(r->status, 503);
  }
  EXPECT_TRUE(extra.wait_closed(2s));
  EXPECT_EQ(srv_->connections(), 4u);
  EXPECT_EQ(srv_->stats().refused_busy, 1u);
  EXPECT_EQ(srv_->stats().evicted_idle + srv_->stats().evicted_silent, 0u);

  held.erase(held.begin());
  ASSERT_TRUE(eventually([&] { return srv_->connections() == 3; }));
  client again = connect();
  ASSERT_TRUE(again.send(get("/livez")));
  r = again.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // A held one finishes its request and is answered.
  ASSERT_TRUE(held.front().send("Host: x\r\n\r\n"));
  r = held.front().read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(server_test, request_bodies_are_refused) {
  ASSERT_NO_FATAL_FAILURE(start());
  {
    client c = connect();
    ASSERT_TRUE(c.send(get("/readyz", "Content-Length: 5\r\n", "POST") + "hello"));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_TRUE(c.wait_closed(2s));
  }
  {
    client c = connect();
    ASSERT_TRUE(
        c.send(get("/readyz", "Transfer-Encoding: chunked\r\n") + "5\r\nhello\r\n0\r\n\r\n"));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 501);
    EXPECT_TRUE(c.wait_closed(2s));
  }
  {
    client c = connect();
    ASSERT_TRUE(c.send(get("/readyz", "Content-Length: 99999999999\r\n")));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  {
    // An explicit empty body is no body.
    client c = connect();
    ASSERT_TRUE(c.send(get("/readyz", "Content-Length: 0\r\n")));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

TEST_F(server_test, malformed_requests_get_400_and_close) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (const std::string& bad :
       {std::string{"\x01\x02\x03 garbage\r\n\r\n"}, std::string{"GET /readyz HTTP/9.9\r\n\r\n"},
        std::string{"GET /readyz HTTP/1.1\r\nNo-Colon\r\n\r\n"},
        std::string{"GET /readyz HTTP/1.1\r\nContent-Length: x\r\n\r\n"},
        std::string{"GET  HTTP/1.1\r\n\r\n"}}) {
    client c = connect();
    ASSERT_TRUE(c.send(bad));
    auto r = c.read_reply();
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_TRUE(r->has_header("Connection: close"));
    EXPECT_TRUE(c.wait_closed(2s)) << bad;
  }
}

TEST_F(server_test, http_1_0_closes_unless_keep_alive_and_1_1_honours_close) {
  ASSERT_NO_FATAL_FAILURE(start());
  {
    client c = connect();
    ASSERT_TRUE(c.send("GET /readyz HTTP/1.0\r\n\r\n"));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(r->has_header("Connection: close"));
    EXPECT_TRUE(c.wait_closed(2s));
  }
  {
    client c = connect();
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(c.send("GET /readyz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
      auto r = c.read_reply();
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 200);
      EXPECT_TRUE(r->has_header("Connection: keep-alive"));
    }
  }
  {
    client c = connect();
    ASSERT_TRUE(c.send(get("/readyz", "Connection: close\r\n") + get("/readyz")));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->has_header("Connection: close"));
    EXPECT_TRUE(c.wait_closed(2s));
    EXPECT_TRUE(c.buffered().empty()) << "answered a request after Connection: close";
  }
}

TEST_F(server_test, absolute_form_targets_are_served_by_their_path) {
  ASSERT_NO_FATAL_FAILURE(start());
  client c = connect();
  for (const char* t :
       {"http://127.0.0.1:8081/readyz", "https://example.com/livez?verbose", "HTTP://h/startupz"}) {
    ASSERT_TRUE(c.send(get(t)));
    auto r = c.read_reply();
    ASSERT_TRUE(r) << t;
    EXPECT_EQ(r->status, 200) << t;
    EXPECT_FALSE(r->has_header("Connection: close")) << t;
  }
  ASSERT_TRUE(c.send(get("http://h/nope")));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(server_test, http_1_1_without_host_or_with_two_is_400_and_1_0_needs_none) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (const std::string& bad :
       {std::string{"GET /readyz HTTP/1.1\r\n\r\n"},
        std::string{"GET /readyz HTTP/1.1\r\nUser-Agent: kube-probe/1.29\r\n\r\n"},
        std::string{"GET /readyz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
        std::string{"GET /readyz HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"}}) {
    client c = connect();
    ASSERT_TRUE(c.send(bad));
    auto r = c.read_reply();
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_TRUE(r->has_header("Connection: close")) << bad;
    EXPECT_TRUE(c.wait_closed(2s)) << bad;
  }
  client c = connect();
  ASSERT_TRUE(c.send("GET /readyz HTTP/1.1\r\nhOsT: x\r\n\r\n"));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  client old = connect();
  ASSERT_TRUE(old.send("GET /readyz HTTP/1.0\r\n\r\n"));
  r = old.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(server_liveness, livez_passes_from_the_first_request_readyz_and_startupz_wait) {
  // A server probed the instant it listens, many times over: /livez is never 503, while
  // /readyz and /startupz fail until their checks' first results (held back here).
  for (int round = 0; round < 20; ++round) {
    auto release = std::make_shared<std::atomic<bool>>(false);
    registry reg;
    reg.add("loop",
            [release](const context&) {
              for (int i = 0; i < 2000 && !release->load(); ++i) std::this_thread::sleep_for(1ms);
              return pass();
            },
            {.probes = live | ready | startup, .interval = 10s, .timeout = 5s});
    service svc{std::move(reg), service_options{.on_event = [](const event&) {}}};
    svc.start();
    http::server srv{svc, {.port = 0}};
    srv.start();
    client c{srv.port()};
    for (const char* t : {"/livez", "/readyz", "/livez?verbose", "/startupz", "/livez"}) {
      ASSERT_TRUE(c.send(get(t)));
      auto r = c.read_reply();
      ASSERT_TRUE(r) << t;
      EXPECT_EQ(r->status, std::string_view{t}.starts_with("/livez") ? 200 : 503)
          << "round " << round << " " << t << "\n"
          << r->body;
    }
    release->store(true);
    ASSERT_TRUE(
        eventually([&] { return svc.current()->probe_status(probe::ready) == status::pass; }));
    for (const char* t : {"/livez", "/readyz", "/startupz"}) {
      ASSERT_TRUE(c.send(get(t)));
      auto r = c.read_reply();
      ASSERT_TRUE(r) << t;
      EXPECT_EQ(r->status, 200) << t;
    }
    srv.stop();
    svc.stop();
  }
}

TEST_F(server_test, serves_on_ipv6_loopback) {
  vitals::registry reg;
  reg.add("always", [](const context&) { return pass(); }, {.probes = ready});
  service svc{std::move(reg), {.on_event = [](const event&) {}}};
  svc.start();
  http::server srv{svc, {.address = "::1", .port = 0}};
  try {
    srv.start();
  } catch (const std::system_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  ASSERT_TRUE(
      eventually([&] { return svc.current()->probe_status(probe::ready) == status::pass; }));
  client c{srv.port(), /*ipv6=*/true};
  ASSERT_TRUE(c.send(get("/readyz")));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  srv.stop();
  svc.stop();
}

TEST_F(server_test, bind_failure_throws_and_stop_is_idempotent) {
  ASSERT_NO_FATAL_FAILURE(start());
  http::server clash{*svc_, {.port = srv_->port()}};
  EXPECT_THROW(clash.start(), std::system_error);
  http::server bad{*svc_, {.address = "not-an-address", .port = 0}};
  EXPECT_THROW(bad.start(), std::system_error);
  srv_->stop();
  srv_->stop();
  EXPECT_THROW(client{srv_->port()}, std::runtime_error);
}

TEST_F(server_test, several_io_threads_share_the_connections) {
  ASSERT_NO_FATAL_FAILURE(start({.io_threads = 3}));
  std::vector<client> cs;
  for (int i = 0; i < 9; ++i) cs.push_back(connect());
  for (int round = 0; round < 20; ++round) {
    for (auto& c : cs) ASSERT_TRUE(c.send(get("/readyz")));
    for (auto& c : cs) {
      auto r = c.read_reply();
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 200);
    }
  }
  EXPECT_EQ(srv_->connections(), 9u);
  cs.clear();
  EXPECT_TRUE(eventually([&] { return srv_->connections() == 0; }));
}

TEST_F(server_test, memory_stays_flat_under_bad_requests) {
#if defined(__SANITIZE_ADDRESS__)
  // ASan keeps freed memory in its quarantine: RSS measures nothing there (LeakSanitizer and
  // the plain build cover this).
  GTEST_SKIP() << "RSS is not meaningful under AddressSanitizer";
#endif
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string huge_header = get("/readyz", "X-Fill: " + std::string(9 * 1024, 'a') + "\r\n");
  const std::string long_line = get("/" + std::string(5000, 'l'));
  const std::string body = get("/readyz", "Content-Length: 10\r\n", "POST") + "0123456789";
  const std::string garbage = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n";
  const std::string* kinds[] = {&huge_header, &long_line, &body, &garbage};
  auto hammer = [&](int n) {
    for (int i = 0; i < n; ++i) {
      client c = connect();
      c.send(*kinds[i % 4]);
      auto r = c.read_reply();
      ASSERT_TRUE(r) << i;
      ASSERT_GE(r->status, 400);
    }
  };
  hammer(200);  // warm-up: pools, allocator arenas
  ASSERT_TRUE(eventually([&] { return srv_->connections() == 0; }));
  const long before = proc_status_kb("VmRSS");
  hammer(2000);
  ASSERT_TRUE(eventually([&] { return srv_->connections() == 0; }));
  const long after = proc_status_kb("VmRSS");
  ASSERT_GT(before, 0);
  EXPECT_LT(after - before, 1024) << "VmRSS grew from " << before << " kB to " << after << " kB";
}

}  // namespace
}  // namespace vitals::test
