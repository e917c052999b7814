#pragma once
// Private: start lag of runs over a sliding window (two rotating halves), in power-of-two
// microsecond buckets: O(1) to record, O(buckets) to read.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>

namespace vitals::detail {

class lag_histogram {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  static constexpr std::chrono::seconds half_window{10};

  void record(std::chrono::nanoseconds lag, time_point now) noexcept {
    rotate(now);
    const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::microseconds>(lag).count()));
    std::size_t b = 0;
    while (b + 1 < buckets && (std::uint64_t{1} << b) <= us) ++b;
    ++current_.counts[b];
    current_.max = std::max(current_.max, lag);
  }
  /// Upper bound of the bucket holding quantile `q` (0..1) over both halves.
  [[nodiscard]] std::chrono::nanoseconds quantile(double q, time_point now) noexcept {
    rotate(now);
    std::uint64_t total = 0;
    for (std::size_t b = 0; b < buckets; ++b) total += current_.counts[b] + previous_.counts[b];
    if (total == 0) return std::chrono::nanoseconds{0};
    const auto want = static_cast<std::uint64_t>(q * static_cast<double>(total - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < buckets; ++b) {
      seen += current_.counts[b] + previous_.counts[b];
      if (seen >= want) {
        const auto bound = std::chrono::microseconds{std::uint64_t{1} << b};
        return std::min<std::chrono::nanoseconds>(bound, max(now));
      }
    }
    return max(now);
  }
  [[nodiscard]] std::chrono::nanoseconds max(time_point now) noexcept {
    rotate(now);
    return std::max(current_.max, previous_.max);
  }

 private:
  static constexpr std::size_t buckets = 40;
  struct half {
    std::array<std::uint64_t, buckets> counts{};
    std::chrono::nanoseconds max{0};
  };
  void rotate(time_point now) noexcept {
    if (started_ == time_point{}) started_ = now;
    if (now - started_ < half_window) return;
    previous_ = now - started_ < 2 * half_window ? current_ : half{};
    current_ = half{};
    started_ = now;
  }
  half current_{};
  half previous_{};
  time_point started_{};
};

}  // namespace vitals::detail
