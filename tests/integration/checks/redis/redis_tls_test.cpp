// The redis check over TLS (rediss://): against the TLS Redis of scripts/test-servers.sh
// (VITALS_TEST_REDIS_TLS_URL, CA in VITALS_TEST_REDIS_TLS_CA) and against private redis-server
// instances started here on free loopback ports with certificates generated at test time
// (IP-only, expired, client certificates required), stopped by PID.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "db_support.hpp"
#include "pki.hpp"
#include "vitals/checks/redis.hpp"

namespace {

using namespace std::chrono_literals;
using vitals::failure_kind;
using vitals::status;
using vitals::checks::redis;
using vitals::test::detail_of;
using vitals::test::run_once;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// "rediss://:pw@127.0.0.1:56380/0" → "rediss://:pw@<host>:56380/0".
std::string with_host(const std::string& url, const std::string& host) {
  const auto at = url.find('@');
  const auto colon = url.find(':', at);
  return url.substr(0, at + 1) + host + url.substr(colon);
}

struct tls_server_spec {
  const vitals::testkit::credential* server = nullptr;
  std::string ca_file;
  bool auth_clients = false;
  std::uint16_t plain_port = 0;  ///< also listen without TLS (for the test's admin client)
};

// A private redis-server speaking TLS on `port` (requirepass `password`).
std::unique_ptr<vitals::test::child_process> start_tls_redis(std::uint16_t port,
                                                             const std::string& password,
                                                             const tls_server_spec& s) {
  std::vector<std::string> argv{"redis-server",
                                "--port",
                                std::to_string(s.plain_port),
                                "--tls-port",
                                std::to_string(port),
                                "--bind",
                                "127.0.0.1",
                                "--save",
                                "",
                                "--appendonly",
                                "no",
                                "--dir",
                                "/tmp",
                                "--requirepass",
                                password,
                                "--tls-cert-file",
                                s.server->cert_file,
                                "--tls-key-file",
                                s.server->key_file,
                                "--tls-ca-cert-file",
                                s.ca_file,
                                "--tls-auth-clients",
                                s.auth_clients ? "yes" : "no"};
  auto p = std::make_unique<vitals::test::child_process>(std::move(argv));
  if (!p->started() || !vitals::test::wait_listening(port, 5s)) return nullptr;
  if (s.plain_port != 0 && !vitals::test::wait_listening(s.plain_port, 5s)) return nullptr;
  return p;
}

std::string url_for(std::uint16_t port, const std::string& password,
                    const std::string& host = "127.0.0.1") {
  return "rediss://:" + password + "@" + host + ":" + std::to_string(port) + "/0";
}

// Test-side admin client on a private server's plain port (blocking hiredis, 2 s timeout).
class admin {
 public:
  admin(std::uint16_t port, const std::string& password) {
    const struct timeval tv { 2, 0 };
    c_ = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (c_ != nullptr && c_->err == 0) redisSetTimeout(c_, tv);
    ok_ = c_ != nullptr && c_->err == 0 && command("AUTH " + password) == "OK";
  }
  ~admin() {
    if (c_ != nullptr) redisFree(c_);
  }
  admin(const admin&) = delete;
  admin& operator=(const admin&) = delete;
  [[nodiscard]] bool ok() const { return ok_; }
  std::string command(const std::string& cmd) {
    auto* r = static_cast<redisReply*>(redisCommand(c_, cmd.c_str()));
    if (r == nullptr) return "<error>";
    std::string out = r->str != nullptr ? std::string(r->str, r->len) : std::to_string(r->integer);
    freeReplyObject(r);
    return out;
  }
  long long total_connections() {
    const auto info = command("INFO stats");
    const auto at = info.find("total_connections_received:");
    return at == std::string::npos ? -1 : std::stoll(info.substr(at + 27));
  }

 private:
  redisContext* c_ = nullptr;
  bool ok_ = false;
};

// ------------------------------------------------------------- the TLS Redis of test-servers.sh

TEST(redis_tls, passes_with_the_servers_ca) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_REDIS_TLS_URL");
  VITALS_SERVER_ENV(ca, "VITALS_TEST_REDIS_TLS_CA");
  const auto r = run_once(*redis({.url = url, .expect_role = "master", .ca_file = ca}));
  ASSERT_EQ(r.status, status::pass) << r.output;
  EXPECT_EQ(r.observed->unit, "ms");
  EXPECT_TRUE(detail_of(r, "tls").starts_with("TLSv1.")) << detail_of(r, "tls");
  EXPECT_FALSE(detail_of(r, "server_version").empty());
  EXPECT_EQ(detail_of(r, "role"), "master");
  // The certificate names localhost too.
  const auto by_name = run_once(*redis({.url = with_host(url, "localhost"), .ca_file = ca}));
  EXPECT_EQ(by_name.status, status::pass) << by_name.output;
}

