#include "vitals/checks/event_loop.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace vitals::checks {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::steady_clock;

std::string human(nanoseconds d) {
  const double ms = std::chrono::duration<double, std::milli>(d).count();
  char buf[32];
  if (ms < 1000.0) {
    std::snprintf(buf, sizeof buf, "%.0fms", ms);
  } else {
    std::snprintf(buf, sizeof buf, "%.1fs", ms / 1000.0);
  }
  return buf;
}

/// Outlives the run: the loop may run the task long after the check gave up on it.
struct posted_task {
  std::mutex mutex;
  std::condition_variable cv;
  bool ran = false;
  vitals::clock::steady_time ran_at{};
};

class event_loop_check final : public vitals::check {
 public:
  explicit event_loop_check(event_loop_options options)
      : options_(std::move(options)),
        clock_(options_.clock ? options_.clock : vitals::real_clock()) {}

  vitals::result run(const vitals::context& ctx) override {
    return options_.post ? run_posted(ctx) : run_wakeup(ctx);
  }

  [[nodiscard]] vitals::check_traits traits() const override {
    return {.type = "event_loop",
            .component_type = "component",
            .measurement = "lag",
            .dependency = false,
            .secrets = {}};
  }

 private:
  vitals::result judge(nanoseconds lag, const char* what) const {
    if (lag < nanoseconds{0}) {
      lag = nanoseconds{0};
    }
    const std::string text = std::string(what) + " " + human(lag);
    vitals::result r = options_.fail_lag.count() > 0 && lag >= options_.fail_lag
                           ? vitals::fail(text + ", limit " + human(options_.fail_lag))
                       : options_.warn_lag.count() > 0 && lag >= options_.warn_lag
                           ? vitals::warn(text + ", limit " + human(options_.warn_lag))
                           : vitals::pass();
    const double ms = std::chrono::duration<double, std::milli>(lag).count();
    return std::move(r).observe(std::round(ms * 1000.0) / 1000.0, "ms");
  }

  vitals::result run_wakeup(const vitals::context& ctx) {
    const auto real_left = ctx.deadline() - steady_clock::now();
    const nanoseconds nap = std::min<nanoseconds>(options_.wakeup, real_left);
    if (nap <= nanoseconds{0}) {
      return vitals::fail("deadline passed before the wakeup", vitals::failure_kind::timeout);
    }
    const auto t0 = clock_->now();
    std::this_thread::sleep_for(nap);
    const auto late = clock_->now() - t0 - nap;
    return judge(late, "wakeup late by");
  }

  vitals::result run_posted(const vitals::context& ctx) {
    auto task = std::make_shared<posted_task>();
    const auto t0 = clock_->now();
    try {
      options_.post([task, clock = clock_] {
        const auto t = clock->now();
        const std::lock_guard lock(task->mutex);
        task->ran_at = t;
        task->ran = true;
        task->cv.notify_all();
      });
    } catch (const std::exception& e) {
      return vitals::fail(std::string("cannot post to the event loop: ") + e.what(),
                          vitals::failure_kind::internal);
    }

    // Past fail_lag the answer is known; waiting on until the deadline would tell nothing more.
    auto give_up = ctx.deadline();
    const bool by_limit =
        options_.fail_lag.count() > 0 && steady_clock::now() + options_.fail_lag < give_up;
    if (by_limit) {
      give_up = steady_clock::now() + options_.fail_lag;
    }
    std::unique_lock lock(task->mutex);
    while (!task->ran && steady_clock::now() < give_up && !ctx.cancelled()) {
      // Sliced so that cancellation is noticed.
      task->cv.wait_until(lock, std::min(give_up, steady_clock::now() + milliseconds{100}));
    }
    if (task->ran) {
      return judge(task->ran_at - t0, "event loop lag");
    }
    lock.unlock();
    const auto waited = clock_->now() - t0;
    if (by_limit && !ctx.cancelled()) {
      auto r = judge(std::max<nanoseconds>(waited, options_.fail_lag), "event loop lag at least");
      r.output = "event loop has not run a task posted " + human(waited) + " ago, limit " +
                 human(options_.fail_lag);
      return r;
    }
    return vitals::fail("event loop has not run a task posted " + human(waited) + " ago",
                        vitals::failure_kind::timeout);
  }

  event_loop_options options_;
  std::shared_ptr<vitals::clock> clock_;
};

}  // namespace

std::shared_ptr<vitals::check> event_loop(event_loop_options options) {
  if (options.warn_lag.count() < 0 || options.fail_lag.count() < 0 || options.wakeup.count() < 0) {
    throw std::invalid_argument("event_loop: durations must not be negative");
  }
  if (options.fail_lag.count() > 0 && options.warn_lag.count() > 0 &&
      options.fail_lag < options.warn_lag) {
    throw std::invalid_argument("event_loop: fail_lag must not be shorter than warn_lag");
  }
  if (!options.post && options.wakeup.count() == 0) {
    throw std::invalid_argument("event_loop: wakeup must be positive when no post is given");
  }
  return std::make_shared<event_loop_check>(std::move(options));
}

}  // namespace vitals::checks
