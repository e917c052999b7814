#pragma once
// Private: one rollup bucket in memory and its compact encoding (docs/history.md, "Encoding").

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "vitals/history.hpp"

namespace vitals::history_detail {

inline constexpr std::size_t latency_slots = history_latency_bounds_ms.size() + 1;

/// The runs of one target in one period: count, failures, latency min/sum/max (microseconds)
/// and a histogram over history_latency_bounds_ms (+ an unbounded slot).
struct bucket {
  std::uint32_t count = 0;
  std::uint32_t failures = 0;
  std::uint32_t min_us = 0;
  std::uint32_t max_us = 0;
  std::uint64_t sum_us = 0;
  std::array<std::uint32_t, latency_slots> slots{};

  void add(std::uint64_t latency_us, bool failed) noexcept;
  void merge(const bucket& other) noexcept;
  /// The public form, starting at `start` (seconds since the epoch), `width` seconds wide.
  [[nodiscard]] history_bucket view(std::int64_t start, std::int64_t width) const;
  friend bool operator==(const bucket&, const bucket&) = default;
};

/// The slot of a latency.
[[nodiscard]] std::size_t slot_of(std::uint64_t latency_us) noexcept;

/// The latency (ms) under which a fraction `q` of the bucket's runs fall, interpolated inside
/// its histogram slot and clamped to [min, max].
[[nodiscard]] double quantile_ms(const bucket& b, double q) noexcept;

/// Appends the buckets as varints: first each bucket's count and (when not 0) its failures,
/// then for each non-empty bucket min, max - min, sum, a bit mask of the non-empty slots and
/// their counts. An empty bucket is one byte.
void encode(std::span<const bucket> buckets, std::string& out);
/// Reads what encode() wrote into `out` (same size); false on malformed bytes (then `out`
/// is left partly filled: callers treat the row as empty).
[[nodiscard]] bool decode(std::string_view bytes, std::span<bucket> out) noexcept;
/// Reads only the counts and failures (the front of what encode() wrote): what uptime needs.
[[nodiscard]] bool decode_totals(std::string_view bytes, std::span<bucket> out) noexcept;

}  // namespace vitals::history_detail
