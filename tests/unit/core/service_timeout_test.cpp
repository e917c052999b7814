// Timeouts, hung checks, async checks and the bounded pool. Blocking checks are real threads held
// by a gate that the test opens at the end; the manual clock drives every deadline.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "test_support.hpp"
#include "vitals/service.hpp"
#include "vitals/testing/manual_clock.hpp"

namespace vitals {
namespace {

using namespace std::chrono_literals;
using test::gate;
using test::recorder;
using test::thread_count;
using test::wait_runs;
using test::wait_until;
using testing::manual_clock;

struct Timeouts : ::testing::Test {
  std::shared_ptr<manual_clock> clk = std::make_shared<manual_clock>();
  std::shared_ptr<gate> g = std::make_shared<gate>();
  recorder events;
  service_options opts() { return {.clock = clk, .on_event = events.sink(), .seed = 1}; }
  // Whatever happens in a test, never leave a check thread blocked.
  void TearDown() override { g->open(); }
};

TEST_F(Timeouts, DeadlineGivesFailTimeoutAndLateResultIsDiscarded) {
  std::atomic<bool> saw_cancel{false};
  std::atomic<int> calls{0};
  registry reg;
  reg.add("db",
          [g = g, &saw_cancel, &calls](const context& ctx) {
            if (++calls == 1) {
              g->enter_and_wait();
              saw_cancel = ctx.cancelled();
            }
            return pass();  // late: must not be adopted
          },
          {.interval = 10s, .timeout = 2s, .jitter = 0});
  service svc{std::move(reg), opts()};
  (void)svc.poll();
  ASSERT_TRUE(g->wait_entered(1));
  clk->advance(2s - 1ns);
  (void)svc.poll();
  auto c = *svc.current()->find("db");
  EXPECT_EQ(c.reported.status, status::unknown);
  EXPECT_TRUE(c.in_flight);
  clk->advance(1ns);
  (void)svc.poll();
  c = *svc.current()->find("db");
  EXPECT_EQ(c.reported.status, status::fail);
  EXPECT_EQ(c.reported.kind, failure_kind::timeout);
  EXPECT_EQ(c.reported.output, "timed out after 2s");
  EXPECT_EQ(c.reported.duration, 2s);
  EXPECT_EQ(c.timeouts, 1U);
  EXPECT_EQ(c.runs, 1U);
  EXPECT_TRUE(c.in_flight) << "the thread is still busy";
  ASSERT_TRUE(events.wait_count(event::type::timeout, "db", 1));

  g->open();  // the check answers pass, too late
  ASSERT_TRUE(wait_until(svc, [](const snapshot& s) { return !s.find("db")->in_flight; }));
  ASSERT_TRUE(events.wait_count(event::type::late_result, "db", 1));
  EXPECT_TRUE(saw_cancel.load()) << "the runner cancels the context at the deadline";
  c = *svc.current()->find("db");
  EXPECT_EQ(c.reported.status, status::fail);
  EXPECT_EQ(c.reported.kind, failure_kind::timeout);
  EXPECT_EQ(c.runs, 1U);
  EXPECT_EQ(calls.load(), 1);

  // Next run on schedule (interval counted from the timeout) and it recovers.
  clk->advance(10s - 1ns);
  (void)svc.poll();
  EXPECT_EQ(calls.load(), 1);
  clk->advance(1ns);
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "db", 2));
  EXPECT_EQ(svc.current()->find("db")->reported.status, status::pass);
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(Timeouts, TimeoutCountsAsAFailureForThresholds) {
  std::atomic<int> calls{0};
  registry reg;
  reg.add("db",
          [g = g, &calls](const context&) {
            if (++calls == 2) g->enter_and_wait();
            return pass();
          },
          {.interval = 1s, .timeout = 100ms, .jitter = 0, .failure_threshold = 2});
  service svc{std::move(reg), opts()};
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "db", 1));
  clk->advance(1s);
  (void)svc.poll();
  ASSERT_TRUE(g->wait_entered(1));
  clk->advance(100ms);
  (void)svc.poll();
  auto c = *svc.current()->find("db");
  EXPECT_EQ(c.reported.status, status::pass) << "one failure, threshold 2";
  EXPECT_EQ(c.last_run.kind, failure_kind::timeout);
  EXPECT_EQ(c.consecutive_failures, 1U);
  clk->advance(1s);  // still hung at the next interval: a second failure
  (void)svc.poll();
  c = *svc.current()->find("db");
  EXPECT_EQ(c.reported.status, status::fail);
  EXPECT_EQ(c.reported.kind, failure_kind::timeout);
  EXPECT_EQ(c.consecutive_failures, 2U);
}

