#pragma once
// Durations and byte sizes as people read them: one formatter of each, for every output, message,
// log line and table of vitals.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <string>

namespace vitals::base {

enum class duration_style : std::uint8_t {
  /// Outputs, messages and logs: "0ms", "850us", "250ms", "1.5s", "42s", "12m30s", "3h5m", "2d4h"
  /// (at most three significant digits below a minute; the two largest units above).
  text,
  /// Table cells with a fixed precision: "0us", "850us", "12ms", "2s", "2.50s".
  column,
  /// Configuration values, read back to the same millisecond by the config parser:
  /// "0s", "250ms", "1m30s", "2s500ms", "1d2h".
  exact,
};

namespace detail {

inline std::string two_units(long long v, long long rest, const char* a, const char* b) {
  return std::to_string(v) + a + (rest > 0 ? std::to_string(rest) + b : "");
}

inline std::string duration_text(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  char buf[48];
  if (d < milliseconds{1} && d != nanoseconds::zero()) {
    std::snprintf(buf, sizeof buf, "%lldus",
                  static_cast<long long>(duration_cast<microseconds>(d).count()));
    return buf;
  }
  const auto ms = duration_cast<milliseconds>(d).count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  const auto s = ms / 1000;
  if (s < 60) {
    if (ms % 1000 == 0) return std::to_string(s) + "s";
    std::snprintf(buf, sizeof buf, "%.3gs", static_cast<double>(ms) / 1000.0);
    return buf;
  }
  if (s < 3600) return two_units(s / 60, s % 60, "m", "s");
  if (s < 86'400) return two_units(s / 3600, (s % 3600) / 60, "h", "m");
  return two_units(s / 86'400, (s % 86'400) / 3600, "d", "h");
}

inline std::string duration_column(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  char buf[48];
  if (d < microseconds{1}) {
    std::snprintf(buf, sizeof buf, "0us");
  } else if (d < milliseconds{1}) {
    std::snprintf(buf, sizeof buf, "%lldus",
                  static_cast<long long>(duration_cast<microseconds>(d).count()));
  } else if (d < seconds{1}) {
    std::snprintf(buf, sizeof buf, "%lldms",
                  static_cast<long long>(duration_cast<milliseconds>(d).count()));
  } else if (d % seconds{1} == nanoseconds::zero()) {
    std::snprintf(buf, sizeof buf, "%llds",
                  static_cast<long long>(duration_cast<seconds>(d).count()));
  } else {
    std::snprintf(buf, sizeof buf, "%.2fs", duration_cast<duration<double>>(d).count());
  }
  return buf;
}

inline std::string duration_exact(std::chrono::nanoseconds d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms == 0) return "0s";
  std::string out;
  constexpr struct {
    long long ms;
    const char* suffix;
  } units[] = {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& u : units) {
    if (ms >= u.ms) out += std::to_string(ms / u.ms) + u.suffix;
    ms %= u.ms;
  }
  return out;
}

}  // namespace detail

/// `d` in the given style; negative durations get a leading '-'.
///
///     format_duration(1500ms) == "1.5s";  format_duration(90s, duration_style::exact) == "1m30s"
[[nodiscard]] inline std::string format_duration(std::chrono::nanoseconds d,
                                                 duration_style style = duration_style::text) {
  if (d < std::chrono::nanoseconds::zero()) {
    if (style == duration_style::column) return detail::duration_column({});
    return "-" + format_duration(-d, style);
  }
  switch (style) {
    case duration_style::column:
      return detail::duration_column(d);
    case duration_style::exact:
      return detail::duration_exact(d);
    case duration_style::text:
      break;
  }
  return detail::duration_text(d);
}

/// Binary sizes: "900 B", "12 KiB", "1.1 GiB" (one decimal below 10 of a unit).
[[nodiscard]] inline std::string human_bytes(std::uint64_t bytes) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  auto value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 || value >= 10.0 ? "%.0f %s" : "%.1f %s", value,
                units[unit]);
  return buf;
}

}  // namespace vitals::base
