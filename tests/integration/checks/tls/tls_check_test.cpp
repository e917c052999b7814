#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "pki.hpp"
#include "test_server.hpp"
#include "vitals/checks/tls.hpp"

namespace vitals::testkit {
namespace {

using namespace std::chrono_literals;
using vitals::failure_kind;
using vitals::status;
using hours = std::chrono::hours;

pki& certs() {
  static pki p;
  return p;
}

response_spec ok(const request_info&) { return {}; }

vitals::result check_against(const credential& cert, vitals::checks::tls_options o = {}) {
  test_server srv{ok, server_tls{.cert = cert}};
  if (o.host.empty()) o.host = "127.0.0.1";
  o.port = srv.port();
  if (o.ca_file.empty()) o.ca_file = certs().ca().cert_file;
  auto c = vitals::checks::tls(o);
  return run_once(*c, 2s);
}

std::int64_t days_observed(const vitals::result& r) {
  if (!r.observed) return -9999;
  return std::get<std::int64_t>(r.observed->value);
}

TEST(tls_check, valid_certificate_passes_with_days_left) {
  auto r = check_against(certs().issue("valid", {.not_after = hours{24 * 90 - 1}}));
  EXPECT_EQ(r.status, status::pass) << r.output;
  EXPECT_EQ(r.observed->unit, "days");
  EXPECT_EQ(days_observed(r), 89);  // whole days left, rounded down
}

TEST(tls_check, hostname_via_sni_and_host) {
  const auto cert = certs().issue("named", {});
  auto by_host = check_against(cert, {.host = "localhost"});
  EXPECT_EQ(by_host.status, status::pass) << by_host.output;
  auto by_sni = check_against(cert, {.sni = "localhost"});
  EXPECT_EQ(by_sni.status, status::pass) << by_sni.output;
  auto wrong_sni = check_against(cert, {.sni = "db.example"});
  EXPECT_EQ(wrong_sni.kind, failure_kind::tls);
  EXPECT_NE(wrong_sni.output.find("hostname mismatch"), std::string::npos) << wrong_sni.output;
}

TEST(tls_check, expiring_in_five_days_warns) {
  auto r = check_against(certs().issue("soon", {.not_after = hours{24 * 5 + 1}}));
  EXPECT_EQ(r.status, status::warn) << r.output;
  EXPECT_EQ(days_observed(r), 5);
  EXPECT_NE(r.output.find("expires in 5 days"), std::string::npos) << r.output;
}

TEST(tls_check, expiring_in_one_day_fails) {
  auto r = check_against(certs().issue("sooner", {.not_after = hours{24 + 1}}));
  EXPECT_EQ(r.status, status::fail) << r.output;
  EXPECT_EQ(r.kind, failure_kind::tls);
  EXPECT_EQ(days_observed(r), 1);
  EXPECT_NE(r.output.find("expires in 1 day"), std::string::npos) << r.output;
}

TEST(tls_check, thresholds_are_configurable) {
  auto r =
      check_against(certs().issue("thirty", {.not_after = hours{24 * 30 + 1}}),
                    {.warn_before = std::chrono::days{60}, .fail_before = std::chrono::days{7}});
  EXPECT_EQ(r.status, status::warn) << r.output;
}

TEST(tls_check, rejections_name_the_reason) {
  struct variant {
    const char* name;
    leaf_spec spec;
    const char* reason;
  };
  for (const auto& v :
       {variant{"expired",
                {.not_before = -hours{72}, .not_after = -hours{24}},
                "certificate has expired"},
        variant{"self", {.self_signed = true}, "self-signed certificate"},
        variant{"wrong",
                {.common_name = "wrong.example", .alt_names = {"DNS:wrong.example"}},
                "mismatch"}}) {
    auto r = check_against(certs().issue(v.name, v.spec));
    EXPECT_EQ(r.status, status::fail) << v.name;
    EXPECT_EQ(r.kind, failure_kind::tls) << v.name << ": " << r.output;
    EXPECT_NE(r.output.find(v.reason), std::string::npos) << r.output;
  }
}

TEST(tls_check, untrusted_without_the_ca_file) {
  test_server srv{ok, server_tls{.cert = certs().issue("valid-untrusted", {})}};
  auto c = vitals::checks::tls({.host = "127.0.0.1", .port = srv.port()});
  auto r = run_once(*c, 2s);
  EXPECT_EQ(r.kind, failure_kind::tls);
  EXPECT_NE(r.output.find("unable to get local issuer certificate"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace vitals::testkit
