// `/metrics`: the exposition formats (Prometheus text 0.0.4, OpenMetrics 1.0), the series of a
// snapshot and the figures read at scrape time. See docs/metrics.md for every series.

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/text.hpp"
#include "metrics.hpp"

#ifndef VITALS_VERSION
#define VITALS_VERSION "unknown"
#endif

namespace vitals::http::detail {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out.append("NaN");
    return;
  }
  if (std::isinf(v)) {
    out.append(v > 0 ? "+Inf" : "-Inf");
    return;
  }
  std::array<char, 32> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), r.ptr);
}

void append_number(std::string& out, std::uint64_t v) {
  std::array<char, 24> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), r.ptr);
}

// A bucket bound as OpenMetrics spells it canonically: always with a fraction ("1.0").
std::string bound_text(double b) {
  std::string s;
  append_number(s, b);
  if (s.find_first_of(".eE") == std::string::npos) s.append(".0");
  return s;
}

double seconds_since_epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

constexpr std::array<status, 4> all_statuses{status::pass, status::warn, status::fail,
                                             status::unknown};
constexpr std::array<probe, 3> all_probes{probe::live, probe::ready, probe::startup};

std::string status_label(status s) { return "status=\"" + std::string{to_string(s)} + "\""; }

// Every check's labels, formatted once per rendering.
std::vector<std::string> check_labels(const snapshot& snap) {
  std::vector<std::string> labels;
  labels.reserve(snap.checks.size());
  for (const check_state& c : snap.checks) {
    std::string l = "check=\"";
    append_label_value(l, c.name);
    l.append("\",type=\"");
    append_label_value(l, c.traits.type);
    l.push_back('"');
    labels.push_back(std::move(l));
  }
  return labels;
}

template <class Value>
void per_check(metrics_writer& w, const snapshot& snap, const std::vector<std::string>& labels,
               Value&& value) {
  for (std::size_t i = 0; i < snap.checks.size(); ++i) value(w, labels[i], snap.checks[i]);
}

// A numeric observed value, if the check has one.
std::optional<double> numeric(const check_state& c) {
  const auto& o = c.reported.observed;
  if (!o) return std::nullopt;
  if (const auto* i = std::get_if<std::int64_t>(&o->value)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&o->value)) return *d;
  if (const auto* b = std::get_if<bool>(&o->value)) return *b ? 1.0 : 0.0;
  return std::nullopt;
}

// Observed values in Prometheus' base units where the unit is a known one (durations in
// seconds, sizes in bytes, percentages as ratios); any other unit is kept as the check says.
struct base_value {
  double value;
  std::string_view unit;
};
base_value in_base_unit(double v, std::string_view unit) noexcept {
  struct scale {
    std::string_view from;
    double factor;
    std::string_view to;
  };
  static constexpr std::array<scale, 19> scales{{
      {"ns", 1e-9, "seconds"},
      {"us", 1e-6, "seconds"},
      {"µs", 1e-6, "seconds"},
      {"ms", 1e-3, "seconds"},
      {"s", 1, "seconds"},
      {"seconds", 1, "seconds"},
      {"m", 60, "seconds"},
      {"min", 60, "seconds"},
      {"h", 3600, "seconds"},
      {"days", 86400, "seconds"},
      {"percent", 0.01, "ratio"},
      {"%", 0.01, "ratio"},
      {"B", 1, "bytes"},
      {"bytes", 1, "bytes"},
      {"KiB", 1024.0, "bytes"},
      {"MiB", 1048576.0, "bytes"},
      {"GiB", 1073741824.0, "bytes"},
      {"kB", 1e3, "bytes"},
      {"MB", 1e6, "bytes"},
  }};
  for (const scale& s : scales) {
    if (s.from == unit) return {v * s.factor, s.to};
  }
  return {v, unit};
}

