#include "render.hpp"

#include <cstdio>

namespace vitals::http::detail {

int code_for(const status_codes& codes, status s) noexcept {
  switch (s) {
    case status::pass:
      return codes.pass;
    case status::warn:
      return codes.warn;
    case status::fail:
      return codes.fail;
    case status::unknown:
      break;
  }
  return codes.unknown;
}

std::string_view probe_path_name(probe p) noexcept {
  switch (p) {
    case probe::live:
      return "livez";
    case probe::ready:
      return "readyz";
    case probe::startup:
      return "startupz";
  }
  return "readyz";
}

std::string describe(const render_context& ctx, const check_state& c) {
  const result& r = c.reported;
  if (r.status == status::unknown) return "not checked yet";
  if (!r.output.empty()) return ctx.scrubber.scrub(r.output);
  if (r.kind != failure_kind::none) return std::string{to_string(r.kind)};
  return std::string{to_string(r.status)};
}

status overall_status(const snapshot& snap) noexcept { return snap.overall_status(); }

std::string rfc3339(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss<milliseconds> hms{ms - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buf;
}

}  // namespace vitals::http::detail
