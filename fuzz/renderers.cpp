// The health+json, Kubernetes and read-API renderers over snapshots built from the fuzz input:
// adversarial check names, outputs, details, observed values, units and service info.
//
// Properties: /health and /api/v1/targets are valid JSON (parsed back with nlohmann_json), with
// a status and the checks, every check listed; probe bodies stay below 1 KiB; the /metrics
// series of the snapshot are a valid exposition in both formats (every line a comment or
// `name{label="value",...} number`, label values escaped printable ASCII); no rendering shows a
// registered secret (raw or percent-encoded) unless the fuzz input put it in a field that is
// configuration, not output (check names, units, types, measurements, detail keys: never
// scrubbed by design) or the caller's own request (exclude= names).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "event_stream.hpp"
#include "fuzz_util.hpp"
#include "metrics.hpp"
#include "render.hpp"

namespace {

using namespace vitals;
using vitals_fuzz::require;

constexpr std::string_view secret = "hunter2-S3CRET";
constexpr std::string_view secret_url = "p@ss:w/rd 42";
constexpr std::string_view secret_url_encoded = "p%40ss%3Aw%2Frd%2042";

std::string expand(std::string_view field) {
  // '\x1e' in a field stands for the secret, '\x1d' for the URL-ish one: the fuzzer reaches them
  // without guessing their bytes.
  std::string out;
  for (const char c : field) {
    if (c == '\x1e') {
      out += secret;
    } else if (c == '\x1d') {
      out += secret_url;
    } else {
      out += c;
    }
  }
  return out;
}

bool metric_name(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// One line of the text exposition formats (Prometheus 0.0.4 / OpenMetrics 1.0).
bool exposition_line(std::string_view line) {
  if (line.starts_with("# HELP ") || line.starts_with("# TYPE ") || line.starts_with("# UNIT ")) {
    const std::string_view rest = line.substr(7);
    return metric_name(rest.substr(0, rest.find(' ')));
  }
  const std::size_t name_end = line.find_first_of("{ ");
  if (name_end == std::string_view::npos || !metric_name(line.substr(0, name_end))) return false;
  std::size_t i = name_end;
  if (line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const std::size_t eq = line.find('=', i);
      if (eq == std::string_view::npos || !metric_name(line.substr(i, eq - i))) return false;
      i = eq + 1;
      if (i >= line.size() || line[i] != '"') return false;
      for (++i; i < line.size() && line[i] != '"'; ++i) {
        const auto c = static_cast<unsigned char>(line[i]);
        if (c < 0x20 || c >= 0x7f) return false;
        if (c == '\\') {
          if (++i >= line.size() || (line[i] != '\\' && line[i] != '"' && line[i] != 'n')) {
            return false;
          }
        }
      }
      if (i >= line.size()) return false;
      ++i;  // the closing quote
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return false;
    ++i;  // '}'
  }
  if (i >= line.size() || line[i] != ' ') return false;
  const std::string value{line.substr(i + 1)};
  if (value == "+Inf" || value == "-Inf" || value == "NaN") return true;
  char* end = nullptr;
  static_cast<void>(std::strtod(value.c_str(), &end));
  return !value.empty() && end == value.c_str() + value.size();
}

bool shows_secret(std::string_view s) {
  return s.find(secret) != std::string_view::npos || s.find(secret_url) != std::string_view::npos ||
         s.find(secret_url_encoded) != std::string_view::npos;
}

result make_result(vitals_fuzz::reader& in) {
  const unsigned b = in.byte();
  result r;
  r.status = static_cast<status>(b & 3);
  r.kind = static_cast<failure_kind>((b >> 2) % 10);
  r.output = expand(in.field());
  if ((b & 0x40) != 0) {
    const unsigned k = in.byte();
    const std::string unit{in.field()};
    switch (k % 4) {
      case 0:
        r.observe(static_cast<std::int64_t>(k * 1000003) - 500, unit);
        break;
      case 1:
        r.observe(static_cast<double>(k) / 7.0, unit);
        break;
      case 2:
        r.observe(k % 8 == 2 ? std::numeric_limits<double>::quiet_NaN()
                             : std::numeric_limits<double>::infinity(),
                  unit);
        break;
      default:
        r.observe(expand(in.field()), unit);
        break;
    }
  }
  const unsigned details = in.byte() % 4;
  for (unsigned i = 0; i < details; ++i) {
    std::string key{in.field()};
    r.detail(std::move(key), expand(in.field()));
  }
  if ((b & 0x80) != 0) r.time = std::chrono::system_clock::time_point{std::chrono::seconds{b}};
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vitals_fuzz::reader in{data, size};
  const unsigned flags = in.byte();
  const unsigned count = in.byte() % 9;
  std::vector<check_state> states;
  bool secret_in_config = false;
  for (unsigned i = 0; i < count; ++i) {
    check_state c;
    // Any bytes, but no longer than the registry allows (1 to 64 characters): the engine's
    // snapshots hold registered names only, and probe bodies are bounded for those.
    c.name = expand(in.field()).substr(0, 64);
    const unsigned o = in.byte();
    c.options.probes = probe_set{};
    if ((o & 1) != 0) c.options.probes |= live;
    if ((o & 2) != 0) c.options.probes |= ready;
    if ((o & 4) != 0) c.options.probes |= startup;
    c.options.critical = (o & 8) == 0;
    if ((o & 16) != 0) c.options.measurement = expand(in.field());
    if ((o & 32) != 0) c.options.component_type = expand(in.field());
    c.reported = make_result(in);
    c.runs = (o & 64) != 0 ? 0 : 1;
    // /health keys a check as "<name>:<measurement>": the two can spell a secret together.
    secret_in_config = secret_in_config || shows_secret(c.name) ||
                       shows_secret(c.options.measurement) ||
                       shows_secret(c.name + ":" + c.options.measurement) ||
                       shows_secret(c.options.component_type) ||
                       (c.reported.observed && shows_secret(c.reported.observed->unit));
    for (const auto& [key, value] : c.reported.details) {
      secret_in_config = secret_in_config || shows_secret(key);
    }
    states.push_back(std::move(c));
  }
  snapshot snap;
  snap.generation = 1;
  snap.checks = check_list{std::move(states)};
  snap.info.service_id = expand(in.field());
  snap.info.version = expand(in.field());
  snap.info.description = expand(in.field());
  snap.shutting_down = (flags & 1) != 0;
  snap.startup_latched = (flags & 2) != 0;
  snap.tallied = false;

  redactor scrubber;
  scrubber.add_secret(std::string{secret});
  scrubber.add_secret(std::string{secret_url});
  const http::status_codes codes{};
  const bool detailed = (flags & 4) != 0;
  const http::detail::render_context ctx{snap, codes, scrubber, detailed};

  auto check_body = [&](const std::string& body, const char* what) {
    if (!secret_in_config) require(!shows_secret(body), what, body);
  };

  // /health and /health/<check>: valid JSON.
  const auto health = http::detail::render_health(ctx);
  const auto doc = nlohmann::json::parse(health.body, nullptr, false);
  require(!doc.is_discarded(), "/health is not valid JSON", health.body);
  require(doc.contains("status") && doc.contains("checks"), "/health lacks status or checks",
          health.body);
  check_body(health.body, "/health shows a secret");
  for (const check_state& c : snap.checks) {
    const auto one = http::detail::render_health(ctx, &c);
    require(!nlohmann::json::parse(one.body, nullptr, false).is_discarded(),
            "/health/<check> is not valid JSON", one.body);
    check_body(one.body, "/health/<check> shows a secret");
  }

  // /api/v1/targets and /api/v1/targets/<name>: valid JSON, every check listed once.
  http::target_catalog::map catalog;
  if (!snap.checks.empty()) {
    catalog.emplace(snap.checks[0].name, http::target_meta{.group = "g", .labels = {{"k", "v"}}});
  }
  const auto targets = http::detail::render_targets(ctx, (flags & 32) != 0 ? &catalog : nullptr);
  const auto list = nlohmann::json::parse(targets.body, nullptr, false);
  require(!list.is_discarded(), "/api/v1/targets is not valid JSON", targets.body);
  require(list.contains("targets") && list["targets"].size() == snap.checks.size(),
          "/api/v1/targets does not list every check", targets.body);
  check_body(targets.body, "/api/v1/targets shows a secret");
  for (const check_state& c : snap.checks) {
    const auto one = http::detail::render_targets(ctx, &catalog, &c);
    require(!nlohmann::json::parse(one.body, nullptr, false).is_discarded(),
            "/api/v1/targets/<name> is not valid JSON", one.body);
    check_body(one.body, "/api/v1/targets/<name> shows a secret");
  }

  // The probes, terse and verbose, with and without exclusions; and one check of each.
  std::vector<std::string> excluded;
  if ((flags & 8) != 0) {
    // The caller's own `exclude=` text is echoed on the warn line: not a leak.
    excluded.emplace_back(expand(in.field()));
    secret_in_config = secret_in_config || shows_secret(excluded.back());
  }
  if ((flags & 16) != 0 && !snap.checks.empty()) excluded.push_back(snap.checks[0].name);
  for (const probe p : {probe::live, probe::ready, probe::startup}) {
    for (const bool verbose : {false, true}) {
      const auto r = http::detail::render_probe(ctx, p, verbose, excluded);
      require(r.body.size() <= http::detail::max_probe_body, "probe body of 1 KiB or more", r.body);
      check_body(r.body, "probe body shows a secret");
      for (const check_state& c : snap.checks) {
        const auto one = http::detail::render_probe_check(ctx, p, c, verbose);
        require(one.body.size() <= http::detail::max_probe_body, "check body of 1 KiB or more",
                one.body);
        check_body(one.body, "probe check body shows a secret");
      }
    }
  }
  // /api/v1/events: a change of every check, each frame's data one line of valid JSON.
  std::vector<http::status_event> changes;
  std::uint64_t id = 1764817200000000;
  for (const check_state& c : snap.checks) {
    changes.push_back({.id = ++id,
                       .check = c.name,
                       .from = c.last_run.status,
                       .to = c.reported.status,
                       .kind = c.reported.kind,
                       .time = c.reported.time,
                       .duration = c.last_run.duration,
                       .output = c.reported.output});
  }
  http::detail::event_batch batch;
  http::detail::render_batch(batch, scrubber, (flags & 32) != 0 ? &catalog : nullptr, changes);
  for (const std::string* text : {&batch.public_text, &batch.detailed_text}) {
    check_body(*text, "an event shows a secret");
    std::size_t frames = 0;
    std::string_view rest = *text;
    while (!rest.empty()) {
      const std::size_t end = rest.find("\n\n");
      require(end != std::string_view::npos, "an event frame is not terminated", *text);
      const std::string_view f = rest.substr(0, end);
      const std::size_t data = f.find("\ndata: ");
      require(f.rfind("id: ", 0) == 0 && data != std::string_view::npos,
              "an event frame lacks id or data", f);
      const std::string_view json_text = f.substr(data + 7);
      require(json_text.find('\n') == std::string_view::npos, "an event's data spans lines", f);
      require(!nlohmann::json::parse(json_text, nullptr, false).is_discarded(),
              "an event's data is not valid JSON", f);
      ++frames;
      rest.remove_prefix(end + 2);
    }
    require(frames == changes.size(), "not one event frame per change", *text);
  }

  // The snapshot part of /metrics, in both formats.
  for (const auto format :
       {http::detail::metrics_format::prometheus, http::detail::metrics_format::openmetrics}) {
    const auto m = http::detail::render_snapshot_metrics(ctx, format);
    check_body(m.body, "/metrics shows a secret");
    std::string_view rest = m.body;
    while (!rest.empty()) {
      const std::size_t nl = rest.find('\n');
      require(nl != std::string_view::npos, "/metrics does not end with a newline", m.body);
      require(exposition_line(rest.substr(0, nl)), "/metrics line is not valid exposition",
              rest.substr(0, nl));
      rest.remove_prefix(nl + 1);
    }
  }
  return 0;
}
