#pragma once

#include <chrono>
#include <memory>

namespace vitals {

/// The engine's source of time. Production code uses `system_clock_source()`; tests inject a
/// `vitals::testing::manual_clock` and step time by hand instead of sleeping.
class clock {
 public:
  using steady_time = std::chrono::steady_clock::time_point;
  using wall_time = std::chrono::system_clock::time_point;

  virtual ~clock() = default;
  [[nodiscard]] virtual steady_time now() const = 0;
  [[nodiscard]] virtual wall_time wall_now() const = 0;
};

/// The real clocks (std::chrono::steady_clock and system_clock).
[[nodiscard]] std::shared_ptr<clock> real_clock();

}  // namespace vitals
