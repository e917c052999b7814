#pragma once
// Five-field cron expressions (minute hour day-of-month month day-of-week, UTC), for recurring
// maintenance windows: "0 2 * * SUN" (Sundays 02:00), "30 1 1,15 * *", "*/15 9-17 * * MON-FRI",
// and @hourly, @daily (@midnight), @weekly, @monthly, @yearly (@annually). As in Vixie cron, when
// both day fields are restricted a day matches either; 7 is Sunday too. No seconds, no years, no
// L / W / # extensions. Header-only, std-only, exception-free.

#include <array>
#include <bitset>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/text.hpp"

namespace vitals::base {

class cron_schedule {
 public:
  using time_point = std::chrono::system_clock::time_point;

  /// The schedule, or nullopt with `error` set ("field 2 (hour): 24 is out of range 0-23").
  [[nodiscard]] static std::optional<cron_schedule> parse(std::string_view text,
                                                          std::string* error = nullptr) {
    auto fail = [&](std::string why) -> std::optional<cron_schedule> {
      if (error != nullptr) *error = std::move(why);
      return std::nullopt;
    };
    text = trim(text);
    for (const auto& [name, expansion] : macros()) {
      if (text == name) text = expansion;
    }
    if (!text.empty() && text.front() == '@') {
      return fail("unknown shorthand \"" + std::string(text) +
                  "\" (@hourly, @daily, @weekly, @monthly, @yearly)");
    }
    std::array<std::string_view, 5> fields{};
    std::size_t n = 0;
    while (!text.empty()) {
      const auto end = text.find_first_of(" \t");
      if (n == fields.size()) return fail("more than 5 fields");
      fields.at(n++) = text.substr(0, end);
      text = end == std::string_view::npos ? std::string_view{} : trim(text.substr(end));
    }
    if (n != fields.size()) {
      return fail("expected 5 fields (minute hour day-of-month month day-of-week), got " +
                  std::to_string(n));
    }
    cron_schedule s;
    static constexpr std::array<field_spec, 5> specs = {{{"minute", 0, 59, nullptr},
                                                         {"hour", 0, 23, nullptr},
                                                         {"day of month", 1, 31, nullptr},
                                                         {"month", 1, 12, month_names},
                                                         {"day of week", 0, 7, day_names}}};
    std::array<std::bitset<64>, 5> bits{};
    for (std::size_t i = 0; i < fields.size(); ++i) {
      std::string why;
      if (!parse_field(fields.at(i), specs.at(i), bits.at(i), why)) {
        return fail("field " + std::to_string(i + 1) + " (" + specs.at(i).name + "): " + why);
      }
    }
    s.minutes_ = bits[0];
    s.hours_ = bits[1];
    s.days_ = bits[2];
    s.months_ = bits[3];
    s.weekdays_ = bits[4];
    if (s.weekdays_.test(7)) s.weekdays_.set(0);
    s.any_day_ = fields[2] == "*" || fields[2] == "?";
    s.any_weekday_ = fields[4] == "*" || fields[4] == "?";
    return s;
  }

  /// True if the schedule fires at the minute that starts at `t` (seconds ignored).
  [[nodiscard]] bool matches(time_point t) const noexcept {
    const auto minute = std::chrono::floor<std::chrono::minutes>(t);
    const auto day = std::chrono::floor<std::chrono::days>(minute);
    const auto hm = std::chrono::hh_mm_ss{minute - day};
    return day_matches(day) && hours_.test(static_cast<std::size_t>(hm.hours().count())) &&
           minutes_.test(static_cast<std::size_t>(hm.minutes().count()));
  }

  /// The latest time the schedule fired at or before `t`, looking back at most `lookback`.
  [[nodiscard]] std::optional<time_point> latest_at_or_before(
      time_point t, std::chrono::minutes lookback) const noexcept {
    using namespace std::chrono;
    const auto now = floor<minutes>(t);
    const auto earliest = now - lookback;
    const auto today = floor<days>(now);
    for (auto day = today; day + days{1} > earliest; day -= days{1}) {
      if (!day_matches(day)) continue;
      const int last_hour =
          day == today ? static_cast<int>(hh_mm_ss{now - day}.hours().count()) : 23;
      for (int h = last_hour; h >= 0; --h) {
        if (!hours_.test(static_cast<std::size_t>(h))) continue;
        const int last_minute = day == today && h == last_hour
                                    ? static_cast<int>(hh_mm_ss{now - day}.minutes().count())
                                    : 59;
        for (int m = last_minute; m >= 0; --m) {
          if (!minutes_.test(static_cast<std::size_t>(m))) continue;
          const time_point at = day + hours{h} + minutes{m};
          if (at < earliest) return std::nullopt;
          return at;
        }
      }
    }
    return std::nullopt;
  }

