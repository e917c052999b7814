#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "pki.hpp"
#include "test_server.hpp"
#include "vitals/checks/http.hpp"

namespace vitals::testkit {
namespace {

using namespace std::chrono_literals;
using vitals::failure_kind;
using vitals::status;

// One PKI for the whole binary: key generation is the slow part.
pki& certs() {
  static pki p;
  return p;
}

test_server::handler routes() {
  return [](const request_info& req) -> response_spec {
    if (req.target == "/json") return {.body = R"({"status":"UP","db":{"latency":3}})"};
    if (req.target == "/html") return {.body = "<html><body>build 1.2.3 ready</body></html>"};
    if (req.target == "/down") return {.status = 503, .body = "down"};
    if (req.target == "/slow") return {.body = "slow", .delay = 300ms};
    if (req.target == "/moved") return {.status = 301, .headers = {{"Location", "/json"}}};
    if (req.target == "/loop") return {.status = 302, .headers = {{"Location", "/loop"}}};
    if (req.target == "/away") {
      return {.status = 302, .headers = {{"Location", "http://app:pw-in-loc@other.example/x"}}};
    }
    if (req.target == "/whoami") {
      const auto it = req.headers.find("authorization");
      return {.body = it == req.headers.end() ? "anonymous" : it->second};
    }
    if (req.target == "/client") return {.body = req.client_cert ? "client-ok" : "no-client"};
    if (req.target == "/big") return {.body = std::string(200 * 1024, 'x') + "needle"};
    if (req.target == "/method") return {.body = req.method};
    return {.status = 404, .body = "not found"};
  };
}

TEST(http_check, status_ranges) {
  test_server srv{routes()};
  auto ok = vitals::checks::http({.url = srv.url("/json")});
  auto r = run_once(*ok, 2s);
  EXPECT_EQ(r.status, status::pass) << r.output;
  ASSERT_TRUE(r.observed);
  EXPECT_EQ(r.observed->unit, "ms");

  auto down = vitals::checks::http({.url = srv.url("/down")});
  r = run_once(*down, 2s);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::assertion);
  EXPECT_EQ(r.output, "unexpected status 503 (expected 200-299)");

  auto down_ok = vitals::checks::http({.url = srv.url("/down"), .expected_status = "200,503"});
  EXPECT_EQ(run_once(*down_ok, 2s).status, status::pass);
}

TEST(http_check, body_substring_and_regex) {
  test_server srv{routes()};
  auto sub = vitals::checks::http({.url = srv.url("/html"), .body_contains = "ready"});
  EXPECT_EQ(run_once(*sub, 2s).status, status::pass);
  auto rx = vitals::checks::http({.url = srv.url("/html"), .body_regex = R"(build \d+\.\d+\.\d+)"});
  EXPECT_EQ(run_once(*rx, 2s).status, status::pass);
  auto bad = vitals::checks::http({.url = srv.url("/html"), .body_regex = "build 2\\."});
  auto r = run_once(*bad, 2s);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::assertion);
  EXPECT_EQ(r.output, "body does not match /build 2\\./");
}

TEST(http_check, body_read_is_capped) {
  test_server srv{routes()};
  auto c = vitals::checks::http({.url = srv.url("/big"), .body_contains = "needle"});
  auto r = run_once(*c, 2s);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_NE(r.output.find("in the first 65536 bytes"), std::string::npos) << r.output;
}

TEST(http_check, json_pointer) {
  test_server srv{routes()};
  auto up = vitals::checks::http(
      {.url = srv.url("/json"), .json_pointer = "/status", .json_equals = "UP"});
  EXPECT_EQ(run_once(*up, 2s).status, status::pass);
  auto num = vitals::checks::http(
      {.url = srv.url("/json"), .json_pointer = "/db/latency", .json_equals = "3"});
  EXPECT_EQ(run_once(*num, 2s).status, status::pass);
  auto wrong = vitals::checks::http(
      {.url = srv.url("/json"), .json_pointer = "/status", .json_equals = "DOWN"});
  auto r = run_once(*wrong, 2s);
  EXPECT_EQ(r.kind, failure_kind::assertion);
  EXPECT_EQ(r.output, R"(JSON /status is "UP", expected "DOWN")");
  auto not_json = vitals::checks::http({.url = srv.url("/html"), .json_pointer = "/status"});
  r = run_once(*not_json, 2s);
  EXPECT_EQ(r.kind, failure_kind::protocol);
}

