// The rows of the handler's route table and the functions answering them.

#include "routes.hpp"

#include <array>
#include <chrono>
#include <optional>
#include <string>

namespace vitals::http::detail {

namespace {

constexpr std::array<std::pair<std::string_view, method>, 7> method_names{{
    {"GET", method_get},
    {"HEAD", method_head},
    {"POST", method_post},
    {"PUT", method_put},
    {"DELETE", method_delete},
    {"PATCH", method_patch},
    {"OPTIONS", method_options},
}};

constexpr std::size_t probe_index(probe p) noexcept {
  switch (p) {
    case probe::live:
      return 0;
    case probe::ready:
      return 1;
    case probe::startup:
      return 2;
  }
  return 1;
}

constexpr std::size_t probe_variant(probe p, bool verbose, bool detailed) noexcept {
  return (probe_index(p) * 2 + (verbose ? 1 : 0)) * 2 + (detailed ? 1 : 0);
}
constexpr std::size_t health_variant(bool detailed) noexcept {
  return 3 * 2 * 2 + (detailed ? 1 : 0);
}
constexpr std::size_t metrics_variant(metrics_format f) noexcept {
  return 3 * 2 * 2 + 2 + (f == metrics_format::openmetrics ? 1 : 0);
}

template <probe P, bool Verbose>
typed_response render_probe_variant(const render_context& ctx) {
  return render_probe(ctx, P, Verbose);
}
typed_response render_health_variant(const render_context& ctx) { return render_health(ctx); }
template <metrics_format F>
typed_response render_metrics_variant(const render_context& ctx) {
  return render_snapshot_metrics(ctx, F);
}

template <probe P, bool Verbose>
constexpr std::array<cached_variant, 2> probe_variants() {
  return {{{false, &render_probe_variant<P, Verbose>}, {true, &render_probe_variant<P, Verbose>}}};
}

constexpr auto make_variants() {
  std::array<cached_variant, cached_variant_count> v{};
  const auto put = [&v](std::size_t at, std::array<cached_variant, 2> pair) {
    v[at] = pair[0];
    v[at + 1] = pair[1];
  };
  put(probe_variant(probe::live, false, false), probe_variants<probe::live, false>());
  put(probe_variant(probe::live, true, false), probe_variants<probe::live, true>());
  put(probe_variant(probe::ready, false, false), probe_variants<probe::ready, false>());
  put(probe_variant(probe::ready, true, false), probe_variants<probe::ready, true>());
  put(probe_variant(probe::startup, false, false), probe_variants<probe::startup, false>());
  put(probe_variant(probe::startup, true, false), probe_variants<probe::startup, true>());
  v[health_variant(false)] = {false, &render_health_variant};
  v[health_variant(true)] = {true, &render_health_variant};
  // Metrics show no output: one rendering serves every caller allowed to scrape.
  v[metrics_variant(metrics_format::prometheus)] = {
      false, &render_metrics_variant<metrics_format::prometheus>};
  v[metrics_variant(metrics_format::openmetrics)] = {
      false, &render_metrics_variant<metrics_format::openmetrics>};
  return v;
}
constexpr std::array<cached_variant, cached_variant_count> variants = make_variants();

// --- responders. Each first asks for on-demand checks (never blocks), then answers from the
// latest snapshot whatever happens.

template <probe P>
wire_response probe_root(const route_call& c) {
  c.svc.request(probe_set{P});
  const std::shared_ptr<const snapshot> snap = c.svc.current();
  if (c.query.exclude.empty()) return c.cached(snap, probe_variant(P, c.query.verbose, c.detailed));
  return route_call::owned(render_probe(c.context(*snap), P, c.query.verbose, c.query.exclude));
}

template <probe P>
wire_response probe_check(const route_call& c) {
  static_cast<void>(c.svc.request(c.name));
  const std::shared_ptr<const snapshot> snap = c.svc.current();
  const check_state* check = snap->find(c.name);
  if (check == nullptr || !check->options.probes.contains(P)) return c.not_found();
  return route_call::owned(render_probe_check(c.context(*snap), P, *check, c.query.verbose));
}

wire_response health_root(const route_call& c) {
  c.svc.request(vitals::live | vitals::ready | vitals::startup);
  return c.cached(c.svc.current(), health_variant(c.detailed));
}

wire_response health_check(const route_call& c) {
  static_cast<void>(c.svc.request(c.name));
  const std::shared_ptr<const snapshot> snap = c.svc.current();
  const check_state* check = snap->find(c.name);
  if (check == nullptr) return c.not_found();
  return route_call::owned(render_health(c.context(*snap), check));
}

// A scrape never runs a check: the snapshot's series are rendered once per generation, the
// live figures are read now.
wire_response metrics_root(const route_call& c) {
  const metrics_format format = negotiate_metrics(c.accept);
  const std::shared_ptr<const snapshot> snap = c.svc.current();
  const wire_response part = c.cached(snap, metrics_variant(format));
  typed_response r = make_typed(200, part.typed->content_type, std::string{});
  r.body.reserve(part.body.size() + 8192);
  r.body.append(part.body);
  metrics_writer w{format, r.body};
  c.live_metrics(w, *snap);
  return route_call::owned(std::move(r));
}

// The read API (docs/api.md): the latest snapshot as it is; it runs no check, not even an
// on-demand one.
wire_response api_targets(const route_call& c) {
  const std::shared_ptr<const snapshot> snap = c.svc.current();
  const auto catalog = c.targets();
  return route_call::owned(render_targets(c.context(*snap), catalog.get()));
}

wire_response api_target(const route_call& c) {
  const std::shared_ptr<const snapshot> snap = c.svc.current();
  const check_state* check = snap->find(c.name);
  if (check == nullptr) return c.not_found();
  const auto catalog = c.targets();
  return route_call::owned(render_targets(c.context(*snap), catalog.get(), check));
}

constexpr std::string_view application_json = "application/json";

wire_response api_uptime(const route_call& c) {
  const history_reader* h = c.history();
  if (h == nullptr) return c.not_found();
  const auto table = h->latest_uptimes();
  // The targets of the running configuration: a removed one keeps its rows until they expire,
  // but is no longer listed.
  const std::shared_ptr<const snapshot> snap = c.svc.current();
  return route_call::owned(render_uptimes(
      *table, [&](std::string_view name) { return c.listed(*snap, name); },
      std::chrono::system_clock::now()));
}

wire_response api_incidents(const route_call& c) {
  const history_reader* h = c.history();
  if (h == nullptr) return c.not_found();
  const std::optional<incident_query> q = parse_incident_query(c.raw_query);
  if (!q) {
    return route_call::owned(make_typed(400, application_json,
                                        R"({"error":"bad query: window is a duration within 730d"})"
                                        "\n"));
  }
  const auto now = std::chrono::system_clock::now();
  const auto from = now - q->window;
  const auto list = h->incidents(from, now + std::chrono::seconds{1}, q->target, 500);
  const std::shared_ptr<const snapshot> snap = c.svc.current();
  return route_call::owned(render_incidents(
      c.context(*snap), list, [&](std::string_view name) { return c.listed(*snap, name); }, from,
      now));
}

// SVG badges for READMEs (docs/api.md): a target's status, its uptime over a window of the
// history, or its latest response time. Never an output: a badge holds no secret. A target of
// another shard (handler_options::fleet) answers from the shared history.
wire_response badge(const route_call& c) {
  constexpr std::string_view grey = "#9f9f9f";
  const std::optional<badge_query> q = parse_badge_query(c.raw_query);
  if (!q) return route_call::owned(render_badge(400, "badge", "bad query", grey));
  std::string_view name = c.name;
  const std::shared_ptr<const snapshot> snap = c.svc.current();
  // `<name>.svg` is the same badge (image URLs often spell the type).
  if (name.ends_with(".svg") && !c.listed(*snap, name)) name.remove_suffix(4);
  const std::string_view label = q->label.empty() ? name : std::string_view{q->label};
  if (!c.listed(*snap, name)) return route_call::owned(render_badge(404, label, "not found", grey));
  const check_state* check = snap->find(name);
  const history_reader* h = c.history();
  // The latest kept run, for a target this instance does not check.
  const auto latest = [&]() -> std::optional<history_result> {
    if (h == nullptr) return std::nullopt;
    auto runs = h->recent(name, 1);
    if (runs.empty()) return std::nullopt;
    return std::move(runs.front());
  };
  switch (q->show) {
    case badge_query::shown::status: {
      status s = status::unknown;
      if (check != nullptr) {
        s = check->reported.status;
      } else if (const auto run = latest()) {
        s = run->result;
      }
      return route_call::owned(render_badge(200, label, badge_word_of(s), badge_color_of(s)));
    }
    case badge_query::shown::response_time: {
      std::optional<std::chrono::nanoseconds> d;
      if (check != nullptr && check->runs > 0) {
        d = check->last_run.duration;
      } else if (const auto run = latest()) {
        d = run->duration;
      }
      if (!d) return route_call::owned(render_badge(200, label, "no data", grey));
      return route_call::owned(render_badge(200, label, latency_text(*d), "#007ec6"));
    }
    case badge_query::shown::uptime:
      break;
  }
  const std::string uptime_label =
      q->label.empty() ? std::string{name} + " " + q->window : q->label;
  if (h == nullptr) return route_call::owned(render_badge(404, uptime_label, "no history", grey));
  const auto up = h->uptime(name, std::chrono::system_clock::now());
  std::optional<double> ratio;
  if (up) {
    for (const auto& w : up->windows) {
      if (w.window == q->window) ratio = w.ratio();
    }
  }
  if (!ratio) return route_call::owned(render_badge(200, uptime_label, "no data", grey));
  return route_call::owned(
      render_badge(200, uptime_label, percent_text(*ratio, 3), badge_color_of_ratio(*ratio)));
}

// The status page (docs/status-page.md); a 404 unless handler_options::status_page.enabled.
wire_response status_page(const route_call& c) {
  const status_page_options& o = c.status_page();
  if (!o.enabled) return c.not_found();
  const std::optional<status_page_query> q = parse_status_page_query(c.raw_query);
  if (!q) {
    return route_call::owned(make_typed(400, "text/plain; charset=utf-8",
                                        "bad query: q, status (pass, warn, fail, unknown), group, "
                                        "page (from 1)\n"));
  }
  const std::shared_ptr<const snapshot> snap = c.svc.current();
  const auto catalog = c.targets();
  return route_call::owned(render_status_page(o, *snap, catalog.get(), c.history(), *q,
                                              std::chrono::system_clock::now()));
}

wire_response status_target(const route_call& c) {
  const status_page_options& o = c.status_page();
  if (!o.enabled) return c.not_found();
  const std::shared_ptr<const snapshot> snap = c.svc.current();
  const check_state* check = snap->find(c.name);
  if (check == nullptr) return c.not_found();
  const auto catalog = c.targets();
  const target_meta* meta = nullptr;
  if (catalog) {
    const auto it = catalog->find(std::string{c.name});
    if (it != catalog->end()) meta = &it->second;
  }
  return route_call::owned(
      render_status_target(o, *check, meta, c.history(), std::chrono::system_clock::now()));
}

wire_response api_maintenance(const route_call& c) {
  const maintenance_source* m = c.maintenance();
  if (m == nullptr) return c.not_found();
  const auto now = std::chrono::system_clock::now();
  return route_call::owned(render_maintenance(m->windows(now), now));
}

wire_response api_history(const route_call& c) {
  const history_reader* h = c.history();
  if (h == nullptr) return c.not_found();
  const std::optional<history_query> q = parse_history_query(c.raw_query);
  if (!q) {
    return route_call::owned(make_typed(
        400, application_json,
        R"({"error":"bad query: resolution is minute, hour or day; window a duration within )"
        R"(48h, 90d or 730d"})"
        "\n"));
  }
  const auto now = std::chrono::system_clock::now();
  const std::optional<target_uptime> up = h->uptime(c.name, now);
  if (!up) return c.not_found();  // no history for that name
  const std::shared_ptr<const snapshot> snap = c.svc.current();
  return route_call::owned(render_history(c.context(*snap), *up, *q, *h, now));
}
// The live stream of status changes (docs/events.md). Every answer starts the same way: the
// events after the resume point, then a `ready` frame with the newest id. Through a transport
// that streams (the built-in server) the connection then stays open for the next events;
// through handle() the answer ends there and EventSource reconnects after `retry:`, with the
// newest id as Last-Event-ID.
wire_response api_events(const route_call& c) {
  const event_feed* feed = c.events();
  if (feed == nullptr) return c.not_found();
  const std::optional<event_query> q = parse_event_query(c.raw_query);
  if (!q) {
    return route_call::owned(make_typed(400, application_json,
                                        R"({"error":"bad query: last_event_id is an event id"})"
                                        "\n"));
  }
  const serve_extras& extras = c.extras();
  event_feed::page page;
  if (!extras.last_event_id.empty()) {
    // A header that is no id of ours (garbage, another server's) is a resume that cannot be
    // honoured: the client is told it missed events, never silently skipped.
    if (const auto after = parse_event_id(extras.last_event_id)) {
      page = feed->since(*after, static_cast<std::size_t>(-1));
    } else {
      page.missed = true;
      page.last_id = feed->last_id();
    }
  } else if (q->last_event_id) {
    page = feed->since(*q->last_event_id, static_cast<std::size_t>(-1));
  } else {
    page.last_id = feed->last_id();
  }
  const auto catalog = c.targets();
  typed_response r =
      make_typed(200, event_stream_type, event_stream_body(c.event_rendering(catalog.get()), page));
  // Proxies that buffer answers (nginx) would hold the events back.
  r.headers.push_back({"X-Accel-Buffering", "no"});
  if (extras.streams != nullptr && !extras.streams->try_take()) {
    typed_response busy = make_typed(503, application_json,
                                     R"({"error":"too many event streams"})"
                                     "\n");
    busy.headers.push_back({"Retry-After", "5"});
    return route_call::owned(std::move(busy));
  }
  wire_response w = route_call::owned(std::move(r));
  if (extras.streams != nullptr) {
    w.stream = true;
    w.stream_detailed = c.detailed;
    w.stream_after = page.last_id;
  }
  return w;
}