TEST(redis_tls, private_ca_is_rejected_by_the_system_store_without_showing_the_password) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_REDIS_TLS_URL");
  const auto r = run_once(*redis({.url = url}));
  EXPECT_EQ(r.kind, failure_kind::tls) << r.output;
  EXPECT_TRUE(contains(r.output, "TLS handshake with 127.0.0.1:")) << r.output;
  EXPECT_TRUE(contains(r.output, "failed: certificate verify failed: ")) << r.output;
  EXPECT_FALSE(contains(r.output, vitals::test::password_of(url))) << r.output;
}

TEST(redis_tls, insecure_skips_verification) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_REDIS_TLS_URL");
  const auto r = run_once(*redis({.url = url, .sni = "redis.invalid", .insecure = true}));
  EXPECT_EQ(r.status, status::pass) << r.output;
}

TEST(redis_tls, a_name_the_certificate_does_not_carry_is_a_mismatch) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_REDIS_TLS_URL");
  VITALS_SERVER_ENV(ca, "VITALS_TEST_REDIS_TLS_CA");
  const auto dns = run_once(*redis({.url = url, .ca_file = ca, .sni = "redis.invalid"}));
  EXPECT_EQ(dns.kind, failure_kind::tls) << dns.output;
  EXPECT_TRUE(contains(dns.output, "certificate verify failed: hostname mismatch")) << dns.output;
  const auto ip = run_once(*redis({.url = url, .ca_file = ca, .sni = "127.0.0.2"}));
  EXPECT_EQ(ip.kind, failure_kind::tls) << ip.output;
  EXPECT_TRUE(contains(ip.output, "certificate verify failed: IP address mismatch")) << ip.output;
}

TEST(redis_tls, wrong_password_is_auth_and_never_shown) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_REDIS_TLS_URL");
  VITALS_SERVER_ENV(ca, "VITALS_TEST_REDIS_TLS_CA");
  const std::string bad = "Wr0ng-tls-pw-5e0a";
  const auto r = run_once(*redis({.url = vitals::test::with_password(url, bad), .ca_file = ca}));
  EXPECT_EQ(r.kind, failure_kind::auth) << r.output;
  EXPECT_FALSE(contains(r.output, bad)) << r.output;
  const auto no_auth = run_once(*redis(
      {.url = url.substr(0, url.find("//") + 2) + url.substr(url.find('@') + 1), .ca_file = ca}));
  EXPECT_EQ(no_auth.kind, failure_kind::auth) << no_auth.output;
}

// ------------------------------------------------------------------ private TLS Redis instances

TEST(redis_tls, certificate_only_for_the_ip_fails_by_name) {
  vitals::testkit::pki pki;
  const auto server =
      pki.issue("ip-only", {.common_name = "127.0.0.1", .alt_names = {"IP:127.0.0.1"}});
  const auto port = vitals::test::closed_port();
  auto srv =
      start_tls_redis(port, "pw-ip-only", {.server = &server, .ca_file = pki.ca().cert_file});
  ASSERT_NE(srv, nullptr) << "redis-server (TLS) did not start";
  const auto ca = pki.ca().cert_file;
  EXPECT_EQ(run_once(*redis({.url = url_for(port, "pw-ip-only"), .ca_file = ca})).status,
            status::pass);
  const auto r = run_once(*redis({.url = url_for(port, "pw-ip-only", "localhost"), .ca_file = ca}));
  EXPECT_EQ(r.kind, failure_kind::tls) << r.output;
  EXPECT_TRUE(contains(r.output, "hostname mismatch")) << r.output;
  EXPECT_FALSE(contains(r.output, "pw-ip-only")) << r.output;
}

TEST(redis_tls, expired_certificate_is_tls) {
  vitals::testkit::pki pki;
  const auto server = pki.issue("expired", {.not_before = -48h, .not_after = -24h});
  const auto port = vitals::test::closed_port();
  auto srv =
      start_tls_redis(port, "pw-expired", {.server = &server, .ca_file = pki.ca().cert_file});
  ASSERT_NE(srv, nullptr) << "redis-server (TLS) did not start";
  const auto r =
      run_once(*redis({.url = url_for(port, "pw-expired"), .ca_file = pki.ca().cert_file}));
  EXPECT_EQ(r.kind, failure_kind::tls) << r.output;
  EXPECT_TRUE(contains(r.output, "certificate verify failed: certificate has expired")) << r.output;
}

