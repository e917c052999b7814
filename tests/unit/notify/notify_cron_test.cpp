// Cron expressions of recurring maintenance windows (src/base/cron.hpp): syntax, errors, the
// day-of-month / day-of-week rule, and windows that span midnight, a month end and a year end.

#include <gtest/gtest.h>

#include <chrono>

#include "base/cron.hpp"

namespace {

using namespace std::chrono;
using vitals::base::cron_schedule;

system_clock::time_point at(int y, unsigned mo, unsigned d, int h, int mi) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi};
}

cron_schedule parse(std::string_view text) {
  std::string why;
  auto s = cron_schedule::parse(text, &why);
  EXPECT_TRUE(s.has_value()) << text << ": " << why;
  return s.value_or(*cron_schedule::parse("* * * * *"));
}

std::string error_of(std::string_view text) {
  std::string why;
  EXPECT_FALSE(cron_schedule::parse(text, &why).has_value()) << text;
  return why;
}

TEST(notify_cron, fields_lists_ranges_steps_and_names) {
  const auto s = parse("*/15 9-17 * * MON-FRI");
  EXPECT_TRUE(s.matches(at(2026, 12, 2, 9, 45)));  // a Wednesday
  EXPECT_FALSE(s.matches(at(2026, 12, 2, 9, 46)));
  EXPECT_FALSE(s.matches(at(2026, 12, 2, 18, 0)));
  EXPECT_FALSE(s.matches(at(2026, 12, 6, 10, 0)));  // a Sunday
  const auto t = parse("30 1 1,15 jan,Jul *");
  EXPECT_TRUE(t.matches(at(2027, 1, 15, 1, 30)));
  EXPECT_TRUE(t.matches(at(2027, 7, 1, 1, 30) + seconds{59}));  // seconds do not matter
  EXPECT_FALSE(t.matches(at(2027, 2, 1, 1, 30)));
  EXPECT_TRUE(parse("0 0 * * 7").matches(at(2026, 12, 6, 0, 0)));  // 7 is Sunday too
  EXPECT_TRUE(parse("5/20 * * * *").matches(at(2026, 12, 2, 3, 45)));
  EXPECT_FALSE(parse("5/20 * * * *").matches(at(2026, 12, 2, 3, 40)));
}

TEST(notify_cron, restricted_day_fields_match_either) {
  const auto s = parse("0 12 13 * FRI");            // the 13th, and every Friday
  EXPECT_TRUE(s.matches(at(2026, 12, 13, 12, 0)));  // a Sunday the 13th
  EXPECT_TRUE(s.matches(at(2026, 12, 4, 12, 0)));   // a Friday the 4th
  EXPECT_FALSE(s.matches(at(2026, 12, 5, 12, 0)));
}

TEST(notify_cron, shorthands) {
  EXPECT_TRUE(parse("@daily").matches(at(2026, 3, 9, 0, 0)));
  EXPECT_TRUE(parse("@weekly").matches(at(2026, 12, 6, 0, 0)));
  EXPECT_TRUE(parse("@monthly").matches(at(2026, 12, 1, 0, 0)));
  EXPECT_TRUE(parse("@yearly").matches(at(2027, 1, 1, 0, 0)));
  EXPECT_TRUE(parse(" @hourly ").matches(at(2026, 12, 2, 7, 0)));
}

TEST(notify_cron, precise_errors) {
  EXPECT_EQ(error_of("0 24 * * *"), "field 2 (hour): 24 is out of range 0-23");
  EXPECT_EQ(error_of("0 2 * *"),
            "expected 5 fields (minute hour day-of-month month day-of-week), got 4");
  EXPECT_EQ(error_of("0 2 * * * *"), "more than 5 fields");
  EXPECT_EQ(error_of("0 2 * * FUN"), "field 5 (day of week): \"FUN\" is not a number or a name");
  EXPECT_EQ(error_of("*/0 * * * *"), "field 1 (minute): bad step \"0\"");
  EXPECT_EQ(error_of("0 5-2 * * *"), "field 2 (hour): range 5-2 is backwards");
  EXPECT_EQ(error_of("0 0 0 * *"), "field 3 (day of month): 0 is out of range 1-31");
  EXPECT_EQ(error_of("0,,1 * * * *"), "field 1 (minute): empty list item");
  EXPECT_EQ(error_of("@often"),
            "unknown shorthand \"@often\" (@hourly, @daily, @weekly, @monthly, @yearly)");
  EXPECT_EQ(error_of(""), "expected 5 fields (minute hour day-of-month month day-of-week), got 0");
}

TEST(notify_cron, windows_across_midnight_month_and_year_ends) {
  const auto nightly = parse("30 23 * * *");
  EXPECT_TRUE(nightly.in_window(at(2026, 12, 31, 23, 30), hours{2}));
  EXPECT_TRUE(nightly.in_window(at(2027, 1, 1, 1, 29), hours{2}));
  EXPECT_FALSE(nightly.in_window(at(2027, 1, 1, 1, 30), hours{2}));  // the end is exclusive
  EXPECT_FALSE(nightly.in_window(at(2026, 12, 31, 23, 29), hours{2}));
  const auto monthly = parse("0 22 28-31 * *");
  EXPECT_TRUE(monthly.in_window(at(2027, 3, 1, 1, 0), hours{4}));  // from Feb 28, 22:00
  EXPECT_FALSE(monthly.in_window(at(2027, 3, 1, 2, 0), hours{4}));
  const auto weekly = parse("0 2 * * SUN");
  EXPECT_TRUE(weekly.in_window(at(2026, 12, 8, 1, 0), days{2}));  // Sun 6th 02:00 + 2 days
  EXPECT_FALSE(weekly.in_window(at(2026, 12, 8, 2, 0), days{2}));
  EXPECT_FALSE(weekly.in_window(at(2026, 12, 8, 1, 0), minutes{0}));
  EXPECT_EQ(weekly.latest_at_or_before(at(2026, 12, 9, 0, 0), days{7}), at(2026, 12, 6, 2, 0));
  EXPECT_EQ(weekly.latest_at_or_before(at(2026, 12, 9, 0, 0), days{1}), std::nullopt);
}

}  // namespace
