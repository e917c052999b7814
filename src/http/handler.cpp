// The transport-agnostic handler: target checks, dispatch through the route table,
// authorization, and the per-generation cache of renderings that makes the common probe free of
// allocation.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "auth.hpp"
#include "base/text.hpp"
#include "handler_impl.hpp"
#include "render.hpp"

namespace vitals::http {

namespace {

using detail::rendered;
using detail::route;

// The service a handler serves from. `epoch` is never reused (not even across handlers): a new
// service restarts its generations, so renderings are keyed by (epoch, generation), and a
// service allocated where a freed one lived can never be mistaken for it.
struct binding {
  std::shared_ptr<service> svc;
  std::uint64_t epoch = 0;
};
std::atomic<std::uint64_t> next_binding_epoch{1};

// Everything that depends only on the snapshot generation of one binding, rendered at most once
// and shared by every request (GET and HEAD alike) until the next generation or the next
// rebind. Each variant is rendered on first demand: a generation that nobody asks `/health` of
// never renders its (with thousands of checks, large) body, and `/readyz` never waits for it.
struct rendered_set {
  static constexpr std::size_t variants = detail::cached_variant_count;
  std::uint64_t epoch = 0;
  std::uint64_t generation = 0;
  std::shared_ptr<const snapshot> snap{};
  mutable std::mutex mu{};
  mutable std::array<rendered, variants> slots{};
  mutable std::array<std::atomic<bool>, variants> ready{};

  /// Variant `i`, rendered by `render` if nobody has yet; valid as long as this set.
  template <class Render>
  const rendered& get(std::size_t i, Render&& render) const {
    if (ready[i].load(std::memory_order_acquire)) return slots[i];
    std::lock_guard lk(mu);
    if (!ready[i].load(std::memory_order_relaxed)) {
      slots[i] = render(*snap);
      ready[i].store(true, std::memory_order_release);
    }
    return slots[i];
  }
};

// Per-thread memo of the binding and the rendering last served by each handler, so that the hot
// path costs one atomic load and one reference-count increment instead of atomic<shared_ptr>
// loads (a lock bit and a notify in libstdc++ 12: measured at about half the CPU cost of a whole
// cached serve()). Handlers are told apart by an id that is never reused, so a slot left behind
// by a destroyed handler can never be mistaken for a live one.
//
// The slot owns its binding: a request that loaded a service keeps it alive until it is done,
// however many rebinds happen meanwhile, without touching a shared reference count. The cost is
// that a thread keeps the previous service object until its next request through the handler
// (or its exit); a `busy` slot is never evicted, should a callback serve through other handlers
// on the same thread in the middle of a request.
struct memo_slot {
  std::uint64_t owner = 0;
  bool busy = false;
  std::shared_ptr<const binding> bound{};
  std::shared_ptr<const rendered_set> set{};
};
constexpr std::size_t memo_slots = 4;

// Set when this thread's memo table is destroyed. A handler can outlive it: one held by a
// function-local static is destroyed after the main thread's thread_locals, one held by a
// thread_local constructed before the table after the table. Such a handler must neither clear
// its slots in the dead table (that released their references a second time: heap corruption)
// nor serve from it. Trivially destructible, so it stays readable until the thread ends.
thread_local bool tl_memo_gone = false;

struct memo_table {
  std::array<memo_slot, memo_slots> slots{};
  std::size_t next = 0;
  memo_table() = default;
  memo_table(const memo_table&) = delete;
  memo_table& operator=(const memo_table&) = delete;
  ~memo_table() { tl_memo_gone = true; }
};
thread_local memo_table tl_memo{};
std::atomic<std::uint64_t> next_handler_id{1};

constexpr std::size_t no_row = static_cast<std::size_t>(-1);

// The answers that depend on nothing but the route table, rendered once per handler.
struct fixed_responses {
  rendered bad_request = fixed(400, "400 bad request\n");
  rendered unauthorized =
      with_header(fixed(401, "401 unauthorized\n"), "WWW-Authenticate", "Bearer");
  rendered not_found = fixed(404, "404 page not found\n");
  rendered too_long = fixed(414, "414 URI too long\n");
  /// Per row: 405 with an Allow header listing what the rows of the same path accept.
  std::vector<rendered> not_allowed{};

