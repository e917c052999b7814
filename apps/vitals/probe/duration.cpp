#include "probe/duration.hpp"

#include <cstdint>

#include "probe/sv.hpp"

namespace vitals::cli {

namespace {

// Units in nanoseconds; longest suffixes first so "ms" is not read as "m" + garbage.
struct unit {
  std::string_view suffix;
  double ns;
};
constexpr unit units[] = {{"ns", 1.0}, {"us", 1e3}, {"ms", 1e6},
                          {"s", 1e9},  {"m", 60e9}, {"h", 3600e9}};

}  // namespace

bool parse_duration(std::string_view text, std::chrono::milliseconds& out) noexcept {
  if (text.empty()) return false;
  double total_ns = 0;
  std::size_t i = 0;
  bool bare = true;
  while (i < text.size()) {
    // Number: digits with at most one decimal point.
    double value = 0;
    double scale = 0;
    bool digits = false;
    for (; i < text.size(); ++i) {
      const char c = text[i];
      if (c >= '0' && c <= '9') {
        digits = true;
        if (scale == 0) {
          value = value * 10 + (c - '0');
        } else {
          value += (c - '0') * scale;
          scale /= 10;
        }
      } else if (c == '.' && scale == 0) {
        scale = 0.1;
      } else {
        break;
      }
      if (value > 1e12) return false;
    }
    if (!digits) return false;
    if (i == text.size()) {
      if (!bare) return false;  // "1m30" is ambiguous: refuse rather than guess
      total_ns += value * 1e9;
      break;
    }
    bare = false;
    const unit* found = nullptr;
    for (const unit& u : units) {
      if (sub(text, i, u.suffix.size()) == u.suffix) {
        // "m" must not swallow the "m" of "ms".
        if (u.suffix == "m" && sub(text, i, 2) == "ms") continue;
        found = &u;
        break;
      }
    }
    if (found == nullptr) return false;
    i += found->suffix.size();
    total_ns += value * found->ns;
  }
  if (total_ns > 1e17) return false;
  // Round up so that "1us" is not silently zero.
  auto ms = static_cast<std::int64_t>(total_ns / 1e6);
  if (static_cast<double>(ms) * 1e6 < total_ns) ++ms;
  out = std::chrono::milliseconds{ms};
  return true;
}

}  // namespace vitals::cli