  /// True if `t` falls in a window that starts when the schedule fires and lasts `length`.
  [[nodiscard]] bool in_window(time_point t, std::chrono::minutes length) const noexcept {
    if (length.count() <= 0) return false;
    // The latest start has the latest end (every window is as long): it decides.
    const auto start = latest_at_or_before(t, length);
    return start && t < *start + length;
  }

 private:
  struct field_spec {
    const char* name;
    int min;
    int max;
    const char* const* names;  // 3-letter names from `min` (months from 1, days from 0)
  };
  static constexpr const char* month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
  static constexpr const char* day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

  static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> macros() {
    return {{{"@hourly", "0 * * * *"},
             {"@daily", "0 0 * * *"},
             {"@midnight", "0 0 * * *"},
             {"@weekly", "0 0 * * 0"},
             {"@monthly", "0 0 1 * *"},
             {"@yearly", "0 0 1 1 *"},
             {"@annually", "0 0 1 1 *"}}};
  }

  // A number or (for months and days) a 3-letter name; -1 if neither.
  static int value_of(std::string_view s, const field_spec& f) noexcept {
    if (s.empty()) return -1;
    if (f.names != nullptr && s.size() == 3 && !(s[0] >= '0' && s[0] <= '9')) {
      const int count = f.names == month_names ? 12 : 7;
      for (int i = 0; i < count; ++i) {
        bool same = true;
        for (std::size_t k = 0; k < 3; ++k) {
          const char c = s[k] >= 'a' && s[k] <= 'z' ? static_cast<char>(s[k] - 32) : s[k];
          same = same && c == f.names[i][k];
        }
        if (same) return i + (f.names == month_names ? 1 : 0);
      }
      return -1;
    }
    int v = 0;
    for (const char c : s) {
      if (c < '0' || c > '9' || v > 1000) return -1;
      v = v * 10 + (c - '0');
    }
    return v;
  }

  static bool parse_field(std::string_view text, const field_spec& f, std::bitset<64>& out,
                          std::string& why) {
    if (text.empty()) {
      why = "empty";
      return false;
    }
    while (!text.empty()) {
      const auto comma = text.find(',');
      std::string_view item = text.substr(0, comma);
      text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
      if (item.empty()) {
        why = "empty list item";
        return false;
      }
      int step = 1;
      if (const auto slash = item.find('/'); slash != std::string_view::npos) {
        step = value_of(item.substr(slash + 1), {f.name, 1, 1000, nullptr});
        if (step <= 0) {
          why = "bad step \"" + std::string(item.substr(slash + 1)) + "\"";
          return false;
        }
        item = item.substr(0, slash);
      }
      int lo = f.min;
      int hi = f.max;
      if (item != "*" && item != "?") {
        const auto dash = item.find('-');
        lo = value_of(item.substr(0, dash), f);
        hi = dash == std::string_view::npos ? lo : value_of(item.substr(dash + 1), f);
        if (lo < 0 || hi < 0) {
          why = "\"" + std::string(item) + "\" is not a number" +
                (f.names != nullptr ? " or a name" : "");
          return false;
        }
        if (lo < f.min || hi > f.max || lo > f.max || hi < f.min) {
          why = std::to_string(lo < f.min || lo > f.max ? lo : hi) + " is out of range " +
                std::to_string(f.min) + "-" + std::to_string(f.max);
          return false;
        }
        if (lo > hi) {
          why = "range " + std::string(item) + " is backwards";
          return false;
        }
        if (dash == std::string_view::npos && step > 1) hi = f.max;  // "5/15" = "5-max/15"
      }
      for (int v = lo; v <= hi; v += step) out.set(static_cast<std::size_t>(v));
    }
    return true;
  }

  [[nodiscard]] bool day_matches(std::chrono::sys_days day) const noexcept {
    const std::chrono::year_month_day ymd{day};
    if (!months_.test(static_cast<unsigned>(ymd.month()))) return false;
    const bool dom = days_.test(static_cast<unsigned>(ymd.day()));
    const bool dow = weekdays_.test(std::chrono::weekday{day}.c_encoding());
    if (any_day_ && any_weekday_) return true;
    if (any_day_) return dow;
    if (any_weekday_) return dom;
    return dom || dow;  // both restricted: either (Vixie cron)
  }

  std::bitset<64> minutes_{};
  std::bitset<64> hours_{};
  std::bitset<64> days_{};
  std::bitset<64> months_{};
  std::bitset<64> weekdays_{};
  bool any_day_ = true;
  bool any_weekday_ = true;
};

}  // namespace vitals::base
