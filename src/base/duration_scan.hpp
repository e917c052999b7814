#pragma once
// The one scanner of duration text ("5s", "1m30s", "1.5ms"): the config loader and `vitals
// probe` each put their own rules (which units, bare numbers, limits, messages) on top of it.
// constexpr, allocation- and exception-free: the probe is built without either.

#include <cstdint>
#include <string_view>

namespace vitals::base {

/// The units a caller accepts (a bit set).
enum duration_units : std::uint8_t {
  unit_ns = 1U << 0U,
  unit_us = 1U << 1U,
  unit_ms = 1U << 2U,
  unit_s = 1U << 3U,
  unit_m = 1U << 4U,
  unit_h = 1U << 5U,
  unit_d = 1U << 6U,
};

enum class duration_scan_error : std::uint8_t {
  none,
  empty,         ///< no text at all
  no_number,     ///< a unit or garbage where a number must be
  missing_unit,  ///< a number without a unit in a text of several parts ("1m30"), or "1.2.3"
  unknown_unit,  ///< letters that are not an accepted unit
};

struct duration_scan {
  /// Sum of the parts, in the caller's base unit (see scan_duration).
  double total = 0;
  /// The whole text is one number without a unit ("5"): `total` is that number as written.
  bool bare = false;
  duration_scan_error error = duration_scan_error::none;
};

namespace detail {

struct unit_def {
  std::string_view suffix;
  double ns;
  duration_units bit;
};
inline constexpr unit_def unit_defs[] = {
    {"ns", 1.0, unit_ns}, {"us", 1e3, unit_us},  {"ms", 1e6, unit_ms},   {"s", 1e9, unit_s},
    {"m", 60e9, unit_m},  {"h", 3600e9, unit_h}, {"d", 86400e9, unit_d},
};

[[nodiscard]] constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
[[nodiscard]] constexpr bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/// Digits with at most one '.'; the value is correctly rounded for up to 15 significant digits
/// (mantissa / 10^k with both exact), as strtod's would be. Returns the length read, 0 if none.
constexpr std::size_t scan_number(std::string_view text, double& value) noexcept {
  double mantissa = 0;
  double scale = 1;
  bool dot = false;
  bool digits = false;
  std::size_t i = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (is_digit(c)) {
      digits = true;
      mantissa = mantissa * 10 + (c - '0');
      if (dot) scale *= 10;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  value = mantissa / scale;
  return digits ? i : 0;
}

}  // namespace detail

/// Scans "<number><unit>[<number><unit>...]" and sums it in units of `base_ns` nanoseconds
/// (1e6: milliseconds). A unit is the run of letters after a number and must be in `allowed`.
///
///     scan_duration("1m30s", unit_s | unit_m, 1e6).total == 90000
[[nodiscard]] constexpr duration_scan scan_duration(std::string_view text, unsigned allowed,
                                                    double base_ns) noexcept {
  duration_scan out;
  if (text.empty()) {
    out.error = duration_scan_error::empty;
    return out;
  }
  bool first = true;
  while (!text.empty()) {
    double number = 0;
    const std::size_t n = detail::scan_number(text, number);
    if (n == 0) {
      out.error = duration_scan_error::no_number;
      return out;
    }
    text.remove_prefix(n);
    std::size_t u = 0;
    while (u < text.size() && detail::is_alpha(text[u])) ++u;
    const std::string_view unit = text.substr(0, u);
    text.remove_prefix(u);
    if (unit.empty()) {
      out.bare = first && text.empty();
      out.total = number;
      if (!out.bare) out.error = duration_scan_error::missing_unit;
      return out;
    }
    const detail::unit_def* found = nullptr;
    for (const auto& d : detail::unit_defs) {
      if (d.suffix == unit && (allowed & d.bit) != 0) found = &d;
    }
    if (found == nullptr) {
      out.error = duration_scan_error::unknown_unit;
      return out;
    }
    out.total += number * (found->ns / base_ns);
    first = false;
  }
  return out;
}

}  // namespace vitals::base
