#pragma once
// Private: the response formats of the handler (Kubernetes probe text, IETF health+json). Each
// renderer produces a typed response (response.hpp); the handler builds its wire form. Not
// installed.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "response.hpp"
#include "target.hpp"
#include "vitals/history.hpp"
#include "vitals/http/handler.hpp"
#include "vitals/http/maintenance.hpp"
#include "vitals/http/targets.hpp"
#include "vitals/redact.hpp"
#include "vitals/snapshot.hpp"

namespace vitals::http::detail {

inline constexpr std::string_view text_plain = "text/plain; charset=utf-8";
inline constexpr std::string_view health_json = "application/health+json";

/// Probe bodies stay strictly below this many bytes (cloud load balancers read 1 KiB).
inline constexpr std::size_t max_probe_body = 1023;
/// A single check output is cut to this many bytes in probe bodies.
inline constexpr std::size_t max_probe_output = 200;

/// The configured HTTP code of an aggregated status.
[[nodiscard]] int code_for(const status_codes& codes, status s) noexcept;

/// What every renderer needs: the snapshot, the policy, the scrubber for defense in depth.
struct render_context {
  const snapshot& snap;
  const status_codes& codes;
  /// Scrubs the handler's token and URL userinfo / password patterns from every text shown.
  const redactor& scrubber;
  /// True if this rendering may show outputs, observed values and details.
  bool detailed = false;
};

/// RFC 3339 in UTC with milliseconds: "2026-12-02T17:10:00.123Z".
[[nodiscard]] std::string rfc3339(std::chrono::system_clock::time_point t);

/// "livez", "readyz", "startupz".
[[nodiscard]] std::string_view probe_path_name(probe p) noexcept;

/// The human reason of a check's reported state (scrubbed, not truncated): "not checked yet"
/// before the first result, else its output, else its failure kind.
[[nodiscard]] std::string describe(const render_context& ctx, const check_state& c);

/// `/livez`, `/readyz`, `/startupz` in the Kubernetes apiserver style. `excluded` names are
/// skipped (`[+]name excluded: ok` in verbose); names that match no check of the probe are
/// ignored and reported on a `warn:` line, as the apiserver does.
[[nodiscard]] typed_response render_probe(const render_context& ctx, probe p, bool verbose,
                                          std::span<const std::string> excluded = {});

/// `/readyz/<check>`: one check of the probe, judged on its own status.
[[nodiscard]] typed_response render_probe_check(const render_context& ctx, probe p,
                                                const check_state& c, bool verbose);

/// `/api/v1/targets` (every check, `only == nullptr`) or `/api/v1/targets/<name>` as JSON
/// (docs/api.md): status, counters, times, the group and labels from `catalog` (may be null);
/// outputs and observed values for detailed callers only.
[[nodiscard]] typed_response render_targets(const render_context& ctx,
                                            const target_catalog::map* catalog,
                                            const check_state* only = nullptr);

/// `/api/v1/uptime`: the uptime windows of every target with history that is `listed` (a check
/// of the running configuration, or of another shard: docs/api.md); a removed target is not.
[[nodiscard]] typed_response render_uptimes(const std::vector<target_uptime>& table,
                                            const std::function<bool(std::string_view)>& listed,
                                            std::chrono::system_clock::time_point generated);

/// `/api/v1/history/<target>`: rollup buckets over the query's window, the uptime windows, the
/// transitions of the window and the latest runs (outputs for detailed callers only).
[[nodiscard]] typed_response render_history(const render_context& ctx, const target_uptime& up,
                                            const history_query& q, const history_reader& history,
                                            std::chrono::system_clock::time_point now);

/// `/api/v1/incidents`: spans of failure overlapping [from, now), newest first; the cause for
/// detailed callers only. An open incident of a target no longer `listed` is left out.
[[nodiscard]] typed_response render_incidents(const render_context& ctx,
                                              const std::vector<history_incident>& incidents,
                                              const std::function<bool(std::string_view)>& listed,
                                              std::chrono::system_clock::time_point from,
                                              std::chrono::system_clock::time_point now);

/// The status page (`/status`, docs/status-page.md): every check of `snap`, grouped by the
/// catalog's groups, filtered and paged by `q`; uptime and 90 days of bars from `history` (if
/// any). No output is ever shown.
[[nodiscard]] typed_response render_status_page(const status_page_options& o, const snapshot& snap,
                                                const target_catalog::map* catalog,
                                                const history_reader* history,
                                                const status_page_query& q,
                                                std::chrono::system_clock::time_point now);
/// `/status/<target>`: one check, its uptime windows, 90 days of bars, the last 24 hours by
/// hour, its incidents (without their causes) and latest runs.
[[nodiscard]] typed_response render_status_target(const status_page_options& o,
                                                  const check_state& c, const target_meta* meta,
                                                  const history_reader* history,
                                                  std::chrono::system_clock::time_point now);

/// An SVG badge (`/badge/<target>`, docs/api.md): `label` on grey, `value` on `color` (a CSS
/// colour), cacheable for a minute.
[[nodiscard]] typed_response render_badge(int status_code, std::string_view label,
                                          std::string_view value, std::string_view color);
/// Text for HTML and SVG: &, <, >, " and ' as entities, control characters as spaces.
void markup_escape_into(std::string& out, std::string_view text);
/// A latency as badges and the status page show it: "0.4 ms", "12 ms", "1.25 s".
[[nodiscard]] std::string latency_text(std::chrono::nanoseconds d);
/// An uptime ratio as a percentage with at most `decimals` decimals, rounded down (99.996 % is
/// not "100%"): "99.95%", "100%".
[[nodiscard]] std::string percent_text(double ratio, int decimals);

/// The badge words and colours of a status ("up" green, "degraded" yellow, "down" red,
/// "unknown" grey) and of an uptime ratio (green from 99.9 %, down to red below 90 %).
[[nodiscard]] std::string_view badge_word_of(status s) noexcept;
[[nodiscard]] std::string_view badge_color_of(status s) noexcept;
[[nodiscard]] std::string_view badge_color_of_ratio(double ratio) noexcept;

/// `/api/v1/maintenance`: the windows, whether each is in progress, its bounds.
[[nodiscard]] typed_response render_maintenance(const std::vector<maintenance_info>& windows,
                                                std::chrono::system_clock::time_point now);

/// `/health` (all checks, `only == nullptr`) or `/health/<check>` as application/health+json.
[[nodiscard]] typed_response render_health(const render_context& ctx,
                                           const check_state* only = nullptr);

/// The aggregated status shown by `/health`: the worst critical status (`unknown` is worse than
/// `fail`, and rendered as "fail"), non-critical problems as warn, fail while shutting down.
[[nodiscard]] status overall_status(const snapshot& snap) noexcept;

}  // namespace vitals::http::detail
