#pragma once

#include <atomic>
#include <chrono>

#include "vitals/clock.hpp"

namespace vitals::testing {

/// A clock that only moves when told to. Thread-safe.
///
///     auto clk = std::make_shared<vitals::testing::manual_clock>();
///     vitals::service svc{std::move(reg), {.clock = clk}};
///     clk->advance(5s); svc.poll();
class manual_clock final : public vitals::clock {
 public:
  manual_clock() = default;
  [[nodiscard]] steady_time now() const override {
    return steady_time{std::chrono::nanoseconds{ns_.load(std::memory_order_acquire)}};
  }
  [[nodiscard]] wall_time wall_now() const override {
    return wall_time{std::chrono::duration_cast<wall_time::duration>(
        std::chrono::nanoseconds{wall_base_ + ns_.load(std::memory_order_acquire)})};
  }
  void advance(std::chrono::nanoseconds d) { ns_.fetch_add(d.count(), std::memory_order_acq_rel); }

 private:
  // Starts at a non-zero point so that "time zero" is never mistaken for "not set".
  std::atomic<std::int64_t> ns_{std::chrono::nanoseconds{std::chrono::hours{1}}.count()};
  std::int64_t wall_base_ = std::chrono::nanoseconds{std::chrono::seconds{1'767'225'600}}.count();
};

}  // namespace vitals::testing
