#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <string_view>

#include "base/duration_scan.hpp"
#include "vitals/config.hpp"

namespace vitals::config {

std::chrono::milliseconds parse_duration(std::string_view text) {
  using namespace std::chrono_literals;
  using base::duration_scan_error;
  const std::string original{text};
  auto bad = [&](const char* why) {
    return std::invalid_argument("invalid duration \"" + original + "\": " + why);
  };
  if (text == "0") return 0ms;
  const auto scan = base::scan_duration(
      text, base::unit_ms | base::unit_s | base::unit_m | base::unit_h | base::unit_d, 1e6);
  switch (scan.error) {
    case duration_scan_error::none:
      break;
    case duration_scan_error::empty:
      throw bad("empty");
    case duration_scan_error::no_number:
      throw bad("expected a number followed by a unit (ms, s, m, h, d), e.g. \"5s\"");
    case duration_scan_error::missing_unit:
      throw bad("missing unit (ms, s, m, h, d), e.g. \"5s\"");
    case duration_scan_error::unknown_unit:
      throw bad("unknown unit (use ms, s, m, h, d)");
  }
  if (scan.bare) throw bad("missing unit (ms, s, m, h, d), e.g. \"5s\"");
  const double total_ms = scan.total;
  // Certificate expiry windows need days; beyond a year it is a typo, and far from overflow.
  if (total_ms > 366.0 * 86'400'000) throw bad("longer than 366d");
  const double rounded = std::round(total_ms);
  if (rounded != total_ms) throw bad("finer than a millisecond");
  return std::chrono::milliseconds{static_cast<std::int64_t>(rounded)};
}

}  // namespace vitals::config
