#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "http/http_rules.hpp"
#include "vitals/checks/descriptors.hpp"
#include "vitals/checks/http.hpp"

namespace vitals::checks::detail {
namespace {

TEST(status_ranges, codes_and_ranges) {
  const auto r = status_ranges::parse("200-299, 301,404");
  EXPECT_TRUE(r.contains(200));
  EXPECT_TRUE(r.contains(299));
  EXPECT_TRUE(r.contains(301));
  EXPECT_TRUE(r.contains(404));
  EXPECT_FALSE(r.contains(300));
  EXPECT_FALSE(r.contains(500));
  EXPECT_FALSE(r.contains(199));
}

TEST(status_ranges, rejects_garbage) {
  for (const char* bad : {"", "abc", "200-", "299-200", "99", "600", "200,,201", "2xx"}) {
    EXPECT_THROW((void)status_ranges::parse(bad), std::invalid_argument) << bad;
  }
}

TEST(redirects, resolve_location_forms) {
  const auto base = parse_url("http://svc:8080/health/live?x=1");
  EXPECT_EQ(resolve_location(base, "/ready").target(), "/ready");
  EXPECT_EQ(resolve_location(base, "/ready").authority(), "svc:8080");
  EXPECT_EQ(resolve_location(base, "ready").path, "/health/ready");
  EXPECT_EQ(resolve_location(base, "?y=2").target(), "/health/live?y=2");
  EXPECT_EQ(resolve_location(base, "//other:1/x").host, "other");
  EXPECT_EQ(resolve_location(base, "//other:1/x").scheme, "http");
  EXPECT_EQ(resolve_location(base, "https://svc/z").scheme, "https");
  EXPECT_TRUE(same_host(base, resolve_location(base, "https://SVC:8443/z")));
  EXPECT_FALSE(same_host(base, resolve_location(base, "http://evil/z")));
  EXPECT_THROW((void)resolve_location(base, "http://u:p@h:99999/"), std::invalid_argument);
}

TEST(credentials, basic_encoding_and_header_names) {
  EXPECT_EQ(basic_credentials("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(basic_credentials("a", "b"), "Basic YTpi");
  EXPECT_EQ(basic_credentials("ab", "c"), "Basic YWI6Yw==");
  EXPECT_TRUE(is_credential_header("Authorization"));
  EXPECT_TRUE(is_credential_header("cookie"));
  EXPECT_TRUE(is_credential_header("X-Api-Key"));
  EXPECT_TRUE(is_credential_header("X-Auth-Token"));
  EXPECT_FALSE(is_credential_header("Accept"));
}

TEST(json_condition, pointer_and_value) {
  const std::string body = R"({"status":"UP","checks":[{"ok":true},{"n":3}]})";
  EXPECT_FALSE(check_json(body, "/status", normalize_json_expected("UP")));
  EXPECT_FALSE(check_json(body, "/status", normalize_json_expected("\"UP\"")));
  EXPECT_FALSE(check_json(body, "/checks/0/ok", normalize_json_expected("true")));
  EXPECT_FALSE(check_json(body, "/checks/1/n", normalize_json_expected("3.0")));
  EXPECT_FALSE(check_json(body, "/checks", ""));  // existence only

  auto diff = check_json(body, "/status", normalize_json_expected("DOWN"));
  ASSERT_TRUE(diff);
  EXPECT_FALSE(diff->protocol_error);
  EXPECT_EQ(diff->message, R"(JSON /status is "UP", expected "DOWN")");

  auto missing = check_json(body, "/nope", normalize_json_expected("1"));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->message, "JSON pointer /nope not found");
  EXPECT_TRUE(check_json(body, "/checks/x", ""));  // non-numeric array index
  EXPECT_TRUE(check_json(body, "/checks/9", ""));  // out of range

  auto garbage = check_json("<html>", "/status", normalize_json_expected("UP"));
  ASSERT_TRUE(garbage);
  EXPECT_TRUE(garbage->protocol_error);
}

TEST(json_condition, pointer_syntax_is_validated) {
  EXPECT_NO_THROW(validate_json_pointer("/a/b~1c"));
  EXPECT_THROW(validate_json_pointer("status"), std::invalid_argument);
}

TEST(http_options, bad_options_throw_without_the_password) {
  const auto expect_throw = [](http_options o) {
    try {
      (void)vitals::checks::http(std::move(o));
      ADD_FAILURE() << "no exception";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).find("pa55w0rd"), std::string::npos) << e.what();
    }
  };
  expect_throw({.url = "http://u:pa55w0rd@h:0/"});
  expect_throw({.url = "ftp://u:pa55w0rd@h/"});
  expect_throw({.url = "http://u:pa55w0rd@/x"});
  expect_throw({.url = "http://u:pa55w0rd@h/", .expected_status = "2xx"});
  expect_throw({.url = "http://u:pa55w0rd@h/", .body_regex = "(unclosed"});
  expect_throw({.url = "http://u:pa55w0rd@h/", .json_pointer = "no-slash"});
  expect_throw({.url = "http://u:pa55w0rd@h/", .json_equals = "UP"});
  expect_throw({.url = "http://u:pa55w0rd@h/", .max_redirects = -1});
  expect_throw({.url = "http://u:pa55w0rd@h/", .ca_file = "/nonexistent/ca.pem"});
  expect_throw({.url = "http://u:pa55w0rd@h/", .client_cert = "/nonexistent/c.pem"});
  expect_throw({.url = "http://h/", .headers = {{"X-Bad", "a\r\nInjected: 1"}}});
}

TEST(http_options, traits_declare_every_secret) {
  auto c = vitals::checks::http(
      {.url = "http://app:pa55w0rd@127.0.0.1:1/",
       .headers = {{"Authorization", "Bearer tok-abcdef"}, {"Accept", "application/json"}}});
  const auto t = c->traits();
  EXPECT_EQ(t.type, "http");
  EXPECT_EQ(t.measurement, "responseTime");
  EXPECT_TRUE(t.dependency);
  const auto has = [&](const std::string& s) {
    return std::find(t.secrets.begin(), t.secrets.end(), s) != t.secrets.end();
  };
  EXPECT_TRUE(has("pa55w0rd"));
  EXPECT_TRUE(has("http://app:pa55w0rd@127.0.0.1:1/"));
  EXPECT_TRUE(has("tok-abcdef"));
  EXPECT_TRUE(has("Bearer tok-abcdef"));
  EXPECT_FALSE(has("application/json"));
}

// What vitalsd budgets per http check (apps/vitalsd/fd_budget): a redirect to another origin
// needs a second connection beside the kept one, only when both can happen.
TEST(http_options, descriptors_held_at_most) {
  const auto held = [](vitals::checks::http_options o) {
    o.url = "http://127.0.0.1:1/";
    return vitals::checks::descriptors_of(*vitals::checks::http(std::move(o)));
  };
  EXPECT_EQ(held({}), 2U);
  EXPECT_EQ(held({.max_redirects = 0}), 1U);
  EXPECT_EQ(held({.keep_alive = false}), 1U);
}

}  // namespace
}  // namespace vitals::checks::detail
