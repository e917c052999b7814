#include <cctype>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <string_view>

#include "vitals/config.hpp"

namespace vitals::config {

std::chrono::milliseconds parse_duration(std::string_view text) {
  using namespace std::chrono_literals;
  const std::string original{text};
  auto bad = [&](const char* why) {
    return std::invalid_argument("invalid duration \"" + original + "\": " + why);
  };
  if (text == "0") return 0ms;
  if (text.empty()) throw bad("empty");
  double total_ms = 0;
  while (!text.empty()) {
    std::size_t i = 0;
    bool digits = false;
    bool dot = false;
    while (i < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[i])) != 0 || (text[i] == '.' && !dot))) {
      if (text[i] == '.') {
        dot = true;
      } else {
        digits = true;
      }
      ++i;
    }
    if (!digits) throw bad("expected a number followed by a unit (ms, s, m, h, d), e.g. \"5s\"");
    const double number = std::stod(std::string{text.substr(0, i)});
    text.remove_prefix(i);
    std::size_t u = 0;
    while (u < text.size() && std::isalpha(static_cast<unsigned char>(text[u])) != 0) ++u;
    const std::string_view unit = text.substr(0, u);
    text.remove_prefix(u);
    double scale = 0;
    if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60'000;
    } else if (unit == "h") {
      scale = 3'600'000;
    } else if (unit == "d") {
      scale = 86'400'000;
    } else if (unit.empty()) {
      throw bad("missing unit (ms, s, m, h, d), e.g. \"5s\"");
    } else {
      throw bad("unknown unit (use ms, s, m, h, d)");
    }
    total_ms += number * scale;
  }
  // Certificate expiry windows need days; beyond a year it is a typo, and far from overflow.
  if (total_ms > 366.0 * 86'400'000) throw bad("longer than 366d");
  const double rounded = std::round(total_ms);
  if (rounded != total_ms) throw bad("finer than a millisecond");
  return std::chrono::milliseconds{static_cast<std::int64_t>(rounded)};
}

}  // namespace vitals::config