  explicit fixed_responses(const std::vector<route>& routes) {
    not_allowed.reserve(routes.size());
    for (const route& r : routes) {
      detail::method_set allowed = 0;
      for (const route& other : routes) {
        if (other.path == r.path && other.match == r.match) allowed |= other.methods;
      }
      not_allowed.push_back(with_header(fixed(405, "405 method not allowed\n"), "Allow",
                                        detail::allow_value(allowed)));
    }
  }

 private:
  static rendered fixed(int status, std::string_view body) {
    return detail::wire_form(detail::make_typed(status, detail::text_plain, std::string{body}));
  }
  static rendered with_header(rendered r, std::string_view name, std::string value) {
    r.typed.headers.push_back({name, std::move(value)});
    return detail::wire_form(std::move(r.typed));
  }
};

// Whether a row matches `path`; `name` is the segment a child row matched.
// Lengths, the separator and the first byte after the leading '/' are compared before the
// rest: most rows are ruled out by them without a call to memcmp (the probe paths differ there).
bool match_row(const route& r, std::string_view path, std::string_view& name) noexcept {
  const std::size_t base = r.path.size();
  const auto first_differs = [&] { return base > 1 && path[1] != r.path[1]; };
  if (r.match == detail::path_match::exact) {
    return path.size() == base && !first_differs() && path == r.path;
  }
  if (path.size() <= base + 1 || path[base] != '/' || first_differs() ||
      path.substr(0, base) != r.path) {
    return false;
  }
  name = path.substr(base + 1);
  return name.find('/') == std::string_view::npos;
}

// The row answering `method` on `path`, and the first row that matches the path at all (whose
// 405 answers a method no row of the path accepts).
struct route_hit {
  const route* row = nullptr;
  std::size_t known = no_row;
  std::string_view name{};
};
route_hit find_route(const std::vector<route>& routes, std::string_view path,
                     detail::method_set method) noexcept {
  route_hit hit;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    std::string_view name;
    if (!match_row(routes[i], path, name)) continue;
    if (hit.known == no_row) hit.known = i;
    if ((routes[i].methods & method) != 0) {
      hit.row = &routes[i];
      hit.name = name;
      return hit;
    }
  }
  return hit;
}

void check_code(int code, const char* what) {
  if (code < 200 || code > 599) {
    throw std::invalid_argument(std::string{"vitals::http::handler: status code for "} + what +
                                " must be in [200, 599], got " + std::to_string(code));
  }
}

// Validates the status codes and normalizes the prefix ("x/" -> "/x", "/" -> "").
handler_options checked(handler_options o) {
  check_code(o.codes.pass, "pass");
  check_code(o.codes.warn, "warn");
  check_code(o.codes.fail, "fail");
  check_code(o.codes.unknown, "unknown");
  if (!o.prefix.empty() && o.prefix.front() != '/') o.prefix.insert(o.prefix.begin(), '/');
  while (!o.prefix.empty() && o.prefix.back() == '/') o.prefix.pop_back();
  if (o.prefix.find_first_of("?#%") != std::string::npos) {
    throw std::invalid_argument("vitals::http::handler: prefix must be a plain path, got \"" +
                                o.prefix + "\"");
  }
  return o;
}

using base::iequals;

// Marks a memo slot in use for the duration of one request.
class busy_guard {
 public:
  explicit busy_guard(memo_slot& s) noexcept : s_(s), was_(std::exchange(s.busy, true)) {}
  ~busy_guard() { s_.busy = was_; }
  busy_guard(const busy_guard&) = delete;
  busy_guard& operator=(const busy_guard&) = delete;

