#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

#include "vitals/checks/tls.hpp"

namespace vitals::checks {
namespace {

using namespace std::chrono_literals;

TEST(tls_options, validation) {
  EXPECT_THROW((void)tls({}), std::invalid_argument);
  EXPECT_THROW((void)tls({.host = "h", .port = 0}), std::invalid_argument);
  EXPECT_THROW(
      (void)tls(
          {.host = "h", .warn_before = std::chrono::days{3}, .fail_before = std::chrono::days{5}}),
      std::invalid_argument);
  EXPECT_THROW((void)tls({.host = "h", .ca_file = "/nonexistent/ca.pem"}), std::invalid_argument);
  EXPECT_NO_THROW((void)tls({.host = "example.com"}));
}

TEST(tls_options, traits) {
  const auto t = tls({.host = "h"})->traits();
  EXPECT_EQ(t.type, "tls");
  EXPECT_EQ(t.measurement, "certificate");
  EXPECT_TRUE(t.dependency);
}

}  // namespace
}  // namespace vitals::checks
