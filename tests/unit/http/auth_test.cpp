#include <gtest/gtest.h>

#include <string>

#include "auth.hpp"
#include "rig.hpp"

namespace {

using vitals::http::detail::bearer_matches;
using vitals::http::detail::bearer_token;
using vitals::http::detail::constant_time_equal;
using vitals_test::rig;

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("s3cret-token", "s3cret-token"));
  EXPECT_FALSE(constant_time_equal("s3cret-tokeN", "s3cret-token"));
  EXPECT_FALSE(constant_time_equal("X3cret-token", "s3cret-token"));
  // A prefix, an extension, or a repetition of the token is not the token.
  EXPECT_FALSE(constant_time_equal("s3cret", "s3cret-token"));
  EXPECT_FALSE(constant_time_equal("s3cret-token-and-more", "s3cret-token"));
  EXPECT_FALSE(constant_time_equal("abab", "ab"));
  EXPECT_FALSE(constant_time_equal("ab", "abab"));
  EXPECT_FALSE(constant_time_equal("", "s3cret-token"));
  EXPECT_TRUE(constant_time_equal("", ""));
  const std::string with_nul{"ab\0cd", 5};
  EXPECT_FALSE(constant_time_equal(std::string{"ab"}, with_nul));
  EXPECT_TRUE(constant_time_equal(with_nul, with_nul));
}

TEST(BearerToken, ParsesTheScheme) {
  EXPECT_EQ(bearer_token("Bearer abc.def"), "abc.def");
  EXPECT_EQ(bearer_token("bearer abc"), "abc");
  EXPECT_EQ(bearer_token("BEARER   abc  "), "abc");
  EXPECT_EQ(bearer_token("  Bearer\tabc"), "abc");
  EXPECT_EQ(bearer_token("Bearerabc"), "");
  EXPECT_EQ(bearer_token("Bearer"), "");
  EXPECT_EQ(bearer_token("Bearer    "), "");
  EXPECT_EQ(bearer_token("Basic dXNlcjpwYXNz"), "");
  EXPECT_EQ(bearer_token(""), "");
}

TEST(BearerMatches, EmptyTokenNeverMatches) {
  EXPECT_FALSE(bearer_matches("Bearer ", ""));
  EXPECT_FALSE(bearer_matches("", ""));
  EXPECT_TRUE(bearer_matches("Bearer tok-123", "tok-123"));
  EXPECT_FALSE(bearer_matches("Bearer tok-1234", "tok-123"));
}

constexpr std::string_view token = "tok-7f3a9c21e5";

struct auth_rig : rig {
  explicit auth_rig(vitals::http::handler_options o) {
    add("db", vitals::fail("connection refused by db-7"));
    start(std::move(o));
    run();
  }
};

TEST(Auth, AnonymousSeesStatusesOnly) {
  auth_rig r{{.token = std::string{token}}};
  const auto res = r.get("/readyz?verbose");
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.body, "[-]db failed: reason withheld\nreadyz check failed\n");
}

TEST(Auth, RightTokenUnlocksOutput) {
  auth_rig r{{.token = std::string{token}}};
  const auto res = r.get("/readyz?verbose", "Bearer " + std::string{token});
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.body, "[-]db failed: connection refused by db-7\nreadyz check failed\n");
  // The scheme is case-insensitive; the header name too (handle() looks it up).
  const std::string bearer = "bearer " + std::string{token};
  const std::vector<vitals::http::header> hs{{"authorization", bearer}};
  const auto lower = r.handler().handle({.method = "GET", .target = "/readyz", .headers = hs});
  EXPECT_EQ(lower.body, "[-]db failed: connection refused by db-7\nreadyz check failed\n");
}

TEST(Auth, WrongTokenIsTreatedAsAnonymousNot401) {
  auth_rig r{{.token = std::string{token}}};
  const auto anon = r.get("/readyz?verbose");
  const std::string t{token};
  for (const std::string& bad :
       std::vector<std::string>{"Bearer wrong", "Bearer " + t.substr(0, 5), "Bearer " + t + "x",
                                "Basic " + t, t, "Bearer", "Bearer  " + t + "\n"}) {
    const auto res = r.get("/readyz?verbose", bad);
    EXPECT_EQ(res.status, anon.status) << bad;
    EXPECT_EQ(res.body, anon.body) << bad;
    EXPECT_EQ(res.headers, anon.headers) << bad;
    const auto health = r.get("/health", bad);
    EXPECT_EQ(health.status, 503);
    EXPECT_EQ(health.body, r.get("/health").body) << bad;
  }
}

TEST(Auth, NoTokenConfiguredMeansNobodyIsAuthorized) {
  auth_rig r{{}};
  EXPECT_EQ(r.get("/readyz", "Bearer ").body,
            "[-]db failed: reason withheld\nreadyz check failed\n");
  EXPECT_EQ(r.get("/readyz", "Bearer x").body,
            "[-]db failed: reason withheld\nreadyz check failed\n");
}

TEST(Auth, PolicyEveryoneShowsDetailsToAnonymous) {
  auth_rig r{{.details = vitals::http::detail_policy::everyone}};
  EXPECT_EQ(r.get("/readyz").body,
            "[-]db failed: connection refused by db-7\nreadyz check failed\n");
}

TEST(Auth, PolicyNobodyHidesDetailsEvenWithTheToken) {
  auth_rig r{{.token = std::string{token}, .details = vitals::http::detail_policy::nobody}};
  const auto res = r.get("/readyz?verbose", "Bearer " + std::string{token});
  EXPECT_EQ(res.body, "[-]db failed: reason withheld\nreadyz check failed\n");
  EXPECT_EQ(r.get("/health", "Bearer " + std::string{token}).body, r.get("/health").body);
}

// A transport that verified the client's TLS certificate (the built-in server with
// server.tls.client_ca_file) unlocks details as the token does, under the same policy.
TEST(Auth, VerifiedClientCertificateUnlocksOutput) {
  auth_rig r{{}};
  const auto anon = r.handler().handle({.method = "GET", .target = "/readyz?verbose"});
  EXPECT_EQ(anon.body, "[-]db failed: reason withheld\nreadyz check failed\n");
  const auto cert = r.handler().handle(
      {.method = "GET", .target = "/readyz?verbose", .client_certificate_verified = true});
  EXPECT_EQ(cert.body, "[-]db failed: connection refused by db-7\nreadyz check failed\n");
}

TEST(Auth, PolicyNobodyHidesDetailsEvenFromAVerifiedClientCertificate) {
  auth_rig r{{.details = vitals::http::detail_policy::nobody}};
  const auto res = r.handler().handle(
      {.method = "GET", .target = "/readyz?verbose", .client_certificate_verified = true});
  EXPECT_EQ(res.body, "[-]db failed: reason withheld\nreadyz check failed\n");
}

}  // namespace
