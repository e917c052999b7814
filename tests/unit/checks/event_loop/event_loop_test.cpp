#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "vitals/checks/event_loop.hpp"
#include "vitals/testing/manual_clock.hpp"

namespace {

using namespace std::chrono_literals;
using testing::HasSubstr;
using task = std::function<void()>;

vitals::context make_ctx(std::chrono::milliseconds budget = 2s,
                         std::shared_ptr<std::atomic<bool>> cancelled = nullptr) {
  return vitals::context{"loop", std::chrono::steady_clock::now() + budget, std::move(cancelled)};
}

double lag_ms(const vitals::result& r) { return std::get<double>(r.observed->value); }

/// A loop whose handlers "take" a given time on the manual clock before the posted task runs.
struct stalled_loop {
  std::shared_ptr<vitals::testing::manual_clock> clock =
      std::make_shared<vitals::testing::manual_clock>();
  std::chrono::milliseconds stall{0};
  std::shared_ptr<vitals::check> check(std::chrono::milliseconds warn = 100ms,
                                       std::chrono::milliseconds fail = 1s) {
    return vitals::checks::event_loop({.post =
                                           [this](task t) {
                                             clock->advance(stall);
                                             t();
                                           },
                                       .warn_lag = warn,
                                       .fail_lag = fail,
                                       .clock = clock});
  }
};

TEST(event_loop_check, responsive_loop_passes) {
  stalled_loop loop;
  loop.stall = 3ms;
  auto r = loop.check()->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::pass);
  EXPECT_DOUBLE_EQ(lag_ms(r), 3.0);
  EXPECT_EQ(r.observed->unit, "ms");
}

TEST(event_loop_check, slow_loop_warns_then_fails) {
  stalled_loop loop;
  loop.stall = 150ms;
  auto w = loop.check()->run(make_ctx());
  EXPECT_EQ(w.status, vitals::status::warn);
  EXPECT_EQ(w.output, "event loop lag 150ms, limit 100ms");
  loop.stall = 1500ms;
  auto f = loop.check()->run(make_ctx());
  EXPECT_EQ(f.status, vitals::status::fail);
  EXPECT_EQ(f.kind, vitals::failure_kind::assertion);
  EXPECT_EQ(f.output, "event loop lag 1.5s, limit 1.0s");
  EXPECT_DOUBLE_EQ(lag_ms(f), 1500.0);
}

TEST(event_loop_check, limits_are_inclusive) {
  stalled_loop loop;
  loop.stall = 99ms;
  EXPECT_EQ(loop.check()->run(make_ctx()).status, vitals::status::pass);
  loop.stall = 100ms;
  EXPECT_EQ(loop.check()->run(make_ctx()).status, vitals::status::warn);
  loop.stall = 1s;
  EXPECT_EQ(loop.check()->run(make_ctx()).status, vitals::status::fail);
}

TEST(event_loop_check, zero_limits_are_off) {
  stalled_loop loop;
  loop.stall = 1h;
  EXPECT_EQ(loop.check(0ms, 0ms)->run(make_ctx()).status, vitals::status::pass);
}

TEST(event_loop_check, blocked_loop_fails_at_fail_lag_and_a_late_task_is_harmless) {
  std::vector<task> parked;
  auto check =
      vitals::checks::event_loop({.post = [&parked](task t) { parked.push_back(std::move(t)); },
                                  .warn_lag = 10ms,
                                  .fail_lag = 20ms});
  const auto start = std::chrono::steady_clock::now();
  auto r = check->run(make_ctx(5s));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::assertion);
  EXPECT_THAT(r.output, HasSubstr("event loop has not run a task posted "));
  EXPECT_THAT(r.output, HasSubstr(" ago, limit 20ms"));
  EXPECT_GE(lag_ms(r), 20.0);
  EXPECT_LT(took, 2s);  // gave up at fail_lag, not at the 5 s deadline
  check.reset();
  ASSERT_EQ(parked.size(), 1U);
  parked.front()();  // the loop wakes up after the check is gone
}

TEST(event_loop_check, without_fail_lag_the_deadline_is_a_timeout) {
  std::vector<task> parked;
  auto check = vitals::checks::event_loop(
      {.post = [&parked](task t) { parked.push_back(std::move(t)); }, .fail_lag = 0ms});
  auto r = check->run(make_ctx(30ms));
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::timeout);
  EXPECT_THAT(r.output, HasSubstr("event loop has not run a task posted "));
}

TEST(event_loop_check, cancellation_is_noticed) {
  auto cancelled = std::make_shared<std::atomic<bool>>(true);
  auto check = vitals::checks::event_loop({.post = [](const task&) {}, .fail_lag = 0ms});
  const auto start = std::chrono::steady_clock::now();
  auto r = check->run(make_ctx(10s, cancelled));
  EXPECT_EQ(r.kind, vitals::failure_kind::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(event_loop_check, a_throwing_post_is_internal) {
  auto check = vitals::checks::event_loop(
      {.post = [](const task&) { throw std::runtime_error("io_context stopped"); }});
  auto r = check->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::internal);
  EXPECT_EQ(r.output, "cannot post to the event loop: io_context stopped");
}

TEST(event_loop_check, real_worker_thread_loop) {
  std::mutex m;
  std::condition_variable cv;
  std::deque<task> queue;
  bool stop = false;
  std::thread worker([&] {
    std::unique_lock lock(m);
    for (;;) {
      cv.wait(lock, [&] { return stop || !queue.empty(); });
      if (queue.empty()) {
        return;
      }
      auto t = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      t();
      lock.lock();
    }
  });
  auto check = vitals::checks::event_loop({.post =
                                               [&](task t) {
                                                 const std::lock_guard lock(m);
                                                 queue.push_back(std::move(t));
                                                 cv.notify_one();
                                               },
                                           .warn_lag = 1s,
                                           .fail_lag = 2s});
  for (int i = 0; i < 20; ++i) {
    auto r = check->run(make_ctx(5s));
    EXPECT_EQ(r.status, vitals::status::pass) << r.output;
  }
  {
    const std::lock_guard lock(m);
    stop = true;
  }
  cv.notify_one();
  worker.join();
}

TEST(event_loop_check, timed_wakeup_mode) {
  auto check = vitals::checks::event_loop({.warn_lag = 0ms, .fail_lag = 0ms, .wakeup = 1ms});
  auto r = check->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::pass);
  EXPECT_GE(lag_ms(r), 0.0);
  // A manual clock that never moves sees no lag at all.
  auto frozen = vitals::checks::event_loop(
      {.wakeup = 1ms, .clock = std::make_shared<vitals::testing::manual_clock>()});
  EXPECT_DOUBLE_EQ(lag_ms(frozen->run(make_ctx())), 0.0);
  auto late = vitals::checks::event_loop({.wakeup = 1ms})->run(make_ctx(0ms));
  EXPECT_EQ(late.kind, vitals::failure_kind::timeout);
}

TEST(event_loop_check, traits_and_bad_options) {
  auto t = vitals::checks::event_loop()->traits();
  EXPECT_EQ(t.type, "event_loop");
  EXPECT_EQ(t.measurement, "lag");
  EXPECT_FALSE(t.dependency);
  EXPECT_THROW((void)vitals::checks::event_loop({.warn_lag = -1ms}), std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::event_loop({.warn_lag = 2s, .fail_lag = 1s}),
               std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::event_loop({.wakeup = 0ms}), std::invalid_argument);
}

}  // namespace