TEST(redis_tls, client_certificate_required_by_tls_auth_clients) {
  vitals::testkit::pki pki;
  const auto server = pki.issue("server", {});
  const auto client =
      pki.issue("client", {.common_name = "vitals", .alt_names = {}, .client = true});
  const auto port = vitals::test::closed_port();
  auto srv = start_tls_redis(
      port, "pw-mtls", {.server = &server, .ca_file = pki.ca().cert_file, .auth_clients = true});
  ASSERT_NE(srv, nullptr) << "redis-server (TLS) did not start";
  const auto ca = pki.ca().cert_file;
  const auto without = run_once(*redis({.url = url_for(port, "pw-mtls"), .ca_file = ca}));
  EXPECT_EQ(without.kind, failure_kind::tls) << without.output;
  EXPECT_TRUE(contains(without.output, "client certificate")) << without.output;
  EXPECT_FALSE(contains(without.output, "pw-mtls")) << without.output;
  // A client certificate from another CA is refused as well.
  vitals::testkit::pki other;
  const auto stranger =
      other.issue("stranger", {.common_name = "x", .alt_names = {}, .client = true});
  const auto foreign = run_once(*redis({.url = url_for(port, "pw-mtls"),
                                        .ca_file = ca,
                                        .client_cert = stranger.cert_file,
                                        .client_key = stranger.key_file}));
  EXPECT_EQ(foreign.kind, failure_kind::tls) << foreign.output;
  const auto with = run_once(*redis({.url = url_for(port, "pw-mtls"),
                                     .ca_file = ca,
                                     .client_cert = client.cert_file,
                                     .client_key = client.key_file}));
  EXPECT_EQ(with.status, status::pass) << with.output;
}

TEST(redis_tls, keeps_one_tls_connection_and_reconnects_after_a_kill) {
  vitals::testkit::pki pki;
  const auto server = pki.issue("server", {});
  const auto port = vitals::test::closed_port();
  const auto plain = vitals::test::closed_port();
  auto srv = start_tls_redis(
      port, "pw-keep", {.server = &server, .ca_file = pki.ca().cert_file, .plain_port = plain});
  ASSERT_NE(srv, nullptr) << "redis-server (TLS) did not start";
  admin a{plain, "pw-keep"};
  ASSERT_TRUE(a.ok());
  auto c = redis({.url = url_for(port, "pw-keep"), .ca_file = pki.ca().cert_file});
  ASSERT_EQ(run_once(*c).status, status::pass);
  const auto before = a.total_connections();
  for (int i = 0; i < 50; ++i) ASSERT_EQ(run_once(*c).status, status::pass);
  EXPECT_EQ(a.total_connections(), before);
  // The kept TLS connection is killed server-side: the run retries once on a fresh one.
  EXPECT_EQ(a.command("CLIENT KILL TYPE normal SKIPME yes"), "1");
  const auto r = run_once(*c);
  EXPECT_EQ(r.status, status::pass) << r.output;
  EXPECT_EQ(a.total_connections(), before + 1);
}

TEST(redis_tls, frozen_tls_server_times_out_on_the_kept_session_and_recovers) {
  vitals::testkit::pki pki;
  const auto server = pki.issue("server", {});
  const auto port = vitals::test::closed_port();
  auto srv = start_tls_redis(port, "pw-frozen", {.server = &server, .ca_file = pki.ca().cert_file});
  ASSERT_NE(srv, nullptr) << "redis-server (TLS) did not start";
  auto c = redis({.url = url_for(port, "pw-frozen"), .ca_file = pki.ca().cert_file});
  ASSERT_EQ(run_once(*c).status, status::pass);
  {
    vitals::test::frozen f{{srv->pid()}};
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = run_once(*c, 300ms);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
    EXPECT_EQ(r.kind, failure_kind::timeout) << r.output;
    EXPECT_TRUE(contains(r.output, "waiting for a reply from 127.0.0.1:")) << r.output;
  }
  // The timed-out session was dropped; the next run handshakes again and passes.
  const auto back = run_once(*c);
  EXPECT_EQ(back.status, status::pass) << back.output;
}

// ------------------------------------------------------------------- peers that are not TLS

TEST(redis_tls, plain_text_redis_on_a_rediss_url_times_out_in_the_handshake) {
  const auto port = vitals::test::closed_port();
  auto srv = vitals::test::start_redis(port, "pw-plain");
  ASSERT_NE(srv, nullptr) << "redis-server did not start";
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_once(*redis({.url = url_for(port, "pw-plain")}), 300ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(r.kind, failure_kind::timeout) << r.output;
  EXPECT_TRUE(contains(r.output, "in TLS handshake with 127.0.0.1:")) << r.output;
  EXPECT_TRUE(contains(r.output, "a plain-text port?")) << r.output;
}

TEST(redis_tls, a_peer_talking_first_in_clear_is_protocol) {
  vitals::test::garbage_server g;
  const auto r = run_once(*redis({.url = url_for(g.port(), "pw-garbage")}));
  EXPECT_EQ(r.kind, failure_kind::protocol) << r.output;
  EXPECT_TRUE(contains(r.output, "peer does not speak TLS")) << r.output;
}

TEST(redis_tls, plain_redis_url_on_a_tls_port_fails_fast) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_REDIS_TLS_URL");
  const auto plain = "redis" + url.substr(url.find("://"));
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_once(*redis({.url = plain}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(r.kind, failure_kind::refused) << r.output;
  EXPECT_TRUE(contains(r.output, "use rediss://")) << r.output;
  EXPECT_FALSE(contains(r.output, vitals::test::password_of(url))) << r.output;
}

}  // namespace
