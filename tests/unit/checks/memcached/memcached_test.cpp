#include "vitals/checks/memcached.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "memcached/memcached_detail.hpp"

namespace {

using vitals::checks::detail::parse_memcached_address;
using vitals::checks::detail::parse_version_line;
using vitals::checks::detail::printable_excerpt;

TEST(memcached_address, forms) {
  auto a = parse_memcached_address("127.0.0.1:11212");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 11212);
  a = parse_memcached_address("cache.internal");
  EXPECT_EQ(a.host, "cache.internal");
  EXPECT_EQ(a.port, 11211);
  a = parse_memcached_address("[::1]:5000");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 5000);
  a = parse_memcached_address("memcached://h:7/");
  EXPECT_EQ(a.host, "h");
  EXPECT_EQ(a.port, 7);
}

TEST(memcached_address, rejects_bad_input) {
  for (const std::string s :
       {"", ":11211", "h:", "h:0", "h:70000", "h:x", "::1:11211", "[::1", "[::1]x", "a b:1"}) {
    EXPECT_THROW((void)parse_memcached_address(s), std::invalid_argument) << s;
  }
  try {
    (void)vitals::checks::memcached({.address = "memcached://u:hunter2pw@h:1:2"});
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2pw"), std::string::npos) << e.what();
  }
}

TEST(memcached_traits, datastore_dependency) {
  const auto t = vitals::checks::memcached({.address = "127.0.0.1:11211"})->traits();
  EXPECT_EQ(t.type, "memcached");
  EXPECT_EQ(t.component_type, "datastore");
  EXPECT_EQ(t.measurement, "responseTime");
  EXPECT_TRUE(t.dependency);
}

TEST(memcached_reply, version_line) {
  EXPECT_EQ(parse_version_line("VERSION 1.6.18"), "1.6.18");
  EXPECT_EQ(parse_version_line("ERROR"), std::nullopt);
  EXPECT_EQ(parse_version_line("VERSION "), std::nullopt);
  EXPECT_EQ(parse_version_line("VERSION 1.6\x01"), std::nullopt);
  EXPECT_EQ(parse_version_line("HTTP/1.1 400 Bad Request"), std::nullopt);
}

TEST(memcached_reply, printable_excerpt_escapes_and_cuts) {
  EXPECT_EQ(printable_excerpt("ok"), "ok");
  EXPECT_EQ(printable_excerpt(std::string("a\x00\xff", 3)), "a\\x00\\xff");
  EXPECT_EQ(printable_excerpt(std::string(40, 'x'), 4), "xxxx...");
}

}  // namespace