 private:
  memo_slot& s_;
  bool was_;
};

// Requests answered by the handler, by endpoint and code (vitals_http_requests_total). Sharded
// by thread: serving threads count on cache lines of their own, a scrape sums the shards.
class traffic {
 public:
  traffic(const std::vector<route>& routes, const handler_options& o) {
    for (const route& r : routes) {
      std::string label{r.path};
      if (r.match == detail::path_match::child) label.append("/{").append(r.child).append("}");
      const auto at = std::find(endpoints_.begin(), endpoints_.end(), label);
      row_endpoint_.push_back(static_cast<std::size_t>(at - endpoints_.begin()));
      if (at == endpoints_.end()) endpoints_.push_back(std::move(label));
    }
    endpoints_.emplace_back("other");
    // Every code the handler can answer: its fixed answers and the configured ones.
    codes_ = {200, 400,          401,          404,          405,
              414, o.codes.pass, o.codes.warn, o.codes.fail, o.codes.unknown};
    std::sort(codes_.begin(), codes_.end());
    codes_.erase(std::unique(codes_.begin(), codes_.end()), codes_.end());
    constexpr std::size_t per_line = 64 / sizeof(std::atomic<std::uint64_t>);
    stride_ = (endpoints_.size() * codes_.size() + per_line - 1) / per_line * per_line;
    cells_ = std::make_unique<std::atomic<std::uint64_t>[]>(stride_ * shards);
  }

  [[nodiscard]] std::size_t other() const noexcept { return endpoints_.size() - 1; }
  [[nodiscard]] std::size_t endpoint_of_row(std::size_t row) const noexcept {
    return row < row_endpoint_.size() ? row_endpoint_[row] : other();
  }

  void count(std::size_t endpoint, int code) noexcept {
    static std::atomic<std::size_t> next_shard{0};
    thread_local const std::size_t shard =
        next_shard.fetch_add(1, std::memory_order_relaxed) % shards;
    const auto c = std::lower_bound(codes_.begin(), codes_.end(), code);
    if (c == codes_.end() || *c != code) return;
    const auto j = static_cast<std::size_t>(c - codes_.begin());
    cells_[shard * stride_ + endpoint * codes_.size() + j].fetch_add(1, std::memory_order_relaxed);
  }

  [[nodiscard]] detail::request_counts counts() const {
    return {
        .endpoints = endpoints_, .codes = codes_, .count = [this](std::size_t e, std::size_t j) {
          std::uint64_t n = 0;
          for (std::size_t s = 0; s < shards; ++s) {
            n += cells_[s * stride_ + e * codes_.size() + j].load(std::memory_order_relaxed);
          }
          return n;
        }};
  }

 private:
  static constexpr std::size_t shards = 8;
  std::vector<std::string> endpoints_;
  std::vector<std::size_t> row_endpoint_;
  std::vector<int> codes_;
  std::size_t stride_ = 0;
  std::unique_ptr<std::atomic<std::uint64_t>[]> cells_;
};

// The rows a handler serves: the table, or /metrics alone for a metrics-only listener.
std::vector<route> serving(std::vector<route> routes, const handler_options& o) {
  if (o.metrics_only) {
    std::erase_if(routes, [](const route& r) { return !r.scrape; });
  } else if (o.metrics == metrics_policy::off) {
    std::erase_if(routes, [](const route& r) { return r.scrape; });
  }
  return routes;
}

}  // namespace

struct handler::impl::state {
  handler_options options;
  std::vector<route> routes;
  redactor scrubber{};
  /// Anonymous callers may see details (detail_policy::everyone).
  bool anonymous_detailed = false;
  /// A matching bearer token unlocks details (policy `authorized` and a token configured).
  bool token_unlocks = false;
  /// A verified client certificate unlocks details (policy `authorized`).
  bool certificate_unlocks = false;
  std::shared_ptr<const fixed_responses> fixed;
  const std::uint64_t id = next_handler_id.fetch_add(1, std::memory_order_relaxed);
  /// Epoch of `bound`: what a memo slot compares against on every request.
  std::atomic<std::uint64_t> epoch{0};
  mutable std::mutex bind_mutex{};
  /// The current binding; guarded by bind_mutex.
  std::shared_ptr<const binding> bound{};
  std::mutex render_mutex{};
  /// The newest rendering; guarded by render_mutex.
  std::shared_ptr<const rendered_set> latest{};

