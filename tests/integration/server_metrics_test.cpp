// /metrics on the built-in server over real sockets: the server's own figures (connections,
// bad requests by kind) in the scrape, the metrics listener (server_options::metrics_address)
// serving /metrics alone to anyone, and the main port keeping its access rule.

#include <gtest/gtest.h>

#include <string>

#include "server_fixture.hpp"

namespace vitals::test {
namespace {

bool has_line(const std::string& body, const std::string& line) {
  return body.find("\n" + line + "\n") != std::string::npos;
}

std::string scrape(std::uint16_t port, std::string_view extra = {}) {
  client c{port};
  EXPECT_TRUE(c.send(get("/metrics", extra)));
  const auto r = c.read_reply();
  if (!r) {
    ADD_FAILURE() << "no reply from /metrics";
    return {};
  }
  EXPECT_EQ(r->status, 200) << r->body;
  return r->body;
}

TEST_F(server_test, metrics_listener_serves_metrics_alone_to_anyone) {
  ASSERT_NO_FATAL_FAILURE(start({.metrics_address = "127.0.0.1"}));
  ASSERT_NE(srv_->metrics_port(), 0);
  ASSERT_NE(srv_->metrics_port(), srv_->port());
  // Main port: no token configured, details authorized: an anonymous scrape is refused.
  {
    client c = connect();
    ASSERT_TRUE(c.send(get("/metrics")));
    const auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    ASSERT_TRUE(c.send(get("/readyz")));
    EXPECT_EQ(c.read_reply()->status, 200);
  }
  // Metrics port: /metrics to anyone, nothing else (not even a 405 telling what exists).
  const std::string body = scrape(srv_->metrics_port());
  EXPECT_TRUE(
      has_line(body, R"(vitals_check_status{check="always",type="custom",status="pass"} 1)"));
  // The main port's traffic is in the same counters.
  EXPECT_TRUE(has_line(body, R"(vitals_http_requests_total{endpoint="/readyz",code="200"} 1)"));
  EXPECT_TRUE(has_line(body, R"(vitals_http_requests_total{endpoint="/metrics",code="401"} 1)"));
  client m{srv_->metrics_port()};
  for (const char* target : {"/readyz", "/health", "/livez/always"}) {
    ASSERT_TRUE(m.send(get(target)));
    const auto r = m.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404) << target;
  }
  ASSERT_TRUE(m.send(get("/readyz", {}, "POST")));
  EXPECT_EQ(m.read_reply()->status, 404);
  ASSERT_TRUE(m.send(get("/metrics", {}, "HEAD")));
  const auto head = m.read_reply(true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
}

TEST_F(server_test, server_figures_are_in_the_scrape) {
  ASSERT_NO_FATAL_FAILURE(start({.metrics_address = "127.0.0.1"}));
  {
    client c = connect();  // HTTP/1.1 without Host: 400, counted by kind
    ASSERT_TRUE(c.send("GET /readyz HTTP/1.1\r\n\r\n"));
    const auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
  }
  {
    client c = connect();  // not HTTP at all
    ASSERT_TRUE(c.send("HELLO\r\n\r\n"));
    const auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
  }
  client idle = connect();  // one more open connection while scraping
  ASSERT_TRUE(eventually([&] { return srv_->connections() >= 1; }));
  const std::string body = scrape(srv_->metrics_port());
  EXPECT_TRUE(has_line(body, R"(vitals_http_bad_requests_total{kind="host"} 1)")) << body;
  EXPECT_TRUE(has_line(body, R"(vitals_http_bad_requests_total{kind="malformed"} 1)"));
  EXPECT_TRUE(has_line(body, "vitals_http_connections_max 1024"));
  // At least the scraper's own connection and the idle one (the refused ones may still be
  // closing).
  const auto at = body.find("\nvitals_http_connections ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GE(std::stoi(body.substr(at + 25)), 2) << body.substr(at, 40);
  const auto s = srv_->stats();
  EXPECT_EQ(s.bad_request_host, 1U);
  EXPECT_EQ(s.bad_request_malformed, 1U);
}

TEST_F(server_test, metrics_listener_on_a_taken_port_fails_start) {
  ASSERT_NO_FATAL_FAILURE(start());
  service& svc = *svc_;
  http::server second{svc,
                      {.address = "127.0.0.1",
                       .port = 0,
                       .metrics_address = "127.0.0.1",
                       .metrics_port = srv_->port()}};
  EXPECT_THROW(second.start(), std::system_error);
  http::server bad{svc, {.address = "127.0.0.1", .port = 0, .metrics_address = "not-an-ip"}};
  try {
    bad.start();
    ADD_FAILURE() << "a bad metrics address started";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string{e.what()}.find("bad metrics address 'not-an-ip'"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace vitals::test
