// service_options::seed_states: a new engine starts from a previous check_state as it was — no
// run, no re-counted threshold — driven by a manual clock (no sleeps).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <vector>

#include "test_support.hpp"
#include "vitals/service.hpp"
#include "vitals/testing/manual_clock.hpp"

namespace vitals {
namespace {

using namespace std::chrono_literals;
using test::wait_runs;
using testing::manual_clock;

constexpr check_options options{
    .interval = 1s, .timeout = 100ms, .jitter = 0, .failure_threshold = 3};

// Passes once, then fails; counts its calls.
struct pass_then_fail {
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  std::function<result(const context&)> fn() const {
    return [c = calls](const context&) { return c->fetch_add(1) == 0 ? pass() : fail("down"); };
  }
};

struct seed_fixture : ::testing::Test {
  std::shared_ptr<manual_clock> clk = std::make_shared<manual_clock>();
  service_options opts(std::vector<std::shared_ptr<const check_state>> seeds = {}) {
    return {
        .clock = clk, .on_event = [](const event&) {}, .seed = 7, .seed_states = std::move(seeds)};
  }
  // Runs the next background run of `name` (advancing the clock to it) and waits for it.
  static void run_next(service& svc, manual_clock& c, const char* name) {
    const auto before = svc.current()->find(name)->runs;
    auto due = svc.poll();
    if (!svc.current()->find(name)->in_flight) {
      if (due > c.now()) c.advance(due - c.now());
      (void)svc.poll();
    }
    ASSERT_TRUE(wait_runs(svc, name, before + 1));
  }
};

// The old engine: one pass, then two failures (below failure_threshold 3: still reported pass).
std::shared_ptr<const check_state> previous_state(seed_fixture& f, const pass_then_fail& p) {
  registry reg;
  reg.add("db", p.fn(), options);
  service old{std::move(reg), f.opts()};
  for (int i = 0; i < 3; ++i) seed_fixture::run_next(old, *f.clk, "db");
  auto snap = old.current();
  old.stop();
  return snap->checks.shared(0);
}

TEST_F(seed_fixture, seeded_check_starts_from_the_previous_state_as_is) {
  pass_then_fail p;
  const auto before = previous_state(*this, p);
  ASSERT_EQ(before->runs, 3U);
  ASSERT_EQ(before->consecutive_failures, 2U);
  ASSERT_EQ(before->reported.status, status::pass);

  registry reg;
  reg.add("db", p.fn(), options);
  service next{std::move(reg), opts({before})};
  // Nothing ran to install it: the state is the previous one, field by field.
  (void)next.poll();
  const auto snap = next.current();
  const auto* c = snap->find("db");
  EXPECT_FALSE(c->in_flight);
  EXPECT_EQ(c->runs, before->runs);
  EXPECT_EQ(c->timeouts, before->timeouts);
  EXPECT_EQ(c->transitions, before->transitions);
  EXPECT_EQ(c->consecutive_failures, before->consecutive_failures);
  EXPECT_EQ(c->consecutive_successes, before->consecutive_successes);
  EXPECT_EQ(c->reported.status, before->reported.status);
  EXPECT_EQ(c->reported.time, before->reported.time);
  EXPECT_EQ(c->last_run.output, "down");
  EXPECT_EQ(c->stale_at, before->stale_at);
  EXPECT_EQ(snap->probe_status(probe::ready), status::pass);
  EXPECT_EQ(p.calls->load(), 3);

  // The threshold goes on from the seeded count: the third consecutive failure turns it fail
  // (a replayed result would have reset the count and needed three more).
  run_next(next, *clk, "db");
  c = next.current()->find("db");
  EXPECT_EQ(c->runs, 4U);
  EXPECT_EQ(c->consecutive_failures, 3U);
  EXPECT_EQ(c->reported.status, status::fail);
  EXPECT_EQ(c->transitions, before->transitions + 1);
}

TEST_F(seed_fixture, first_run_of_a_seeded_check_is_one_interval_after_its_result) {
  pass_then_fail p;
  const auto before = previous_state(*this, p);
  const auto result_at = before->stale_at - (2 * options.interval + options.timeout);
  clk->advance(300ms);  // the reload happens a while after the last result
  registry reg;
  reg.add("db", p.fn(), options);
  service next{std::move(reg), opts({before})};
  const auto due = next.poll();
  EXPECT_EQ(next.current()->find("db")->runs, 3U);
  EXPECT_EQ(due, result_at + options.interval);
}

TEST_F(seed_fixture, unseeded_and_unknown_seeds_start_fresh) {
  pass_then_fail p;
  const auto before = previous_state(*this, p);
  auto never_ran = std::make_shared<check_state>();
  never_ran->name = "fresh";
  registry reg;
  reg.add("other", p.fn(), options);  // `before` names "db": not registered here
  reg.add("fresh", p.fn(), options);
  service next{std::move(reg), opts({before, never_ran})};
  for (const auto* name : {"other", "fresh"}) {
    const auto* c = next.current()->find(name);
    EXPECT_EQ(c->reported.status, status::unknown) << name;
    EXPECT_EQ(c->runs, 0U) << name;
  }
}

}  // namespace
}  // namespace vitals