  /// Requests answered, for /metrics.
  traffic requests;
  /// Anonymous callers may scrape /metrics.
  bool anonymous_scrape = false;
  /// Figures of the transports serving through this handler (the built-in server's).
  mutable std::mutex sources_mutex{};
  std::vector<std::pair<std::uint64_t, detail::metrics_source>> sources{};
  std::uint64_t next_source = 1;

  /// options.pushes, or the process's board.
  std::shared_ptr<push_board> pushes;

  state(handler_options o, std::vector<route> r)
      : options(checked(std::move(o))),
        routes(serving(std::move(r), options)),
        fixed(std::make_shared<const fixed_responses>(routes)),
        requests(routes, options),
        pushes(options.pushes ? options.pushes : push_board::global()) {
    // Defense in depth: the engine scrubs results on ingestion; the handler also scrubs what it
    // renders of its own secret, so a check echoing a request header can never leak it.
    if (!options.token.empty()) scrubber.add_secret(options.token);
    anonymous_detailed = options.details == detail_policy::everyone;
    token_unlocks = options.details == detail_policy::authorized && !options.token.empty();
    certificate_unlocks = options.details == detail_policy::authorized;
    anonymous_scrape = options.metrics == metrics_policy::everyone ||
                       (options.metrics == metrics_policy::details && anonymous_detailed);
  }

  /// Whether this caller may scrape /metrics: anonymous if the policy lets everyone, else the
  /// bearer token or a verified client certificate (whatever the detail policy).
  [[nodiscard]] bool may_scrape(std::string_view authorization, bool verified) const noexcept {
    if (anonymous_scrape) return true;
    return verified ||
           (!options.token.empty() && detail::bearer_matches(authorization, options.token));
  }
  state(const state&) = delete;
  state& operator=(const state&) = delete;

  ~state() {
    // Other threads' slots are beyond reach; they are released on reuse or at thread exit.
    if (tl_memo_gone) return;
    for (auto& s : tl_memo.slots) {
      if (s.owner == id && !s.busy) s = memo_slot{};
    }
  }

  void bind(std::shared_ptr<service> svc) {
    if (!svc) throw std::invalid_argument("vitals::http::handler: null service");
    auto b = std::make_shared<const binding>(
        binding{std::move(svc), next_binding_epoch.fetch_add(1, std::memory_order_relaxed)});
    std::shared_ptr<const binding> previous;
    {
      std::lock_guard lock{bind_mutex};
      previous = std::exchange(bound, b);
      epoch.store(b->epoch, std::memory_order_release);
    }
    // `previous` is released here, outside the lock: if it was the last reference, the old
    // service is destroyed on the caller's thread, never on a serving one.
  }

  [[nodiscard]] std::shared_ptr<service> source() const {
    std::lock_guard lock{bind_mutex};
    return bound->svc;
  }

  /// This thread's memo slot for this handler, taken over from the oldest idle one if needed;
  /// `spare` once the thread's memo table is gone (the request then memoizes nothing).
  [[nodiscard]] memo_slot& slot(std::optional<memo_slot>& spare) const {
    if (tl_memo_gone) return spare.emplace();
    memo_table& t = tl_memo;
    for (auto& s : t.slots) {
      if (s.owner == id) return s;
    }
    for (std::size_t i = 0; i < memo_slots; ++i) {
      memo_slot& s = t.slots[t.next];
      t.next = (t.next + 1) % memo_slots;
      if (s.busy) continue;
      s = memo_slot{};
      s.owner = id;
      return s;
    }
    // Every slot is in use by a request nested on this thread: cannot happen with fewer than
    // memo_slots handlers serving re-entrantly.
    throw std::runtime_error("vitals::http::handler: too many nested requests on one thread");
  }

  /// The binding this request is served from; stays valid while `s.busy`.
  [[nodiscard]] const binding& current(memo_slot& s) const {
    const std::uint64_t e = epoch.load(std::memory_order_acquire);
    if (!s.bound || s.bound->epoch != e) {
      std::shared_ptr<const binding> fresh;
      {
        std::lock_guard lock{bind_mutex};
        fresh = bound;
      }
      // Swapped outside the lock: dropping the previous binding may destroy a service.
      s.bound.swap(fresh);
    }
    return *s.bound;
  }

