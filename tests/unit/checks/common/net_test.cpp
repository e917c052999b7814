#include <gtest/gtest.h>
#include <netdb.h>

#include <cerrno>
#include <chrono>

#include "common/net.hpp"

namespace vitals::checks::detail {
namespace {

using namespace std::chrono_literals;

TEST(net, errno_classification) {
  EXPECT_EQ(kind_from_errno(ECONNREFUSED), failure_kind::refused);
  EXPECT_EQ(kind_from_errno(ECONNRESET), failure_kind::refused);
  EXPECT_EQ(kind_from_errno(EHOSTUNREACH), failure_kind::refused);
  EXPECT_EQ(kind_from_errno(ETIMEDOUT), failure_kind::timeout);
  EXPECT_EQ(kind_from_errno(EMFILE), failure_kind::internal);
  EXPECT_EQ(errno_text(ECONNREFUSED), "connection refused");
}

TEST(net, gai_classification) {
  EXPECT_EQ(kind_from_gai(EAI_NONAME), failure_kind::dns);
  EXPECT_EQ(kind_from_gai(EAI_AGAIN), failure_kind::dns);
  EXPECT_EQ(kind_from_gai(EAI_FAIL), failure_kind::dns);
  EXPECT_EQ(kind_from_gai(EAI_MEMORY), failure_kind::internal);
  EXPECT_EQ(kind_from_gai(EAI_SYSTEM), failure_kind::internal);
}

TEST(net, duration_format) {
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(2s), "2s");
  EXPECT_EQ(format_duration(2001ms), "2s");
  EXPECT_EQ(format_duration(1500ms), "1.5s");
  EXPECT_EQ(format_duration(5min), "5m");
  EXPECT_EQ(format_duration(0ns), "0ms");
}

TEST(net, numeric_addresses) {
  auto v4 = numeric_address("127.0.0.1", 80);
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->text(), "127.0.0.1");
  EXPECT_EQ(v4->port(), 80);
  auto v6 = numeric_address("[::1]", 443);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->text(), "::1");
  EXPECT_EQ(v6->port(), 443);
  EXPECT_FALSE(numeric_address("localhost", 1));
  EXPECT_FALSE(numeric_address("999.1.1.1", 1));
}

TEST(net, remaining_never_negative) {
  EXPECT_EQ(remaining(std::chrono::steady_clock::now() - 1s).count(), 0);
  EXPECT_GE(remaining(std::chrono::steady_clock::now() + 1s).count(), 990);
}

TEST(net, scrubbed_removes_secrets_from_output_and_details) {
  vitals::redactor r;
  r.add_secret("hunter2");
  auto res = scrubbed(vitals::fail("auth failed for hunter2").detail("conn", "pw=hunter2"), r);
  EXPECT_EQ(res.output.find("hunter2"), std::string::npos);
  EXPECT_EQ(res.details.at(0).second.find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace vitals::checks::detail