TEST_F(Timeouts, HungCheckKeepsFailingWithoutSecondRunOrThreadGrowth) {
  std::atomic<int> calls{0};
  std::atomic<int> other_calls{0};
  registry reg;
  reg.add("hung",
          [g = g, &calls](const context&) {
            ++calls;
            g->enter_and_wait();  // ignores cancellation entirely
            return pass();
          },
          {.interval = 1s, .timeout = 500ms, .jitter = 0.2});
  reg.add("fine",
          [&other_calls](const context&) {
            ++other_calls;
            return pass();
          },
          {.interval = 1s, .timeout = 500ms, .jitter = 0});
  service svc{std::move(reg), opts()};
  (void)svc.poll();
  ASSERT_TRUE(g->wait_entered(1));
  ASSERT_TRUE(wait_runs(svc, "fine", 1));
  const std::size_t threads_before = thread_count();
  for (int i = 1; i <= 100; ++i) {
    clk->advance(1s);
    (void)svc.poll();
    ASSERT_TRUE(wait_runs(svc, "fine", static_cast<std::uint64_t>(i) + 1));
    const auto snap = svc.current();
    const auto* c = snap->find("hung");
    ASSERT_EQ(c->reported.status, status::fail) << "interval " << i;
    ASSERT_EQ(c->reported.kind, failure_kind::timeout);
    ASSERT_TRUE(c->in_flight);
    ASSERT_EQ(calls.load(), 1) << "no second concurrent run";
    ASSERT_LE(thread_count(), threads_before) << "interval " << i;
  }
  const auto* c = svc.current()->find("hung");
  EXPECT_NE(c->reported.output.find("timed out after 500ms; still running"), std::string::npos)
      << c->reported.output;
  EXPECT_EQ(c->timeouts, 1U) << "one run, one timeout";
  EXPECT_EQ(c->runs, 1U);
  EXPECT_GE(c->consecutive_failures, 50U);
  EXPECT_EQ(events.count(event::type::timeout, "hung"), 1U);

  // stop() does not wait for the hung thread.
  const auto t0 = std::chrono::steady_clock::now();
  svc.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(calls.load(), 1);
  // The abandoned thread wakes up after the engine is stopped: its result goes nowhere.
  g->open();
}

