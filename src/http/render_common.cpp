#include "render.hpp"

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

}  // namespace vitals::http::detail