  [[nodiscard]] detail::render_context context(const snapshot& snap, bool detailed) const {
    return detail::render_context{snap, options.codes, scrubber, detailed};
  }

  /// The renderings of this generation (or a newer one) of binding `b`: a set whose variants
  /// render on first use. The reference stays valid until this thread's next call.
  [[nodiscard]] const std::shared_ptr<const rendered_set>& rendering(
      memo_slot& s, const binding& b, const std::shared_ptr<const snapshot>& snap) {
    if (s.set && s.set->epoch == b.epoch && s.set->generation >= snap->generation) return s.set;
    std::lock_guard lock{render_mutex};
    if (!latest || latest->epoch != b.epoch || latest->generation < snap->generation) {
      auto set = std::make_shared<rendered_set>();
      set->epoch = b.epoch;
      set->generation = snap->generation;
      set->snap = snap;
      latest = std::move(set);
    }
    s.set = latest;
    return s.set;
  }

  /// Variant `i` of `set`, rendered now if this is its first request.
  [[nodiscard]] const rendered& variant(const rendered_set& set, std::size_t i) const {
    return set.get(i, [&](const snapshot& snap) {
      const detail::cached_variant& v = detail::cached_variants()[i];
      return detail::wire_form(v.render(context(snap, v.detailed)));
    });
  }

  [[nodiscard]] wire_response answer(const rendered& fixed_answer) const noexcept {
    return detail::wire_of(fixed, fixed_answer);
  }

  /// The decoded path under the prefix, or the fixed answer refusing the target.
  [[nodiscard]] const rendered* local_path(std::string_view& path, std::string& storage) const {
    if (path.empty() || path.front() != '/') return &fixed->bad_request;
    const auto decoded = detail::percent_decode(path, storage, false);
    if (!decoded) return &fixed->bad_request;
    path = *decoded;
    const std::string& prefix = options.prefix;
    if (!prefix.empty()) {
      if (path.size() <= prefix.size() || path.substr(0, prefix.size()) != prefix ||
          path[prefix.size()] != '/') {
        return &fixed->not_found;
      }
      path.remove_prefix(prefix.size());
    }
    return nullptr;
  }

  /// Calls the row's responder on the service loaded once for the whole request: it is
  /// answered by one engine even if a rebind happens meanwhile.
  [[nodiscard]] wire_response respond(const route& row, std::string_view name,
                                      const detail::query_options& query, bool detailed,
                                      std::string_view accept, std::string_view raw_query,
                                      const detail::serve_extras& extras);

  /// serve() before counting: `endpoint` is set to the endpoint the answer is counted under.
  [[nodiscard]] wire_response route_request(std::string_view method, std::string_view target,
                                            std::string_view authorization, bool verified,
                                            std::string_view accept, bool metrics_listener,
                                            const detail::serve_extras& extras,
                                            std::size_t& endpoint);
};