constexpr std::string_view bad_push_query =
    R"({"ok":false,"error":"bad query: status must be pass, warn or fail; escapes well-formed"})"
    "\n";

// A heartbeat of a push monitor. The token is the secret (the job's URL is its credential, as
// with healthchecks.io and Uptime Kuma): no bearer token, and an unknown token is the same 404
// whether it never existed or its check was removed. Never echoes the token.
wire_response push_token(const route_call& c) {
  const auto answer = [](int code, std::string body) {
    return route_call::owned(make_typed(code, application_json, std::move(body)));
  };
  const std::optional<push_query> q = parse_push_query(c.raw_query);
  if (!q) return answer(400, std::string{bad_push_query});
  if (c.pushes().push(c.name, q->reported, q->message) != push_board::outcome::accepted) {
    return answer(404, "{\"ok\":false,\"error\":\"unknown push token\"}\n");
  }
  return answer(200, "{\"ok\":true}\n");
}

}  // namespace

method_set other_method_of(std::string_view name) noexcept {
  for (const auto& [n, bit] : method_names) {
    if (n == name) return bit;
  }
  return 0;
}

std::string allow_value(method_set methods) {
  std::string out;
  for (const auto& [n, bit] : method_names) {
    if ((methods & bit) == 0) continue;
    if (!out.empty()) out.append(", ");
    out.append(n);
  }
  return out;
}

