#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "common/url.hpp"

namespace vitals::checks::detail {
namespace {

TEST(url, parses_every_part) {
  const auto u = parse_url("HTTPS://app:pw@Example.com:8443/a/b?x=1&y=2#frag");
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.user, "app");
  EXPECT_EQ(u.password, "pw");
  EXPECT_TRUE(u.has_password);
  EXPECT_EQ(u.host, "Example.com");
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.path, "/a/b");
  EXPECT_EQ(u.query, "x=1&y=2");
  EXPECT_EQ(u.fragment, "frag");
  EXPECT_EQ(u.target(), "/a/b?x=1&y=2");
  EXPECT_EQ(u.authority(), "Example.com:8443");
}

TEST(url, ipv6_brackets_and_default_port) {
  const auto u = parse_url("redis://[::1]/0");
  EXPECT_EQ(u.host, "::1");
  EXPECT_TRUE(u.host_is_ipv6());
  EXPECT_EQ(u.port, 0);
  EXPECT_EQ(u.port_or(6379), 6379);
  EXPECT_EQ(u.authority(), "[::1]");
  const auto v = parse_url("postgres://[fe80::1%25eth0]:5432/db");
  EXPECT_EQ(v.host, "fe80::1%eth0");
  EXPECT_EQ(v.port, 5432);
  EXPECT_EQ(host_port("::1", 80), "[::1]:80");
  EXPECT_EQ(host_port("10.0.0.1", 80), "10.0.0.1:80");
}

TEST(url, percent_decodes_userinfo_and_keeps_raw_path) {
  const auto u = parse_url("postgres://us%40er:p%40ss%3Aw%2Fd@db/my%20db?sslmode=disable");
  EXPECT_EQ(u.user, "us@er");
  EXPECT_EQ(u.password, "p@ss:w/d");
  EXPECT_EQ(u.path, "/my%20db");
  EXPECT_EQ(percent_decode("a%20b+c", true), "a b c");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_THROW((void)percent_decode("%zz"), std::invalid_argument);
  EXPECT_THROW((void)percent_decode("%4"), std::invalid_argument);
}

TEST(url, unescaped_at_in_password_uses_the_last_at) {
  const auto u = parse_url("mysql://root:p@ss@127.0.0.1:3306/");
  EXPECT_EQ(u.user, "root");
  EXPECT_EQ(u.password, "p@ss");
  EXPECT_EQ(u.host, "127.0.0.1");
}

TEST(url, empty_host_and_empty_password) {
  const auto u = parse_url("postgres:///app");
  EXPECT_EQ(u.host, "");
  EXPECT_EQ(u.path, "/app");
  const auto v = parse_url("redis://:@localhost");
  EXPECT_TRUE(v.has_password);
  EXPECT_EQ(v.password, "");
  EXPECT_EQ(v.redacted(), "redis://:***@localhost");
}

TEST(url, redacted_masks_password_and_secret_query_params) {
  const auto u = parse_url("postgres://app:hunter2@db:5432/app?sslmode=require&password=hunter3");
  const auto r = u.redacted();
  EXPECT_EQ(r, "postgres://app:***@db:5432/app?sslmode=require&password=***");
  EXPECT_EQ(r.find("hunter"), std::string::npos);
  EXPECT_EQ(parse_url("http://h/x").redacted(), "http://h/x");
  EXPECT_EQ(parse_url("http://user@h/").redacted(), "http://user@h/");
}

TEST(url, query_params_are_decoded) {
  const auto p = parse_url("x://h/?a=1&b=hello+world&c&d=%2F").query_params();
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[1].second, "hello world");
  EXPECT_EQ(p[2].first, "c");
  EXPECT_EQ(p[3].second, "/");
}

TEST(url, errors_never_show_the_password) {
  for (const char* bad : {"postgres://app:s3cret@db:99999/x", "postgres://app:s3cret@db:abc/x",
                          "postgres://app:s3cret@[::1/x", "app:s3cret@db", "1x://app:s3cret@db",
                          "http://app:s3cret@ho st/", "http://app:s3%zzcret@h/"}) {
    try {
      (void)parse_url(bad);
      ADD_FAILURE() << "no exception for a bad URL";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).find("s3"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("invalid URL"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(mask_userinfo("redis://u:pw@h:1/x"), "redis://***@h:1/x");
  EXPECT_EQ(mask_userinfo("no url here"), "no url here");
  EXPECT_EQ(mask_userinfo("u:pw@h"), "***@h");
}

}  // namespace
}  // namespace vitals::checks::detail