namespace detail {

/// What a route_call reaches of the handler during one request.
struct serve_scope {
  handler_impl::state& st;
  memo_slot& slot;
  const binding& bound;
  const serve_extras& extras;
};

wire_response route_call::cached(const std::shared_ptr<const snapshot>& snap, std::size_t i) const {
  handler_impl::state& st = scope_.st;
  const std::shared_ptr<const rendered_set>& set = st.rendering(scope_.slot, scope_.bound, snap);
  return wire_of(set, st.variant(*set, i));
}

render_context route_call::context(const snapshot& snap) const noexcept {
  return scope_.st.context(snap, detailed);
}

void route_call::live_metrics(metrics_writer& w, const snapshot& snap) const {
  const handler_impl::state& st = scope_.st;
  const request_counts counts = st.requests.counts();
  std::lock_guard lock{st.sources_mutex};
  std::vector<metrics_source> sources;
  sources.reserve(st.sources.size());
  for (const auto& [id, source] : st.sources) sources.push_back(source);
  write_live_metrics(w, svc, snap.info, counts, sources);
}

wire_response route_call::not_found() const { return scope_.st.answer(scope_.st.fixed->not_found); }

push_board& route_call::pushes() const noexcept { return *scope_.st.pushes; }

std::shared_ptr<const target_catalog::map> route_call::targets() const {
  const auto& catalog = scope_.st.options.targets;
  return catalog ? catalog->get() : nullptr;
}

bool route_call::listed(const snapshot& snap, std::string_view name) const {
  if (snap.find(name) != nullptr) return true;
  const auto& fleet = scope_.st.options.fleet;
  if (!fleet) return false;
  const auto all = fleet->get();
  return all->find(std::string{name}) != all->end();
}

const status_page_options& route_call::status_page() const noexcept {
  return scope_.st.options.status_page;
}

const history_reader* route_call::history() const noexcept {
  return scope_.st.options.history.get();
}

const maintenance_source* route_call::maintenance() const noexcept {
  return scope_.st.options.maintenance.get();
}

const event_feed* route_call::events() const noexcept { return scope_.st.options.events.get(); }

event_render route_call::event_rendering(const target_catalog::map* catalog) const noexcept {
  return event_render{scope_.st.scrubber, catalog, detailed};
}

const serve_extras& route_call::extras() const noexcept { return scope_.extras; }

wire_response route_call::owned(typed_response r) {
  auto p = std::make_shared<const rendered>(wire_form(std::move(r)));
  const rendered& ref = *p;
  return wire_of(std::move(p), ref);
}

}  // namespace detail

wire_response handler::impl::state::respond(const route& row, std::string_view name,
                                            const detail::query_options& query, bool detailed,
                                            std::string_view accept, std::string_view raw_query,
                                            const detail::serve_extras& extras) {
  std::optional<memo_slot> spare;
  memo_slot& s = slot(spare);
  const busy_guard in_use{s};
  const binding& b = current(s);
  const detail::serve_scope scope{*this, s, b, extras};
  return row.respond(detail::route_call{scope, *b.svc, name, query, detailed, accept, raw_query});
}

handler::impl::impl(std::shared_ptr<service> svc, handler_options options,
                    std::vector<detail::route> routes)
    : state_(std::make_unique<state>(std::move(options), std::move(routes))) {
  state_->bind(std::move(svc));
}

handler::impl::~impl() = default;

void handler::impl::rebind(std::shared_ptr<service> svc) { state_->bind(std::move(svc)); }

std::uint64_t handler::impl::add_metrics_source(detail::metrics_source source) const {
  std::lock_guard lock{state_->sources_mutex};
  const std::uint64_t id = state_->next_source++;
  state_->sources.emplace_back(id, std::move(source));
  return id;
}

void handler::impl::remove_metrics_source(std::uint64_t id) const noexcept {
  std::lock_guard lock{state_->sources_mutex};
  std::erase_if(state_->sources, [id](const auto& s) { return s.first == id; });
}

std::shared_ptr<service> handler::impl::source() const { return state_->source(); }

const event_feed* handler::impl::events() const noexcept { return state_->options.events.get(); }

void handler::impl::render_events(detail::event_batch& out,
                                  std::span<const status_event> events) const {
  const auto& catalog = state_->options.targets;
  const auto groups = catalog ? catalog->get() : nullptr;
  detail::render_batch(out, state_->scrubber, groups.get(), events);
}

wire_response handler::impl::serve(std::string_view method, std::string_view target,
                                   std::string_view authorization, bool client_certificate_verified,
                                   std::string_view accept, bool metrics_listener,
                                   const detail::serve_extras& extras) const {
  state& st = *state_;
  std::size_t endpoint = st.requests.other();
  wire_response w = st.route_request(method, target, authorization, client_certificate_verified,
                                     accept, metrics_listener, extras, endpoint);
  st.requests.count(endpoint, w.status);
  return w;
}

