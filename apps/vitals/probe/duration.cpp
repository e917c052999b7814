#include "probe/duration.hpp"

#include <cstdint>

#include "base/duration_scan.hpp"

namespace vitals::cli {

bool parse_duration(std::string_view text, std::chrono::milliseconds& out) noexcept {
  using namespace vitals::base;
  const auto scan =
      scan_duration(text, unit_ns | unit_us | unit_ms | unit_s | unit_m | unit_h, 1.0);
  if (scan.error != duration_scan_error::none) return false;
  // A bare number is seconds ("5"); "1m30" is ambiguous and refused by the scanner.
  const double total_ns = scan.bare ? scan.total * 1e9 : scan.total;
  if (!(total_ns <= 1e17)) return false;  // also NaN from absurdly long digit strings
  // Round up so that "1us" is not silently zero.
  auto ms = static_cast<std::int64_t>(total_ns / 1e6);
  if (static_cast<double>(ms) * 1e6 < total_ns) ++ms;
  out = std::chrono::milliseconds{ms};
  return true;
}

}  // namespace vitals::cli
