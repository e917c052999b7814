#pragma once
// Private to the built-in server: the Date header, formatted at most once per second per I/O
// thread. Formatting an IMF-fixdate costs more than parsing a whole probe request, so the line
// is cached and only the cheap second comparison runs per batch of requests.

#include <array>
#include <cstddef>
#include <ctime>
#include <string_view>

namespace vitals::http::detail {

class date_cache {
 public:
  /// "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n" for the current second.
  [[nodiscard]] std::string_view line() noexcept {
    const std::time_t now = std::time(nullptr);
    if (now != second_) format(now);
    return {line_.data(), line_.size()};
  }

 private:
  void format(std::time_t now) noexcept {
    static constexpr std::string_view days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    gmtime_r(&now, &tm);
    char* p = line_.data();
    auto put = [&p](std::string_view s) {
      for (char c : s) *p++ = c;
    };
    auto put2 = [&p](int v) {
      *p++ = static_cast<char>('0' + v / 10 % 10);
      *p++ = static_cast<char>('0' + v % 10);
    };
    put("Date: ");
    put(days[tm.tm_wday % 7]);
    put(", ");
    put2(tm.tm_mday);
    put(" ");
    put(months[tm.tm_mon % 12]);
    put(" ");
    const int year = tm.tm_year + 1900;
    put2(year / 100);
    put2(year % 100);
    put(" ");
    put2(tm.tm_hour);
    put(":");
    put2(tm.tm_min);
    put(":");
    put2(tm.tm_sec);
    put(" GMT\r\n");
    second_ = now;
  }

  std::time_t second_ = -1;
  std::array<char, 37> line_{};
};

}  // namespace vitals::http::detail