wire_response handler::impl::state::route_request(std::string_view method, std::string_view target,
                                                  std::string_view authorization,
                                                  bool client_certificate_verified,
                                                  std::string_view accept, bool metrics_listener,
                                                  const detail::serve_extras& extras,
                                                  std::size_t& endpoint) {
  state& st = *this;
  const fixed_responses& fixed = *st.fixed;
  if (target.size() > detail::max_target) return st.answer(fixed.too_long);
  const detail::target_parts parts = detail::split_target(target);
  std::string_view path = parts.path;
  std::string path_storage;
  if (const rendered* refused = st.local_path(path, path_storage)) return st.answer(*refused);

  const route_hit hit = find_route(st.routes, path, detail::method_of(method));
  if (hit.row == nullptr) {
    if (hit.known == no_row || (metrics_listener && !st.routes[hit.known].scrape)) {
      return st.answer(fixed.not_found);
    }
    endpoint = st.requests.endpoint_of_row(hit.known);
    return st.answer(fixed.not_allowed[hit.known]);
  }
  const route& row = *hit.row;
  if (metrics_listener && !row.scrape) return st.answer(fixed.not_found);
  endpoint = st.requests.endpoint_of_row(static_cast<std::size_t>(hit.row - st.routes.data()));
  if (row.needs_token && !client_certificate_verified &&
      !detail::bearer_matches(authorization, st.options.token)) {
    return st.answer(fixed.unauthorized);
  }
  if (row.scrape && !metrics_listener &&
      !st.may_scrape(authorization, client_certificate_verified)) {
    return st.answer(fixed.unauthorized);
  }
  detail::query_options query;
  if (row.query && !parts.query.empty()) {
    auto parsed = detail::parse_query(parts.query);
    if (!parsed) return st.answer(fixed.bad_request);
    query = std::move(*parsed);
  }
  const bool detailed =
      st.anonymous_detailed || (st.certificate_unlocks && client_certificate_verified) ||
      (st.token_unlocks && detail::bearer_matches(authorization, st.options.token));
  return st.respond(row, hit.name, query, detailed, accept, parts.query, extras);
}

response handler::impl::handle(const request& req) const {
  std::string_view authorization{};
  std::string_view accept{};
  detail::serve_extras extras{};
  for (const header& h : req.headers) {
    if (authorization.empty() && iequals(h.name, "Authorization")) authorization = h.value;
    if (accept.empty() && iequals(h.name, "Accept")) accept = h.value;
    if (extras.last_event_id.empty() && iequals(h.name, "Last-Event-ID")) {
      extras.last_event_id = h.value;
    }
  }
  // No streaming here: the answer is what is new since Last-Event-ID, and the client reconnects
  // after the `retry:` delay.
  const wire_response w = serve(req.method, req.target, authorization,
                                req.client_certificate_verified, accept, false, extras);
  // The typed parts of the very rendering the server would send: both paths agree by
  // construction.
  const detail::typed_response& t = *w.typed;
  response out;
  out.status = t.status;
  out.headers.reserve(t.headers.size() + 1);
  out.headers.emplace_back("Content-Type", t.content_type);
  for (const detail::field& f : t.headers) out.headers.emplace_back(f.name, f.value);
  out.content_length = t.body.size();
  if (req.method != "HEAD") out.body = t.body;
  return out;
}

handler::handler(service& svc, handler_options options)
    // Non-owning: an aliasing pointer without a control block; the caller keeps `svc` alive.
    : handler(std::shared_ptr<service>(std::shared_ptr<void>{}, &svc), std::move(options)) {}

handler::handler(std::shared_ptr<service> svc, handler_options options)
    : impl_(std::make_unique<impl>(std::move(svc), std::move(options))) {}

handler::~handler() = default;

response handler::handle(const request& req) const { return impl_->handle(req); }

void handler::rebind(std::shared_ptr<service> svc) { impl_->rebind(std::move(svc)); }

void handler::rebind(service& svc) {
  impl_->rebind(std::shared_ptr<service>(std::shared_ptr<void>{}, &svc));
}

service& handler::source() const noexcept { return *impl_->source(); }

std::shared_ptr<service> handler::shared_source() const { return impl_->source(); }

}  // namespace vitals::http
