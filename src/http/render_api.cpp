// The read API's bodies: /api/v1/targets and /api/v1/targets/<name> (docs/api.md).

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "render.hpp"
#include "render_json.hpp"

namespace vitals::http::detail {

namespace {

using json = nlohmann::ordered_json;

json probes_of(const check_options& o) {
  constexpr std::pair<probe, const char*> names[] = {
      {probe::live, "live"}, {probe::ready, "ready"}, {probe::startup, "startup"}};
  json out = json::array();
  for (const auto& [p, name] : names) {
    if (o.probes.contains(p)) out.push_back(name);
  }
  return out;
}

json target_object(const render_context& ctx, const target_catalog::map* catalog,
                   const check_state& c) {
  json o = json::object();
  o["name"] = c.name;
  o["type"] = c.traits.type;
  if (catalog != nullptr) {
    if (const auto it = catalog->find(c.name); it != catalog->end()) {
      o["group"] = it->second.group;
      json labels = json::object();
      for (const auto& [k, v] : it->second.labels) labels[k] = v;
      o["labels"] = std::move(labels);
    }
  }
  const result& r = c.reported;
  o["status"] = to_string(r.status);
  o["critical"] = c.options.critical;
  o["probes"] = probes_of(c.options);
  o["runs"] = c.runs;
  o["timeouts"] = c.timeouts;
  o["transitions"] = c.transitions;
  o["consecutive_failures"] = c.consecutive_failures;
  o["last_result"] =
      r.time == std::chrono::system_clock::time_point{} ? json(nullptr) : json(rfc3339(r.time));
  o["duration_ms"] =
      c.runs == 0 ? json(nullptr)
                  : json(std::chrono::duration<double, std::milli>(c.last_run.duration).count());
  if (r.kind != failure_kind::none) o["kind"] = to_string(r.kind);
  if (!ctx.detailed) return o;
  if (r.status != status::pass) o["output"] = describe(ctx, c);
  if (r.observed) {
    json v;
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::string>) {
            v = ctx.scrubber.scrub(x);
          } else {
            v = x;
          }
        },
        r.observed->value);
    o["observed"] = {{"value", std::move(v)}, {"unit", r.observed->unit}};
  }
  return o;
}

}  // namespace

typed_response render_targets(const render_context& ctx, const target_catalog::map* catalog,
                              const check_state* only) {
  json doc;
  if (only != nullptr) {
    doc = target_object(ctx, catalog, *only);
  } else {
    json list = json::array();
    for (const check_state& c : ctx.snap.checks) list.push_back(target_object(ctx, catalog, c));
    doc = {{"count", list.size()}, {"targets", std::move(list)}};
  }
  return json_answer(doc);
}

}  // namespace vitals::http::detail