TEST(http_check, latency_budget_warns) {
  test_server srv{routes()};
  auto c = vitals::checks::http({.url = srv.url("/slow"), .latency_budget = 100ms});
  auto r = run_once(*c, 2s);
  EXPECT_EQ(r.status, status::warn);
  EXPECT_NE(r.output.find("slow response"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(budget 100ms)"), std::string::npos) << r.output;
  auto fast = vitals::checks::http({.url = srv.url("/json"), .latency_budget = 1s});
  EXPECT_EQ(run_once(*fast, 2s).status, status::pass);
}

TEST(http_check, slow_server_times_out_at_the_deadline) {
  test_server srv{routes()};
  auto c = vitals::checks::http({.url = srv.url("/slow")});
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run_once(*c, 100ms);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.kind, failure_kind::timeout);
  EXPECT_NE(r.output.find("waiting for the response from 127.0.0.1:"), std::string::npos)
      << r.output;
  EXPECT_GE(took, 100ms);
  EXPECT_LT(took, 250ms);
}

TEST(http_check, redirects) {
  test_server srv{routes()};
  auto follow = vitals::checks::http({.url = srv.url("/moved"), .json_pointer = "/status"});
  auto r = run_once(*follow, 2s);
  EXPECT_EQ(r.status, status::pass) << r.output;

  auto as_is = vitals::checks::http(
      {.url = srv.url("/moved"), .expected_status = "301", .max_redirects = 0});
  EXPECT_EQ(run_once(*as_is, 2s).status, status::pass);

  auto loop = vitals::checks::http({.url = srv.url("/loop"), .max_redirects = 3});
  r = run_once(*loop, 2s);
  EXPECT_EQ(r.kind, failure_kind::assertion);
  EXPECT_NE(r.output.find("too many redirects (more than 3)"), std::string::npos) << r.output;

  auto away = vitals::checks::http({.url = srv.url("/away")});
  r = run_once(*away, 2s);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::assertion);
  EXPECT_NE(r.output.find("redirect to another host refused"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("other.example"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("pw-in-loc"), std::string::npos) << r.output;
}

TEST(http_check, method_and_basic_auth_from_userinfo) {
  test_server srv{routes()};
  auto head = vitals::checks::http(
      {.url = srv.url("/method"), .method = "OPTIONS", .body_contains = "OPTIONS"});
  EXPECT_EQ(run_once(*head, 2s).status, status::pass);
  auto who = vitals::checks::http(
      {.url = "http://Aladdin:open%20sesame@127.0.0.1:" + std::to_string(srv.port()) + "/whoami",
       .body_contains = "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="});
  EXPECT_EQ(run_once(*who, 2s).status, status::pass);
}

TEST(http_check, https_valid_chain_and_hostname) {
  test_server srv{routes(), server_tls{.cert = certs().issue("valid", {})}};
  auto c = vitals::checks::http({.url = srv.url("/json"), .ca_file = certs().ca().cert_file});
  auto r = run_once(*c, 2s);
  EXPECT_EQ(r.status, status::pass) << r.output;
  auto by_name =
      vitals::checks::http({.url = "https://localhost:" + std::to_string(srv.port()) + "/json",
                            .ca_file = certs().ca().cert_file});
  r = run_once(*by_name, 2s);
  EXPECT_EQ(r.status, status::pass) << r.output;
}

TEST(http_check, https_rejections_name_the_reason) {
  const auto expired = certs().issue(
      "expired", {.not_before = -std::chrono::hours{48}, .not_after = -std::chrono::hours{24}});
  const auto self = certs().issue("self", {.self_signed = true});
  const auto wrong =
      certs().issue("wrong", {.common_name = "wrong.example", .alt_names = {"DNS:wrong.example"}});
  struct variant {
    credential cert;
    std::string reason;
  };
  for (const auto& [cert, reason] :
       {variant{expired, "certificate has expired"}, variant{self, "self-signed certificate"},
        variant{wrong, "mismatch"}}) {
    test_server srv{routes(), server_tls{.cert = cert}};
    auto c = vitals::checks::http({.url = srv.url("/json"), .ca_file = certs().ca().cert_file});
    auto r = run_once(*c, 2s);
    EXPECT_EQ(r.status, status::fail);
    EXPECT_EQ(r.kind, failure_kind::tls) << r.output;
    EXPECT_NE(r.output.find(reason), std::string::npos) << r.output;

    auto insecure = vitals::checks::http({.url = srv.url("/json"), .insecure = true});
    r = run_once(*insecure, 2s);
    EXPECT_EQ(r.status, status::pass) << r.output;
  }
}

TEST(http_check, client_certificate_required) {
  const auto client = certs().issue("client", {.common_name = "vitals-client", .client = true});
  test_server srv{routes(), server_tls{.cert = certs().issue("valid2", {}),
                                       .client_ca_file = certs().ca().cert_file}};
  auto without =
      vitals::checks::http({.url = srv.url("/client"), .ca_file = certs().ca().cert_file});
  auto r = run_once(*without, 2s);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_TRUE(r.kind == failure_kind::tls || r.kind == failure_kind::protocol) << r.output;

  auto with = vitals::checks::http({.url = srv.url("/client"),
                                    .body_contains = "client-ok",
                                    .ca_file = certs().ca().cert_file,
                                    .client_cert = client.cert_file,
                                    .client_key = client.key_file});
  r = run_once(*with, 2s);
  EXPECT_EQ(r.status, status::pass) << r.output;
}

TEST(http_check, plain_http_to_a_tls_port_and_tls_to_a_plain_port) {
  test_server tls_srv{routes(), server_tls{.cert = certs().issue("valid3", {})}};
  auto c =
      vitals::checks::http({.url = "http://127.0.0.1:" + std::to_string(tls_srv.port()) + "/json"});
  auto r = run_once(*c, 1s);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::protocol) << r.output;

  test_server plain{routes()};
  auto d =
      vitals::checks::http({.url = "https://127.0.0.1:" + std::to_string(plain.port()) + "/json"});
  r = run_once(*d, 1s);
  EXPECT_EQ(r.status, status::fail);
  // This server hangs up on a ClientHello without a word (a real one may answer "400 Bad
  // Request", which is `protocol`: see faults_net).
  EXPECT_EQ(r.kind, failure_kind::tls) << r.output;
  EXPECT_NE(r.output.find("failed: connection closed by peer"), std::string::npos) << r.output;
}

// Keep-alive: one server per transport, the check's connections counted by the server.
struct transport {
  const char* name;
  bool tls;
};
constexpr transport transports[] = {{"plain", false}, {"tls", true}};

std::unique_ptr<test_server> keep_alive_server(const transport& t, test_server::handler h) {
  auto srv = t.tls ? std::make_unique<test_server>(std::move(h),
                                                   server_tls{.cert = certs().issue("ka", {})})
                   : std::make_unique<test_server>(std::move(h));
  srv->set_keep_alive(true);
  return srv;
}

vitals::checks::http_options keep_alive_options(const test_server& srv, const std::string& path) {
  return {.url = srv.url(path), .ca_file = certs().ca().cert_file};
}

TEST(http_check_keep_alive, twenty_runs_use_one_connection) {
  for (const auto& t : transports) {
    SCOPED_TRACE(t.name);
    auto srv = keep_alive_server(t, routes());
    auto c = vitals::checks::http(keep_alive_options(*srv, "/json"));
    for (int i = 0; i < 20; ++i) {
      const auto r = run_once(*c, 2s);
      ASSERT_EQ(r.status, status::pass) << "run " << i << ": " << r.output;
    }
    EXPECT_EQ(srv->requests(), 20u);
    EXPECT_EQ(srv->connections(), 1u);
  }
}

TEST(http_check_keep_alive, same_origin_redirects_reuse_the_connection) {
  test_server srv{routes()};
  srv.set_keep_alive(true);
  auto c = vitals::checks::http({.url = srv.url("/moved"), .json_pointer = "/status"});
  for (int i = 0; i < 3; ++i) {
    const auto r = run_once(*c, 2s);
    ASSERT_EQ(r.status, status::pass) << r.output;
    EXPECT_NE(std::find(r.details.begin(), r.details.end(),
                        std::pair<std::string, std::string>{"redirects", "1"}),
              r.details.end());
  }
  EXPECT_EQ(srv.requests(), 6u);
  EXPECT_EQ(srv.connections(), 1u);
}

TEST(http_check_keep_alive, server_closing_an_idle_connection_is_not_an_outage) {
  for (const auto& t : transports) {
    SCOPED_TRACE(t.name);
    auto srv = keep_alive_server(t, routes());
    auto c = vitals::checks::http(keep_alive_options(*srv, "/json"));
    auto r = run_once(*c, 2s);
    ASSERT_EQ(r.status, status::pass) << r.output;
    ASSERT_EQ(srv->close_idle(), 1u);
    r = run_once(*c, 2s);
    EXPECT_EQ(r.status, status::pass) << r.output;
    EXPECT_EQ(srv->connections(), 2u);
    EXPECT_EQ(srv->requests(), 2u);  // the stale connection carried no request to the server
    r = run_once(*c, 2s);
    EXPECT_EQ(r.status, status::pass) << r.output;
    EXPECT_EQ(srv->connections(), 2u);
  }
}

TEST(http_check_keep_alive, connection_close_responses_get_a_new_connection_each_run) {
  for (const auto& t : transports) {
    SCOPED_TRACE(t.name);
    auto srv = keep_alive_server(t, [](const request_info&) -> response_spec {
      return {.headers = {{"Connection", "close"}}, .body = "bye"};
    });
    auto c = vitals::checks::http(keep_alive_options(*srv, "/"));
    for (int i = 0; i < 5; ++i) {
      const auto r = run_once(*c, 2s);
      ASSERT_EQ(r.status, status::pass) << r.output;
    }
    EXPECT_EQ(srv->connections(), 5u);
  }
}

TEST(http_check_keep_alive, disabled_opens_a_connection_per_run) {
  test_server srv{[](const request_info& req) -> response_spec {
    const auto it = req.headers.find("connection");
    return {.body = it == req.headers.end() ? "none" : it->second};
  }};
  srv.set_keep_alive(true);
  auto off =
      vitals::checks::http({.url = srv.url("/"), .body_contains = "close", .keep_alive = false});
  for (int i = 0; i < 5; ++i) {
    const auto r = run_once(*off, 2s);
    ASSERT_EQ(r.status, status::pass) << r.output;
  }
  EXPECT_EQ(srv.connections(), 5u);
  auto on = vitals::checks::http({.url = srv.url("/"), .body_contains = "keep-alive"});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(run_once(*on, 2s).status, status::pass);
  EXPECT_EQ(srv.connections(), 6u);
}

TEST(http_check_keep_alive, truncated_body_is_not_reused) {
  test_server srv{routes()};
  srv.set_keep_alive(true);
  auto c = vitals::checks::http({.url = srv.url("/big")});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(run_once(*c, 2s).status, status::pass);
  EXPECT_EQ(srv.connections(), 3u);
}

TEST(http_check_keep_alive, a_timed_out_run_drops_the_connection) {
  for (const auto& t : transports) {
    SCOPED_TRACE(t.name);
    auto slow = std::make_shared<std::atomic<bool>>(false);
    auto srv = keep_alive_server(t, [slow](const request_info&) -> response_spec {
      return {.body = "ok", .delay = slow->load() ? 300ms : 0ms};
    });
    auto c = vitals::checks::http(keep_alive_options(*srv, "/"));
    ASSERT_EQ(run_once(*c, 2s).status, status::pass);
    slow->store(true);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = run_once(*c, 100ms);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 250ms);
    EXPECT_EQ(r.kind, failure_kind::timeout) << r.output;
    EXPECT_NE(r.output.find("waiting for the response from 127.0.0.1:"), std::string::npos)
        << r.output;
    slow->store(false);
    r = run_once(*c, 2s);
    EXPECT_EQ(r.status, status::pass) << r.output;
    EXPECT_EQ(srv->connections(), 2u);
    r = run_once(*c, 2s);
    EXPECT_EQ(r.status, status::pass) << r.output;
    EXPECT_EQ(srv->connections(), 2u);
  }
}

}  // namespace
}  // namespace vitals::testkit
