#include <gtest/gtest.h>

#include <cstddef>
#include <string>

#include "vitals/result.hpp"
#include "vitals/status.hpp"

namespace vitals {
namespace {

TEST(Status, NamesAreStable) {
  EXPECT_EQ(to_string(status::pass), "pass");
  EXPECT_EQ(to_string(status::warn), "warn");
  EXPECT_EQ(to_string(status::fail), "fail");
  EXPECT_EQ(to_string(status::unknown), "unknown");
  EXPECT_EQ(to_string(failure_kind::none), "none");
  EXPECT_EQ(to_string(failure_kind::timeout), "timeout");
  EXPECT_EQ(to_string(failure_kind::refused), "refused");
  EXPECT_EQ(to_string(failure_kind::dns), "dns");
  EXPECT_EQ(to_string(failure_kind::tls), "tls");
  EXPECT_EQ(to_string(failure_kind::auth), "auth");
  EXPECT_EQ(to_string(failure_kind::protocol), "protocol");
  EXPECT_EQ(to_string(failure_kind::assertion), "assertion");
  EXPECT_EQ(to_string(failure_kind::internal), "internal");
  EXPECT_EQ(to_string(failure_kind::stale), "stale");
  EXPECT_EQ(to_string(probe::live), "live");
  EXPECT_EQ(to_string(probe::ready), "ready");
  EXPECT_EQ(to_string(probe::startup), "startup");
}

TEST(Status, WorstOrdersPassWarnFailUnknown) {
  EXPECT_EQ(worst(status::pass, status::warn), status::warn);
  EXPECT_EQ(worst(status::fail, status::warn), status::fail);
  EXPECT_EQ(worst(status::fail, status::unknown), status::unknown);
  EXPECT_EQ(worst(status::pass, status::pass), status::pass);
  EXPECT_TRUE(is_ok(status::pass));
  EXPECT_TRUE(is_ok(status::warn));
  EXPECT_FALSE(is_ok(status::fail));
  EXPECT_FALSE(is_ok(status::unknown));
}

TEST(Status, ProbeSetCombines) {
  constexpr probe_set s = ready | startup;
  static_assert(s.contains(probe::ready) && s.contains(probe::startup));
  EXPECT_FALSE(s.contains(probe::live));
  EXPECT_TRUE(probe_set{}.empty());
  probe_set t = live;
  t |= ready;
  EXPECT_EQ(t, live | ready);
  EXPECT_NE(t, s);
}

TEST(Result, BuildersSetStatusAndKind) {
  const result p = pass();
  EXPECT_EQ(p.status, status::pass);
  EXPECT_EQ(p.kind, failure_kind::none);
  EXPECT_TRUE(p.output.empty());
  const result w = warn("slow");
  EXPECT_EQ(w.status, status::warn);
  EXPECT_EQ(w.output, "slow");
  const result f = fail("wrong answer");
  EXPECT_EQ(f.status, status::fail);
  EXPECT_EQ(f.kind, failure_kind::assertion);
  const result r = fail("connection refused", failure_kind::refused);
  EXPECT_EQ(r.kind, failure_kind::refused);
  EXPECT_EQ(result{}.status, status::unknown);
}

TEST(Result, ObserveAndDetailChainOnTemporariesAndLvalues) {
  const result a = pass().observe(42, "jobs").detail("queue", "orders");
  ASSERT_TRUE(a.observed.has_value());
  EXPECT_EQ(std::get<std::int64_t>(a.observed->value), 42);
  EXPECT_EQ(a.observed->unit, "jobs");
  ASSERT_EQ(a.details.size(), 1U);
  EXPECT_EQ(a.details[0].first, "queue");
  EXPECT_EQ(a.details[0].second, "orders");

  const result b = warn("lag").observe(12.5, "ms");
  EXPECT_DOUBLE_EQ(std::get<double>(b.observed->value), 12.5);

  const result c = pass().observe(std::string{"primary"});
  EXPECT_EQ(std::get<std::string>(c.observed->value), "primary");

  const std::size_t n = 7;
  const result d = pass().observe(n, "conns");
  EXPECT_EQ(std::get<std::int64_t>(d.observed->value), 7);

  result e = fail("x");
  e.observe(3U).detail("k", "v").with_kind(failure_kind::protocol);
  EXPECT_EQ(e.kind, failure_kind::protocol);
  EXPECT_EQ(std::get<std::int64_t>(e.observed->value), 3);
  EXPECT_EQ(e.details.size(), 1U);

  const result f = fail("late").with_kind(failure_kind::timeout);
  EXPECT_EQ(f.kind, failure_kind::timeout);
}

}  // namespace
}  // namespace vitals
