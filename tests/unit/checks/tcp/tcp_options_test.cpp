#include <gtest/gtest.h>

#include <stdexcept>

#include "vitals/checks/tcp.hpp"

namespace vitals::checks {
namespace {

TEST(tcp_options, validation) {
  EXPECT_THROW((void)tcp({.port = 80}), std::invalid_argument);
  EXPECT_THROW((void)tcp({.host = "h"}), std::invalid_argument);
  EXPECT_THROW((void)tcp({.host = "h", .port = 1, .expect = "12345", .max_read_bytes = 4}),
               std::invalid_argument);
  EXPECT_NO_THROW((void)tcp({.host = "[::1]", .port = 1}));
}

TEST(tcp_options, traits) {
  const auto t = tcp({.host = "h", .port = 1})->traits();
  EXPECT_EQ(t.type, "tcp");
  EXPECT_EQ(t.measurement, "connections");
  EXPECT_TRUE(t.dependency);
}

}  // namespace
}  // namespace vitals::checks
