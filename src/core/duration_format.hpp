#pragma once
// Private: human-readable durations for outputs and error texts ("2s", "1.5s", "250ms").

#include <chrono>
#include <cstdio>
#include <string>
#include <utility>

namespace vitals::detail {

inline std::string format_duration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  const bool negative = d < nanoseconds::zero();
  if (negative) d = -d;
  char buf[48];
  if (d < milliseconds{1} && d != nanoseconds::zero()) {
    std::snprintf(buf, sizeof buf, "%lldus",
                  static_cast<long long>(duration_cast<microseconds>(d).count()));
  } else if (d < seconds{1}) {
    std::snprintf(buf, sizeof buf, "%lldms",
                  static_cast<long long>(duration_cast<milliseconds>(d).count()));
  } else {
    const auto ms = duration_cast<milliseconds>(d).count();
    if (ms % 1000 == 0 && ms >= 60'000) {
      // Whole minutes and more read as they are written in a configuration: "1m", "1m30s", "2h".
      std::string out;
      long long s = ms / 1000;
      for (const auto& [unit, size] : {std::pair{'d', 86'400LL}, {'h', 3'600LL}, {'m', 60LL}}) {
        if (s >= size) out += std::to_string(s / size) + unit;
        s %= size;
      }
      if (s != 0) out += std::to_string(s) + "s";
      return negative ? "-" + out : out;
    }
    if (ms % 1000 == 0) {
      std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(ms / 1000));
    } else {
      std::snprintf(buf, sizeof buf, "%.3gs", static_cast<double>(ms) / 1000.0);
    }
  }
  return negative ? "-" + std::string(buf) : std::string(buf);
}

}  // namespace vitals::detail