void write_checks(metrics_writer& w, const snapshot& snap) {
  const std::vector<std::string> labels = check_labels(snap);
  std::array<std::string, 4> statuses;
  for (std::size_t i = 0; i < all_statuses.size(); ++i) statuses[i] = status_label(all_statuses[i]);

  w.family("vitals_check_status", metric_type::gauge,
           "Reported status of the check (after thresholds): 1 for the current one.");
  per_check(w, snap, labels, [&](metrics_writer& m, const std::string& l, const check_state& c) {
    for (std::size_t i = 0; i < all_statuses.size(); ++i) {
      m.sample(l, statuses[i], c.reported.status == all_statuses[i] ? 1.0 : 0.0);
    }
  });
  w.family("vitals_check_critical", metric_type::gauge,
           "1 if a failure of the check fails its probes, 0 if it only makes them warn.");
  per_check(w, snap, labels, [](metrics_writer& m, const std::string& l, const check_state& c) {
    m.sample(l, c.options.critical ? 1.0 : 0.0);
  });
  w.family("vitals_check_in_probe", metric_type::gauge, "1 for each probe the check counts in.");
  for (const check_state& c : snap.checks) {
    std::string l = "check=\"";
    append_label_value(l, c.name);
    l.push_back('"');
    for (const probe p : all_probes) {
      if (!c.options.probes.contains(p)) continue;
      w.sample(l, "probe=\"" + std::string{to_string(p)} + "\"", 1.0);
    }
  }
  w.family("vitals_check_duration_seconds", metric_type::histogram,
           "Duration of the check's runs (a run timed out by the runner lasts its timeout).");
  per_check(w, snap, labels, [](metrics_writer& m, const std::string& l, const check_state& c) {
    const std::vector<double> bounds = duration_bounds(c.options.timeout);
    const auto& k = c.counters;
    m.histogram(l, bounds, std::span{k.duration_buckets}.first(bounds.size() + 1),
                std::chrono::duration<double>(k.duration_sum).count());
  });
  w.family("vitals_check_runs", metric_type::counter, "Runs of the check by result.");
  per_check(w, snap, labels, [](metrics_writer& m, const std::string& l, const check_state& c) {
    static constexpr std::array<std::string_view, 3> results{R"(result="pass")", R"(result="warn")",
                                                             R"(result="fail")"};
    for (std::size_t i = 0; i < results.size(); ++i) {
      m.sample(l, results[i], static_cast<double>(c.counters.by_result[i]));
    }
  });
  w.family("vitals_check_failures", metric_type::counter,
           "Failed runs of the check by failure kind (kinds that occurred).");
  per_check(w, snap, labels, [](metrics_writer& m, const std::string& l, const check_state& c) {
    for (std::size_t i = 1; i < c.counters.by_kind.size(); ++i) {
      const std::uint64_t n = c.counters.by_kind[i];
      if (n == 0) continue;
      m.sample(l, "kind=\"" + std::string{to_string(static_cast<failure_kind>(i))} + "\"",
               static_cast<double>(n));
    }
  });
  w.family("vitals_check_timeouts", metric_type::counter,
           "Runs of the check timed out by the runner.");
  per_check(w, snap, labels, [](metrics_writer& m, const std::string& l, const check_state& c) {
    m.sample(l, c.timeouts);
  });
  w.family("vitals_check_late_results", metric_type::counter,
           "Results that arrived after their run had timed out (discarded).");
  per_check(w, snap, labels, [](metrics_writer& m, const std::string& l, const check_state& c) {
    m.sample(l, c.counters.late_results);
  });
  w.family("vitals_check_transitions", metric_type::counter,
           "Changes of the check's reported status.");
  per_check(w, snap, labels, [](metrics_writer& m, const std::string& l, const check_state& c) {
    m.sample(l, c.transitions);
  });
  w.family("vitals_check_last_run_timestamp_seconds", metric_type::gauge,
           "When the check's latest run finished (Unix time; 0 before the first run).");
  per_check(w, snap, labels, [](metrics_writer& m, const std::string& l, const check_state& c) {
    m.sample(l, c.runs == 0 ? 0.0 : seconds_since_epoch(c.last_run.time));
  });
  w.family("vitals_check_last_pass_timestamp_seconds", metric_type::gauge,
           "When the check's latest passing run finished (Unix time; 0 if it never passed).");
  per_check(w, snap, labels, [](metrics_writer& m, const std::string& l, const check_state& c) {
    const auto t = c.counters.last_pass;
    m.sample(l, t.time_since_epoch().count() == 0 ? 0.0 : seconds_since_epoch(t));
  });
  w.family("vitals_check_start_lag_seconds", metric_type::gauge,
           "How late the check's latest run started after it was due (the engine behind, or "
           "waiting for a pool thread); never part of its duration or timeout.");
  per_check(w, snap, labels, [](metrics_writer& m, const std::string& l, const check_state& c) {
    m.sample(l, std::chrono::duration<double>(c.lag).count());
  });
  w.family("vitals_check_consecutive_failures", metric_type::gauge,
           "Failed runs of the check in a row (0 after a pass or warn).");
  per_check(w, snap, labels, [](metrics_writer& m, const std::string& l, const check_state& c) {
    m.sample(l, static_cast<double>(c.consecutive_failures));
  });
  w.family("vitals_check_observed_value", metric_type::gauge,
           "The value the check observed (numeric values only), in base units where known.");
  per_check(w, snap, labels, [](metrics_writer& m, const std::string& l, const check_state& c) {
    const auto v = numeric(c);
    if (!v) return;
    const base_value b = in_base_unit(*v, c.reported.observed->unit);
    std::string unit = "unit=\"";
    append_label_value(unit, b.unit);
    unit.push_back('"');
    m.sample(l, unit, b.value);
  });
}

