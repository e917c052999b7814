#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "vitals/status.hpp"

namespace vitals {

/// An observed value, as in the IETF draft's `observedValue` / `observedUnit`.
struct observation {
  std::variant<std::int64_t, double, bool, std::string> value{};
  std::string unit;  ///< e.g. "ms", "bytes", "percent", "jobs"
};

/// The outcome of one run of a check. A value type: checks return it, the engine stores it in
/// immutable snapshots. Failures of a dependency are results, not exceptions.
///
///     return n < 10'000 ? vitals::pass().observe(n, "jobs")
///                       : vitals::warn("backlog").observe(n, "jobs");
struct [[nodiscard]] result {
  vitals::status status = vitals::status::unknown;
  /// Short human text; empty on pass. Redacted before it is stored or shown.
  std::string output{};
  failure_kind kind = failure_kind::none;
  std::optional<observation> observed{};
  /// Structured details (key, value). Keys naming secrets (password, token, ...) are masked.
  std::vector<std::pair<std::string, std::string>> details{};
  /// Filled in by the runner.
  std::chrono::nanoseconds duration{0};
  /// Wall-clock time the run finished; filled in by the runner.
  std::chrono::system_clock::time_point time{};

  result& observe(std::int64_t v, std::string unit = {}) &;
  result& observe(double v, std::string unit = {}) &;
  result& observe(std::string v, std::string unit = {}) &;
  result&& observe(std::int64_t v, std::string unit = {}) &&;
  result&& observe(double v, std::string unit = {}) &&;
  result&& observe(std::string v, std::string unit = {}) &&;
  // Integers of any width go to the int64 overload rather than being ambiguous.
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool> && !std::is_same_v<I, std::int64_t>)
  result&& observe(I v, std::string unit = {}) && {
    return std::move(*this).observe(static_cast<std::int64_t>(v), std::move(unit));
  }
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool> && !std::is_same_v<I, std::int64_t>)
  result& observe(I v, std::string unit = {}) & {
    return observe(static_cast<std::int64_t>(v), std::move(unit));
  }
  result& detail(std::string key, std::string value) &;
  result&& detail(std::string key, std::string value) &&;
  result& with_kind(failure_kind k) &;
  result&& with_kind(failure_kind k) &&;
};

/// A passing result.
[[nodiscard]] result pass();
/// A warning: the probe stays up (HTTP 200 by default) but the check reports a concern.
[[nodiscard]] result warn(std::string output);
/// A failure. `kind` defaults to `assertion` ("the answer was not what we expected").
[[nodiscard]] result fail(std::string output, failure_kind kind = failure_kind::assertion);

}  // namespace vitals
