// The history API's bodies: /api/v1/uptime, /api/v1/history/<target>, /api/v1/incidents and
// /api/v1/maintenance (docs/api.md).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "render.hpp"
#include "render_json.hpp"

namespace vitals::http::detail {

namespace {

using json = nlohmann::ordered_json;

json uptime_object(const target_uptime& u) {
  json o = json::object();
  for (const auto& w : u.windows) {
    const auto ratio = w.ratio();
    o[w.window] = {{"ratio", ratio ? json(*ratio) : json(nullptr)},
                   {"runs", w.count},
                   {"failures", w.failures}};
  }
  return o;
}

std::string_view resolution_name(history_resolution r) noexcept {
  switch (r) {
    case history_resolution::minute:
      return "minute";
    case history_resolution::hour:
      return "hour";
    case history_resolution::day:
      return "day";
  }
  return "minute";
}

// To three decimals (milliseconds to the microsecond, seconds to the millisecond): what was
// measured, without the noise of interpolation.
double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

}  // namespace

typed_response render_uptimes(const std::vector<target_uptime>& table,
                              const std::function<bool(std::string_view)>& listed,
                              std::chrono::system_clock::time_point generated) {
  json list = json::array();
  for (const auto& u : table) {
    if (!listed(u.target)) continue;  // removed: its rows expire in time
    list.push_back({{"name", u.target}, {"uptime", uptime_object(u)}});
  }
  return json_answer(
      {{"generated", rfc3339(generated)}, {"count", list.size()}, {"targets", std::move(list)}});
}

typed_response render_history(const render_context& ctx, const target_uptime& up,
                              const history_query& q, const history_reader& history,
                              std::chrono::system_clock::time_point now) {
  const std::string_view target = up.target;
  const auto from = now - q.window;
  json buckets = json::array();
  for (const auto& b : history.buckets(target, q.resolution, from, now + std::chrono::seconds{1})) {
    buckets.push_back({{"start", rfc3339(b.start)},
                       {"runs", b.count},
                       {"failures", b.failures},
                       {"min_ms", round3(b.min_ms)},
                       {"avg_ms", round3(b.avg_ms)},
                       {"max_ms", round3(b.max_ms)},
                       {"p50_ms", round3(b.p50_ms)},
                       {"p95_ms", round3(b.p95_ms)},
                       {"p99_ms", round3(b.p99_ms)}});
  }
  json transitions = json::array();
  for (const auto& t : history.transitions(target, from, now + std::chrono::seconds{1}, 100)) {
    json o = {{"time", rfc3339(t.time)}, {"from", to_string(t.from)}, {"to", to_string(t.to)}};
    if (ctx.detailed && !t.output.empty()) o["output"] = ctx.scrubber.scrub(t.output);
    transitions.push_back(std::move(o));
  }
  json recent = json::array();
  for (const auto& r : history.recent(target, 20)) {
    json o = {{"time", rfc3339(r.time)},
              {"status", to_string(r.result)},
              {"duration_ms", std::chrono::duration<double, std::milli>(r.duration).count()}};
    if (r.kind != failure_kind::none) o["kind"] = to_string(r.kind);
    if (ctx.detailed && r.result != status::pass && !r.output.empty()) {
      o["output"] = ctx.scrubber.scrub(r.output);
    }
    recent.push_back(std::move(o));
  }
  const auto width = q.resolution == history_resolution::minute ? 60
                     : q.resolution == history_resolution::hour ? 3600
                                                                : 86400;
  return json_answer({{"name", target},
                      {"resolution", resolution_name(q.resolution)},
                      {"bucket_seconds", width},
                      {"from", rfc3339(from)},
                      {"to", rfc3339(now)},
                      {"uptime", uptime_object(up)},
                      {"buckets", std::move(buckets)},
                      {"transitions", std::move(transitions)},
                      {"recent", std::move(recent)}});
}

typed_response render_incidents(const render_context& ctx,
                                const std::vector<history_incident>& incidents,
                                const std::function<bool(std::string_view)>& listed,
                                std::chrono::system_clock::time_point from,
                                std::chrono::system_clock::time_point now) {
  json list = json::array();
  for (const auto& i : incidents) {
    // An incident left open by a target removed from the configuration is no longer going on
    // (nothing checks it): not listed.
    if (!i.end && !listed(i.target)) continue;
    const auto end = i.end.value_or(now);
    json o = {{"target", i.target},
              {"start", rfc3339(i.start)},
              {"end", i.end ? json(rfc3339(*i.end)) : json(nullptr)},
              {"ongoing", !i.end.has_value()},
              {"duration_s",
               std::max(0.0, round3(std::chrono::duration<double>(end - i.start).count()))}};
    if (ctx.detailed && !i.cause.empty()) o["cause"] = ctx.scrubber.scrub(i.cause);
    list.push_back(std::move(o));
  }
  return json_answer({{"from", rfc3339(from)},
                      {"to", rfc3339(now)},
                      {"count", list.size()},
                      {"incidents", std::move(list)}});
}

typed_response render_maintenance(const std::vector<maintenance_info>& windows,
                                  std::chrono::system_clock::time_point now) {
  json list = json::array();
  std::size_t active = 0;
  for (const auto& w : windows) {
    if (w.active) ++active;
    list.push_back({{"notifier", w.notifier},
                    {"window", w.window},
                    {"active", w.active},
                    {"start", w.start ? json(rfc3339(*w.start)) : json(nullptr)},
                    {"end", w.end ? json(rfc3339(*w.end)) : json(nullptr)}});
  }
  return json_answer({{"generated", rfc3339(now)},
                      {"count", list.size()},
                      {"active", active},
                      {"windows", std::move(list)}});
}

}  // namespace vitals::http::detail