void write_probes(metrics_writer& w, const render_context& ctx) {
  std::array<status, 3> now{};
  for (std::size_t i = 0; i < all_probes.size(); ++i) now[i] = ctx.snap.probe_status(all_probes[i]);
  w.family("vitals_probe_status", metric_type::gauge,
           "Aggregated status of the probe: 1 for the current one.");
  for (std::size_t i = 0; i < all_probes.size(); ++i) {
    const std::string l = "probe=\"" + std::string{to_string(all_probes[i])} + "\"";
    for (const status s : all_statuses) w.sample(l, status_label(s), now[i] == s ? 1.0 : 0.0);
  }
  w.family("vitals_probe_http_code", metric_type::gauge,
           "HTTP status code the probe's endpoint answers now.");
  for (std::size_t i = 0; i < all_probes.size(); ++i) {
    const std::string l = "probe=\"" + std::string{to_string(all_probes[i])} + "\"";
    w.sample(l, static_cast<double>(code_for(ctx.codes, now[i])));
  }
}

// --- the process, read from /proc (Linux) at scrape time.

struct process_figures {
  double cpu_seconds = 0;
  double rss_bytes = 0;
  double virtual_bytes = 0;
  double start_time = 0;
  double open_fds = -1;
  double max_fds = -1;
  bool stat_ok = false;
};

// Seconds since the epoch at which the machine booted (`btime` of /proc/stat).
double boot_time() {
  static const double value = [] {
    std::ifstream in("/proc/stat");
    std::string key;
    double v = 0;
    while (in >> key) {
      if (key == "btime") {
        in >> v;
        return v;
      }
      in.ignore(1 << 20, '\n');
    }
    return 0.0;
  }();
  return value;
}

process_figures read_process() {
  process_figures p;
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (std::getline(in, line)) {
    // Fields after the command name (which may contain spaces) in parentheses.
    const auto close = line.rfind(')');
    if (close != std::string::npos) {
      std::istringstream rest(line.substr(close + 2));
      std::vector<std::string> f;
      std::string tok;
      while (rest >> tok) f.push_back(tok);
      // rest[0] is field 3 (state): utime 14, stime 15, starttime 22, vsize 23, rss 24.
      const auto field = [&](std::size_t n) -> double {
        return n - 3 < f.size() ? std::strtod(f[n - 3].c_str(), nullptr) : 0.0;
      };
      const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
      if (f.size() > 21 && ticks > 0) {
        p.cpu_seconds = (field(14) + field(15)) / ticks;
        p.start_time = boot_time() + field(22) / ticks;
        p.virtual_bytes = field(23);
        p.rss_bytes = field(24) * page;
        p.stat_ok = true;
      }
    }
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    double n = 0;
    while (const dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
    p.open_fds = n - 1;  // the directory stream's own descriptor
  }
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) p.max_fds = static_cast<double>(lim.rlim_cur);
  return p;
}

void write_process(metrics_writer& w) {
  const process_figures p = read_process();
  if (p.stat_ok) {
    w.family("process_cpu_seconds", metric_type::counter,
             "Total user and system CPU time spent in seconds.");
    w.sample("", p.cpu_seconds);
    w.family("process_resident_memory_bytes", metric_type::gauge, "Resident memory size in bytes.");
    w.sample("", p.rss_bytes);
    w.family("process_virtual_memory_bytes", metric_type::gauge, "Virtual memory size in bytes.");
    w.sample("", p.virtual_bytes);
    w.family("process_start_time_seconds", metric_type::gauge,
             "Start time of the process since unix epoch in seconds.");
    w.sample("", p.start_time);
  }
  if (p.open_fds >= 0) {
    w.family("process_open_fds", metric_type::gauge, "Number of open file descriptors.");
    w.sample("", p.open_fds);
  }
  if (p.max_fds >= 0) {
    w.family("process_max_fds", metric_type::gauge, "Maximum number of open file descriptors.");
    w.sample("", p.max_fds);
  }
}

