// IETF draft-inadarei-api-health-check-06 bodies (/health, /health/<check>).

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "render.hpp"

namespace vitals::http::detail {

namespace {

// Insertion order keeps the documents in the draft's field order, which people read.
using json = nlohmann::ordered_json;

// The draft has no "unknown": a check that has not run yet must never read as a pass.
std::string_view shown(status s) noexcept {
  return to_string(s == status::unknown ? status::fail : s);
}

std::string check_key(const check_state& c) {
  const std::string& m =
      c.options.measurement.empty() ? c.traits.measurement : c.options.measurement;
  return m.empty() ? c.name : c.name + ":" + m;
}

json check_object(const render_context& ctx, const check_state& c) {
  json o = json::object();
  const result& r = c.reported;
  if (!ctx.detailed) {
    o["status"] = shown(r.status);
    return o;
  }
  o["componentId"] = c.name;
  const std::string& type =
      c.options.component_type.empty() ? c.traits.component_type : c.options.component_type;
  if (!type.empty()) o["componentType"] = type;
  if (r.observed) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>) {
            o["observedValue"] = ctx.scrubber.scrub(v);
          } else {
            o["observedValue"] = v;
          }
        },
        r.observed->value);
    if (!r.observed->unit.empty()) o["observedUnit"] = r.observed->unit;
  }
  o["status"] = shown(r.status);
  if (r.time != std::chrono::system_clock::time_point{}) o["time"] = rfc3339(r.time);
  if (r.status != status::pass) o["output"] = describe(ctx, c);
  if (!r.details.empty()) {
    json d = json::object();
    for (const auto& [key, value] : r.details) {
      d[key] = redactor::is_secret_key(key) ? std::string{"***"} : ctx.scrubber.scrub(value);
    }
    o["details"] = std::move(d);
  }
  return o;
}

void put_if(json& doc, const char* key, const render_context& ctx, const std::string& value) {
  if (!value.empty()) doc[key] = ctx.scrubber.scrub(value);
}

}  // namespace

typed_response render_health(const render_context& ctx, const check_state* only) {
  const snapshot& snap = ctx.snap;
  const status agg = only != nullptr ? only->reported.status : overall_status(snap);

  json doc = json::object();
  doc["status"] = shown(agg);
  if (ctx.detailed) {
    put_if(doc, "version", ctx, snap.info.version);
    put_if(doc, "releaseId", ctx, snap.info.release_id);
    put_if(doc, "serviceId", ctx, snap.info.service_id);
    put_if(doc, "description", ctx, snap.info.description);
    if (only == nullptr && snap.shutting_down) doc["output"] = "process is shutting down";
  }
  json checks = json::object();
  if (only != nullptr) {
    checks[check_key(*only)] = json::array({check_object(ctx, *only)});
  } else {
    for (const check_state& c : snap.checks) {
      checks[check_key(c)] = json::array({check_object(ctx, c)});
    }
  }
  doc["checks"] = std::move(checks);
  // Replace rather than throw on invalid UTF-8: a check's output is whatever a peer sent us.
  std::string body = doc.dump(-1, ' ', false, json::error_handler_t::replace);
  return make_typed(code_for(ctx.codes, agg), health_json, std::move(body));
}

}  // namespace vitals::http::detail