TEST_F(Timeouts, DestroyingTheServiceWithAHungCheckIsSafe) {
  auto woke = std::make_shared<std::promise<void>>();
  auto woke_future = woke->get_future();
  {
    registry reg;
    reg.add("hung",
            [g = g, woke](const context&) {
              g->enter_and_wait();
              woke->set_value();
              return fail("after the end, password=zz");
            },
            {.interval = 1s, .timeout = 500ms});
    service svc{std::move(reg), opts()};
    (void)svc.poll();
    ASSERT_TRUE(g->wait_entered(1));
  }  // ~service: stop() + abandon the stuck worker
  g->open();
  // The worker finishes against engine state it co-owns (shared/weak pointers); the sanitizer
  // builds turn any use-after-free here into a failure.
  ASSERT_EQ(woke_future.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(events.count(event::type::late_result), 0U) << "nothing is told after stop()";
}

TEST_F(Timeouts, OnDemandHungCheckRefreshesOnRequest) {
  std::atomic<int> calls{0};
  registry reg;
  reg.add("od",
          [g = g, &calls](const context&) {
            ++calls;
            g->enter_and_wait();
            return pass();
          },
          {.mode = schedule::on_demand, .interval = 10s, .timeout = 1s, .ttl_fail = 2s});
  service svc{std::move(reg), opts()};
  svc.request(ready);
  (void)svc.poll();
  ASSERT_TRUE(g->wait_entered(1));
  clk->advance(1s);
  (void)svc.poll();
  EXPECT_EQ(svc.current()->find("od")->reported.kind, failure_kind::timeout);
  for (int i = 0; i < 5; ++i) {
    clk->advance(2s);
    svc.request(ready);
    (void)svc.poll();
    const auto* c = svc.current()->find("od");
    EXPECT_NE(c->reported.output.find("still running"), std::string::npos);
    EXPECT_EQ(c->reported.status, status::fail);
  }
  EXPECT_EQ(calls.load(), 1);
  // The stale horizon keeps moving while the hang is reported.
  EXPECT_NE(svc.current()->find("od")->reported.kind, failure_kind::stale);
}

TEST_F(Timeouts, BoundedPoolQueuesAndCancelsRunsThatMissTheirDeadline) {
  std::atomic<int> b_calls{0};
  registry reg;
  reg.add("a",
          [g = g](const context&) {
            g->enter_and_wait();
            return pass();
          },
          {.interval = 10s, .timeout = 1s});
  reg.add("b",
          [&b_calls](const context&) {
            ++b_calls;
            return pass();
          },
          {.interval = 10s, .timeout = 1s});
  // Sanitizer runtimes start a helper thread with the first thread created: do that first.
  std::thread([] {}).join();
  const std::size_t threads_before = thread_count();
  service svc{std::move(reg), {.max_threads = 1, .clock = clk, .on_event = events.sink()}};
  (void)svc.poll();
  ASSERT_TRUE(g->wait_entered(1));
  EXPECT_LE(thread_count(), threads_before + 1) << "one pool thread, no scheduler (no start())";
  clk->advance(1s);
  (void)svc.poll();
  const auto snap = svc.current();
  EXPECT_EQ(snap->find("a")->reported.kind, failure_kind::timeout);
  EXPECT_EQ(snap->find("b")->reported.kind, failure_kind::timeout);
  g->open();
  ASSERT_TRUE(wait_until(
      svc, [](const snapshot& s) { return !s.find("a")->in_flight && !s.find("b")->in_flight; }));
  EXPECT_EQ(b_calls.load(), 0) << "a queued run past its deadline is not started";
  EXPECT_TRUE(events.wait_count(event::type::late_result, "b", 1));
  EXPECT_LE(thread_count(), threads_before + 1);
}

// An async check completing from its own thread, as Asio-based checks do.
class thread_async final : public async_check {
 public:
  enum class mode { answer, never, twice, throws };
  explicit thread_async(mode m) : mode_(m) {}
  void start(std::shared_ptr<const context> ctx, completion done) override {
    ++starts;
    scheduler_thread = std::this_thread::get_id();
    if (mode_ == mode::throws) throw std::runtime_error("start failed token=abc");
    if (mode_ == mode::never) {
      held_ = std::move(done);  // keeps it, answers later (or never)
      return;
    }
    std::thread([ctx, done, m = mode_] {
      done(warn("slow").observe(5, "ms"));
      if (m == mode::twice) done(fail("second call"));
    }).detach();
  }
  void answer_late() {
    if (held_) held_(pass());
  }
  std::atomic<int> starts{0};
  std::thread::id scheduler_thread{};

 private:
  mode mode_;
  completion held_{};
};

TEST_F(Timeouts, AsyncCheckCompletesFromAnyThreadExactlyOnce) {
  auto a = std::make_shared<thread_async>(thread_async::mode::answer);
  auto t = std::make_shared<thread_async>(thread_async::mode::twice);
  registry reg;
  reg.add("a", a);
  reg.add("t", t);
  service svc{std::move(reg), opts()};
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "a", 1));
  ASSERT_TRUE(wait_runs(svc, "t", 1));
  EXPECT_EQ(a->scheduler_thread, std::this_thread::get_id()) << "start() runs from poll()";
  const auto snap = svc.current();
  EXPECT_EQ(snap->find("a")->reported.status, status::warn);
  EXPECT_EQ(snap->find("t")->reported.status, status::warn) << "second done() ignored";
  EXPECT_EQ(snap->find("t")->runs, 1U);
}

TEST_F(Timeouts, AsyncCheckDeadlineIsEnforcedAndStartExceptionsAreResults) {
  auto n = std::make_shared<thread_async>(thread_async::mode::never);
  auto x = std::make_shared<thread_async>(thread_async::mode::throws);
  registry reg;
  reg.add("never", n, {.interval = 10s, .timeout = 1s});
  reg.add("throws", x, {.interval = 10s, .timeout = 1s});
  service svc{std::move(reg), opts()};
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "throws", 1));
  EXPECT_EQ(svc.current()->find("throws")->reported.kind, failure_kind::internal);
  EXPECT_EQ(svc.current()->find("throws")->reported.output, "start failed token=***");
  clk->advance(1s);
  (void)svc.poll();
  EXPECT_EQ(svc.current()->find("never")->reported.kind, failure_kind::timeout);
  // Still in flight: later polls do not start it again.
  clk->advance(10s);
  (void)svc.poll();
  EXPECT_EQ(n->starts.load(), 1);
  n->answer_late();
  ASSERT_TRUE(events.wait_count(event::type::late_result, "never", 1));
  EXPECT_EQ(svc.current()->find("never")->reported.kind, failure_kind::timeout);
  EXPECT_FALSE(svc.current()->find("never")->in_flight);
}

TEST_F(Timeouts, AsyncCheckRunWaitsForCompletionOrCancellation) {
  thread_async a{thread_async::mode::answer};
  const context ctx{"a", clk->now() + 1s, std::make_shared<std::atomic<bool>>(false)};
  EXPECT_EQ(a.run(ctx).status, status::warn);
  thread_async n{thread_async::mode::never};
  auto cancelled = std::make_shared<std::atomic<bool>>(true);
  const context c2{"n", clk->now() + 1s, cancelled};
  const result r = n.run(c2);
  EXPECT_EQ(r.kind, failure_kind::timeout);
}

}  // namespace
}  // namespace vitals