void write_engine(metrics_writer& w, const service& svc) {
  const engine_stats s = svc.stats();
  const auto gauge = [&w](std::string_view name, std::string_view help, double v) {
    w.family(name, metric_type::gauge, help);
    w.sample("", v);
  };
  const auto counter = [&w](std::string_view name, std::string_view help, std::uint64_t v) {
    w.family(name, metric_type::counter, help);
    w.sample("", v);
  };
  gauge("vitals_engine_checks", "Checks registered.", static_cast<double>(s.checks));
  gauge("vitals_engine_checks_in_flight", "Runs started and not finished (hung ones included).",
        static_cast<double>(s.in_flight));
  gauge("vitals_engine_pool_threads", "Threads of the pool running blocking checks.",
        static_cast<double>(s.pool_threads));
  gauge("vitals_engine_pool_threads_max", "Upper bound of the blocking pool.",
        static_cast<double>(s.pool_max_threads));
  gauge("vitals_engine_pool_busy_threads", "Pool threads running a check now.",
        static_cast<double>(std::min(s.pool_jobs, s.pool_threads)));
  gauge("vitals_engine_pool_queued_runs", "Blocking runs waiting for a pool thread.",
        static_cast<double>(s.pool_jobs > s.pool_threads ? s.pool_jobs - s.pool_threads : 0));
  // How late runs started after they were due, over the last 10 to 20 s (the engine's own
  // histogram; not a summary: it has no sum and count).
  gauge("vitals_engine_start_lag_p50_seconds", "Median start lag of runs (last 10 to 20 s).",
        std::chrono::duration<double>(s.lag_p50).count());
  gauge("vitals_engine_start_lag_p99_seconds", "99th percentile start lag (last 10 to 20 s).",
        std::chrono::duration<double>(s.lag_p99).count());
  gauge("vitals_engine_start_lag_max_seconds", "Largest start lag (last 10 to 20 s).",
        std::chrono::duration<double>(s.lag_max).count());
  counter("vitals_engine_late_starts", "Runs started more than 100 ms late.", s.late_starts);
  counter("vitals_engine_results", "Results ingested by the engine.", s.results);
  counter("vitals_engine_publications", "Snapshots published.", s.publications);
  counter("vitals_engine_observer_drops", "Items dropped by full observer queues.",
          s.observer_drops);
}

void write_requests(metrics_writer& w, const request_counts& r) {
  if (r.endpoints.empty() || !r.count) return;
  w.family("vitals_http_requests", metric_type::counter,
           "Requests answered by the handler, by endpoint and HTTP code.");
  for (std::size_t i = 0; i < r.endpoints.size(); ++i) {
    std::string l = "endpoint=\"";
    append_label_value(l, r.endpoints[i]);
    l.push_back('"');
    for (std::size_t j = 0; j < r.codes.size(); ++j) {
      const std::uint64_t n = r.count(i, j);
      if (n == 0) continue;
      w.sample(l, "code=\"" + std::to_string(r.codes[j]) + "\"", static_cast<double>(n));
    }
  }
}

}  // namespace

metrics_format negotiate_metrics(std::string_view accept) noexcept {
  // Media ranges separated by commas, parameters by semicolons; q=0 means "not acceptable".
  while (!accept.empty()) {
    const auto comma = accept.find(',');
    std::string_view range = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
    const auto semi = range.find(';');
    const std::string_view type = base::trim(range.substr(0, semi));
    if (!base::iequals(type, "application/openmetrics-text")) continue;
    bool refused = false;
    std::string_view params = semi == std::string_view::npos ? "" : range.substr(semi + 1);
    while (!params.empty()) {
      const auto next = params.find(';');
      const std::string_view p = base::trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
      if (p.size() > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
        const std::string_view q = p.substr(2);
        refused = q.find_first_not_of("0.") == std::string_view::npos;
      }
    }
    if (!refused) return metrics_format::openmetrics;
  }
  return metrics_format::prometheus;
}

void append_label_value(std::string& out, std::string_view value) {
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '"') {
      out.append("\\\"");
    } else if (c == '\n') {
      out.append("\\n");
    } else if (c < 0x20 || c >= 0x7f) {
      out.push_back('_');
    } else {
      out.push_back(ch);
    }
  }
}

void metrics_writer::name_line(std::string_view suffix) {
  out_.append(family_);
  out_.append(suffix);
}

