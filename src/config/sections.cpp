#include "config/sections.hpp"

#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/format.hpp"
#include "vitals/config.hpp"
#include "vitals/registry.hpp"
#include "vitals/snapshot.hpp"

namespace vitals::config::detail {
namespace {

using std::chrono::milliseconds;

probe_set to_probes(const value& v) {
  probe_set set;
  for (const auto& p : std::get<std::vector<std::string>>(v)) {
    if (p == "live") set |= vitals::live;
    if (p == "ready") set |= vitals::ready;
    if (p == "startup") set |= vitals::startup;
  }
  return set;
}

std::vector<std::string> from_probes(probe_set set) {
  std::vector<std::string> out;
  if (set.contains(probe::live)) out.emplace_back("live");
  if (set.contains(probe::ready)) out.emplace_back("ready");
  if (set.contains(probe::startup)) out.emplace_back("startup");
  return out;
}

section_builder<check_options> common_keys(std::string name, std::string doc, bool all) {
  section_builder<check_options> b{std::move(name), std::move(doc)};
  b.custom(
      "probes", value_kind::string_list,
      "Probes the check counts in: live, ready, startup. `live` only takes process-local checks. "
      "[] = a monitored target: in no probe of this process (shown in /health, /metrics and "
      "notifications).",
      [](check_options& o, const value& v) { o.probes = to_probes(v); },
      value{from_probes(check_options{}.probes)}, {}, {"live", "ready", "startup"});
  b.key("critical", &check_options::critical,
        "A failure fails the probe; non-critical failures only make it warn (HTTP 200).");
  b.choice("mode", &check_options::mode,
           {{"background", schedule::background}, {"on_demand", schedule::on_demand}},
           "background: runs on its interval; on_demand: runs when a probe asks and the last "
           "result is older than its TTL.");
  b.key("interval", &check_options::interval, "Time between the end of a run and the next.");
  b.key("timeout", &check_options::timeout,
        "Enforced by the runner: at the deadline the result is fail/timeout. Must be < interval.");
  b.key("initial_delay", &check_options::initial_delay, "Delay before the first run.");
  b.key("jitter", &check_options::jitter,
        "Each interval is stretched by a random fraction in [0, jitter) of itself.",
        {.min = 0.0, .max = 1.0});
  b.key("failure_threshold", &check_options::failure_threshold,
        "Consecutive failures before a passing check is reported failing.", {.min = 1.0});
  b.key("success_threshold", &check_options::success_threshold,
        "Consecutive passes before a failing check recovers (the first success counts at once).",
        {.min = 1.0});
  b.key("ttl_pass", &check_options::ttl_pass,
        "on_demand: how long a passing result is reused (0 = interval).");
  b.key("ttl_fail", &check_options::ttl_fail,
        "on_demand: how long a failing result is reused (0 = interval).");
  b.key("max_staleness", &check_options::max_staleness,
        "A result older than this is reported fail/stale (0 = 2 * interval + timeout).");
  if (all) {
    b.key("allow_in_live", &check_options::allow_in_live,
          "Allow a dependency check (database, cache, network) in the live probe.");
    b.key("component_type", &check_options::component_type,
          "Overrides the IETF componentType shown in /health.");
    b.key("measurement", &check_options::measurement,
          "Overrides the IETF measurement name shown in /health.");
  }
  return b;
}

}  // namespace

const section_spec& check_common_section() {
  static const section_spec s =
      common_keys("check", "Keys every check accepts, whatever its type.", true).section();
  return s;
}

const section_spec& defaults_section() {
  static const section_spec s =
      common_keys("defaults", "Defaults for every check (each check may override them).", false)
          .section();
  return s;
}

const section_spec& service_section() {
  static const section_spec s = [] {
    section_builder<service_info> b{"service", "Shown in /health (IETF health check fields)."};
    b.key("id", &service_info::service_id, "serviceId.");
    b.key("version", &service_info::version, "version.");
    b.key("release_id", &service_info::release_id, "releaseId.");
    b.key("description", &service_info::description, "description.");
    return b.section();
  }();
  return s;
}

const section_spec& engine_section() {
  static const section_spec s = [] {
    section_builder<daemon_config> b{"engine", "The check engine."};
    b.key("max_threads", &daemon_config::max_threads,
          "Upper bound of the pool running blocking checks (0 = one per check, at most 64).",
          {.min = 0.0, .max = 1024.0});
    b.key("self_check", &daemon_config::self_check,
          "Add the engine's own check \"engine\" (probe ready, non-critical): it warns while "
          "runs start later than lag_warn (p99), i.e. while the engine cannot keep up.");
    b.key("lag_warn", &daemon_config::lag_warn,
          "Start lag (p99 over the last 10 to 20 s) above which the engine check warns.");
    return b.section();
  }();
  return s;
}

const section_spec& shutdown_section() {
  static const section_spec s = [] {
    section_builder<shutdown_config> b{
        "shutdown", "SIGTERM/SIGINT: readiness fails at once, liveness stays up, then exit."};
    b.key("drain_delay", &shutdown_config::drain_delay,
          "How long to keep serving (readiness failing) after SIGTERM.");
    b.key("grace_period", &shutdown_config::grace_period,
          "Hard bound from SIGTERM to exit; must exceed drain_delay.");
    return b.section();
  }();
  return s;
}

const section_spec& log_section() {
  static const section_spec s = [] {
    section_builder<log_config> b{"log", "Structured logs on stderr."};
    b.choice("format", &log_config::format,
             {{"text", log_format::text}, {"json", log_format::json}},
             "text or json (one object per line).");
    b.custom("level", value_kind::string, "Minimum level.",
             [](log_config& o, const value& v) { o.level = std::get<std::string>(v); },
             value{log_config{}.level}, {},
             {"trace", "debug", "info", "warn", "error", "critical", "off"});
    return b.section();
  }();
  return s;
}

namespace {

template <class T, T daemon_config::*member>
void* bind_member(document& d) {
  return &(d.cfg.*member);
}

std::optional<key_problem> drain_shorter_than_grace(const document& d) {
  const auto& s = d.cfg.shutdown;
  if (s.drain_delay < s.grace_period) return std::nullopt;
  return key_problem{.key = "drain_delay",
                     .message = "drain_delay (" + format_duration(s.drain_delay) +
                                ") must be shorter than grace_period (" +
                                format_duration(s.grace_period) + ")"};
}

top_level_key mapping(const section_spec& s, std::function<void*(document&)> bind) {
  return {.name = s.name, .doc = s.doc, .section = &s, .bind = std::move(bind)};
}

}  // namespace

const std::vector<top_level_key>& top_level() {
  static const std::vector<top_level_key> keys = [] {
    auto shutdown =
        mapping(shutdown_section(), bind_member<shutdown_config, &daemon_config::shutdown>);
    shutdown.rule = drain_shorter_than_grace;
    auto defaults = mapping(defaults_section(), [](document& d) -> void* { return &d.defaults; });
    defaults.check_defaults = true;
    return std::vector<top_level_key>{
        listen_key(),
        metrics_listen_key(),
        mapping(service_section(), bind_member<service_info, &daemon_config::info>),
        auth_key(),
        http_key(),
        server_key(),
        mapping(engine_section(), [](document& d) -> void* { return &d.cfg; }),
        std::move(shutdown),
        mapping(log_section(), bind_member<log_config, &daemon_config::log>),
        std::move(defaults),
        {.name = "checks",
         .doc = "The checks: a list of mappings with at least name and type.",
         .shape = section_shape::check_list},
        {.name = "targets",
         .doc = "Groups of monitored targets (docs/monitor.md): each group expands a list of "
                "URLs, host:ports or mappings into checks of one type named <group>.<target>, "
                "sharing the group's keys and labels; probes default to [] (not part of this "
                "process's probes).",
         .shape = section_shape::target_groups},
        grpc_key(),
        notify_key(),
        notify_state_key(),
        storage_key(),
    };
  }();
  return keys;
}

std::string format_duration(std::chrono::milliseconds d) {
  return base::format_duration(d, base::duration_style::exact);
}

std::string to_text(const value& v) {
  struct visitor {
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(std::int64_t n) const { return std::to_string(n); }
    std::string operator()(double d) const {
      if (std::abs(d) < 1e15 && d == std::floor(d)) {
        return std::to_string(static_cast<std::int64_t>(d));
      }
      std::string s = std::to_string(d);
      while (s.size() > 1 && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
      return s;
    }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::chrono::milliseconds d) const { return format_duration(d); }
    std::string operator()(const std::vector<std::string>& l) const {
      std::string out = "[";
      for (const auto& s : l) out += (out.size() > 1 ? ", " : "") + s;
      return out + "]";
    }
    std::string operator()(const std::vector<std::int64_t>& l) const {
      std::string out = "[";
      for (auto n : l) out += (out.size() > 1 ? ", " : "") + std::to_string(n);
      return out + "]";
    }
    std::string operator()(const string_pairs& m) const {
      std::string out = "{";
      for (const auto& [k, val] : m) out += (out.size() > 1 ? ", " : "") + k + ": " + val;
      return out + "}";
    }
  };
  return std::visit(visitor{}, v);
}

}  // namespace vitals::config::detail