std::span<const cached_variant, cached_variant_count> cached_variants() noexcept {
  return variants;
}

std::vector<route> default_routes() {
  // Probe rows first: they are what pollers ask for every few seconds.
  return {
      {.path = "/livez", .query = true, .respond = &probe_root<probe::live>},
      {.path = "/readyz", .query = true, .respond = &probe_root<probe::ready>},
      {.path = "/startupz", .query = true, .respond = &probe_root<probe::startup>},
      {.path = "/health", .respond = &health_root},
      {.path = "/livez",
       .match = path_match::child,
       .query = true,
       .respond = &probe_check<probe::live>},
      {.path = "/readyz",
       .match = path_match::child,
       .query = true,
       .respond = &probe_check<probe::ready>},
      {.path = "/startupz",
       .match = path_match::child,
       .query = true,
       .respond = &probe_check<probe::startup>},
      {.path = "/health", .match = path_match::child, .respond = &health_check},
      {.path = "/metrics", .scrape = true, .respond = &metrics_root},
      {.path = "/api/v1/targets", .respond = &api_targets},
      {.path = "/api/v1/targets",
       .match = path_match::child,
       .child = "target",
       .respond = &api_target},
      {.path = "/api/v1/uptime", .respond = &api_uptime},
      {.path = "/api/v1/incidents", .respond = &api_incidents},
      {.path = "/api/v1/maintenance", .respond = &api_maintenance},
      {.path = "/api/v1/events", .respond = &api_events},
      {.path = "/api/v1/history",
       .match = path_match::child,
       .child = "target",
       .respond = &api_history},
      {.path = "/badge", .match = path_match::child, .child = "target", .respond = &badge},
      {.path = "/status", .respond = &status_page},
      {.path = "/status", .match = path_match::child, .child = "target", .respond = &status_target},
      {.path = "/api/v1/push",
       .match = path_match::child,
       .methods = method_get | method_post,
       .child = "token",
       .respond = &push_token},
  };
}

}  // namespace vitals::http::detail