void metrics_writer::family(std::string_view name, metric_type type, std::string_view help) {
  family_.assign(name);
  type_ = type;
  const bool om = format_ == metrics_format::openmetrics;
  std::string shown{name};
  if (!om && type == metric_type::counter) shown.append("_total");
  if (!om && type == metric_type::info) shown.append("_info");
  std::string_view type_name = "gauge";
  switch (type) {
    case metric_type::gauge:
      break;
    case metric_type::counter:
      type_name = "counter";
      break;
    case metric_type::histogram:
      type_name = "histogram";
      break;
    case metric_type::info:
      type_name = om ? "info" : "gauge";
      break;
  }
  if (om) {
    out_.append("# TYPE ").append(shown).append(" ").append(type_name).append("\n");
    if (ends_with(name, "_seconds")) out_.append("# UNIT ").append(shown).append(" seconds\n");
    if (ends_with(name, "_bytes")) out_.append("# UNIT ").append(shown).append(" bytes\n");
    out_.append("# HELP ").append(shown).append(" ").append(help).append("\n");
  } else {
    out_.append("# HELP ").append(shown).append(" ").append(help).append("\n");
    out_.append("# TYPE ").append(shown).append(" ").append(type_name).append("\n");
  }
}

void metrics_writer::labels_and_value(std::string_view labels, std::string_view extra,
                                      std::string_view value) {
  if (!labels.empty() || !extra.empty()) {
    out_.push_back('{');
    out_.append(labels);
    if (!labels.empty() && !extra.empty()) out_.push_back(',');
    out_.append(extra);
    out_.push_back('}');
  }
  out_.push_back(' ');
  out_.append(value);
  out_.push_back('\n');
}

void metrics_writer::sample(std::string_view labels, std::string_view extra, double value) {
  std::string v;
  append_number(v, value);
  name_line(type_ == metric_type::counter ? "_total" : type_ == metric_type::info ? "_info" : "");
  labels_and_value(labels, extra, v);
}

void metrics_writer::sample(std::string_view labels, double value) { sample(labels, "", value); }

void metrics_writer::sample(std::string_view labels, std::uint64_t value) {
  std::string v;
  append_number(v, value);
  name_line(type_ == metric_type::counter ? "_total" : "");
  labels_and_value(labels, "", v);
}

void metrics_writer::histogram(std::string_view labels, std::span<const double> bounds,
                               std::span<const std::uint64_t> counts, double sum) {
  std::uint64_t cumulative = 0;
  std::string v;
  for (std::size_t i = 0; i <= bounds.size() && i < counts.size(); ++i) {
    cumulative += counts[i];
    v.clear();
    append_number(v, cumulative);
    name_line("_bucket");
    const std::string le =
        "le=\"" + (i < bounds.size() ? bound_text(bounds[i]) : std::string{"+Inf"}) + "\"";
    labels_and_value(labels, le, v);
  }
  v.clear();
  append_number(v, sum);
  name_line("_sum");
  labels_and_value(labels, "", v);
  v.clear();
  append_number(v, cumulative);
  name_line("_count");
  labels_and_value(labels, "", v);
}

void metrics_writer::finish() {
  if (format_ == metrics_format::openmetrics) out_.append("# EOF\n");
}

typed_response render_snapshot_metrics(const render_context& ctx, metrics_format format) {
  std::string body;
  body.reserve(512 + ctx.snap.checks.size() * 2048);
  metrics_writer w{format, body};
  write_checks(w, ctx.snap);
  write_probes(w, ctx);
  return make_typed(200, format == metrics_format::openmetrics ? openmetrics_text : prometheus_text,
                    std::move(body));
}

void write_live_metrics(metrics_writer& w, const service& svc, const service_info& info,
                        const request_counts& requests, std::span<const metrics_source> sources) {
  write_engine(w, svc);
  write_requests(w, requests);
  for (const metrics_source& source : sources) {
    if (source) source(w);
  }
  write_process(w);
  w.family("vitals_build", metric_type::info,
           "The vitals library serving these metrics and the service it reports on.");
  std::string l = "version=\"" VITALS_VERSION "\"";
  if (!info.service_id.empty()) {
    l.append(",service_id=\"");
    append_label_value(l, info.service_id);
    l.push_back('"');
  }
  if (!info.version.empty()) {
    l.append(",service_version=\"");
    append_label_value(l, info.version);
    l.push_back('"');
  }
  w.sample(l, 1.0);
  w.finish();
}

}  // namespace vitals::http::detail
