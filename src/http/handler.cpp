// The transport-agnostic handler: target parsing, routing, authorization and the per-generation
// cache of rendered bodies that makes the common probe free of allocation.

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
#include "handler_impl.hpp"
#include "render.hpp"

namespace vitals::http {

namespace {

using detail::rendered;

/// Targets longer than this are refused with 414 before any parsing.
constexpr std::size_t max_target = 2048;

constexpr std::array<probe, 3> all_probes{probe::live, probe::ready, probe::startup};

std::size_t probe_index(probe p) noexcept {
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
  static constexpr std::size_t probe_variants = 3 * 2 * 2;     // [probe][verbose][detailed]
  static constexpr std::size_t variants = probe_variants + 2;  // + health[detailed]
  std::uint64_t epoch = 0;
  std::uint64_t generation = 0;
  std::shared_ptr<const snapshot> snap{};
  mutable std::mutex mu{};
  mutable std::array<rendered, variants> slots{};
  mutable std::array<std::atomic<bool>, variants> ready{};

  static std::size_t probe_slot(std::size_t p, std::size_t verbose, std::size_t detailed) {
    return (p * 2 + verbose) * 2 + detailed;
  }
  static std::size_t health_slot(std::size_t detailed) { return probe_variants + detailed; }
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
thread_local std::array<memo_slot, memo_slots> tl_memo{};
thread_local std::size_t tl_memo_next = 0;
std::atomic<std::uint64_t> next_handler_id{1};

struct fixed_responses {
  rendered bad_request = detail::make_rendered(400, detail::text_plain, "400 bad request\n");
  rendered not_found = detail::make_rendered(404, detail::text_plain, "404 page not found\n");
  rendered not_allowed =
      detail::make_rendered(405, detail::text_plain, "405 method not allowed\n", true);
  rendered too_long = detail::make_rendered(414, detail::text_plain, "414 URI too long\n");
};

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX (and '+' as a space in queries, as browsers and Go's url.Query do). Returns the
// input itself when there is nothing to decode, so the common target costs no allocation.
std::optional<std::string_view> percent_decode(std::string_view in, std::string& storage,
                                               bool plus_is_space) {
  const bool needs = in.find('%') != std::string_view::npos ||
                     (plus_is_space && in.find('+') != std::string_view::npos);
  if (!needs) return in;
  storage.clear();
  storage.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      storage.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      storage.push_back(' ');
    } else {
      storage.push_back(c);
    }
  }
  return std::string_view{storage};
}

bool is_false_word(std::string_view v) noexcept {
  return v == "0" || v == "false" || v == "no" || v == "off";
}

struct query_options {
  bool verbose = false;
  std::vector<std::string> exclude{};
};

// Unknown parameters are ignored; a malformed escape is a 400.
std::optional<query_options> parse_query(std::string_view query) {
  query_options q;
  std::string key_storage;
  std::string value_storage;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    const auto key = percent_decode(part.substr(0, eq), key_storage, true);
    if (!key) return std::nullopt;
    const bool has_value = eq != std::string_view::npos;
    const auto value =
        has_value ? percent_decode(part.substr(eq + 1), value_storage, true) : std::string_view{};
    if (!value) return std::nullopt;
    if (*key == "verbose") {
      q.verbose = !has_value || !is_false_word(*value);
    } else if (*key == "exclude" && !value->empty()) {
      q.exclude.emplace_back(*value);
    }
  }
  return q;
}

enum class route_kind : std::uint8_t { probe_root, probe_check, health_root, health_check };

struct route {
  route_kind kind = route_kind::probe_root;
  probe which = probe::ready;
  std::string_view check{};
};

std::optional<route> match(std::string_view path) {
  static constexpr std::array<std::pair<std::string_view, probe>, 3> probe_paths{{
      {"/livez", probe::live},
      {"/readyz", probe::ready},
      {"/startupz", probe::startup},
  }};
  const auto sub = [](std::string_view p,
                      std::string_view base) -> std::optional<std::string_view> {
    if (p.size() <= base.size() + 1 || p.substr(0, base.size()) != base || p[base.size()] != '/') {
      return std::nullopt;
    }
    const std::string_view name = p.substr(base.size() + 1);
    if (name.find('/') != std::string_view::npos) return std::nullopt;
    return name;
  };
  for (const auto& [base, p] : probe_paths) {
    if (path == base) return route{route_kind::probe_root, p, {}};
    if (auto name = sub(path, base)) return route{route_kind::probe_check, p, *name};
  }
  if (path == "/health") return route{route_kind::health_root, probe::ready, {}};
  if (auto name = sub(path, "/health")) return route{route_kind::health_check, probe::ready, *name};
  return std::nullopt;
}

wire_response wire(std::shared_ptr<const void> keep, const rendered& r) {
  return wire_response{std::move(keep), r.head, r.body, r.status};
}

wire_response owned(rendered r) {
  auto p = std::make_shared<const rendered>(std::move(r));
  const rendered& ref = *p;
  return wire(std::move(p), ref);
}

void check_code(int code, const char* what) {
  if (code < 200 || code > 599) {
    throw std::invalid_argument(std::string{"vitals::http::handler: status code for "} + what +
                                " must be in [200, 599], got " + std::to_string(code));
  }
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

struct handler::impl::state {
  handler_options options;
  redactor scrubber{};
  /// Anonymous callers may see details (detail_policy::everyone).
  bool anonymous_detailed = false;
  /// A matching bearer token unlocks details (policy `authorized` and a token configured).
  bool token_unlocks = false;
  std::shared_ptr<const fixed_responses> fixed = std::make_shared<const fixed_responses>();
  const std::uint64_t id = next_handler_id.fetch_add(1, std::memory_order_relaxed);
  /// Epoch of `bound`: what a memo slot compares against on every request.
  std::atomic<std::uint64_t> epoch{0};
  mutable std::mutex bind_mutex{};
  /// The current binding; guarded by bind_mutex.
  std::shared_ptr<const binding> bound{};
  std::mutex render_mutex{};
  /// The newest rendering; guarded by render_mutex.
  std::shared_ptr<const rendered_set> latest{};

  explicit state(handler_options o) : options(std::move(o)) {}

  ~state() {
    // Other threads' slots are beyond reach; they are released on reuse or at thread exit.
    for (auto& s : tl_memo) {
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

  /// This thread's memo slot for this handler, taken over from the oldest idle one if needed.
  [[nodiscard]] memo_slot& slot() const {
    for (auto& s : tl_memo) {
      if (s.owner == id) return s;
    }
    for (std::size_t i = 0; i < memo_slots; ++i) {
      memo_slot& s = tl_memo[tl_memo_next];
      tl_memo_next = (tl_memo_next + 1) % memo_slots;
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

  [[nodiscard]] rendered render_variant(const snapshot& snap, std::size_t i) const {
    if (i >= rendered_set::probe_variants) {
      return detail::render_health(context(snap, i == rendered_set::health_slot(1)));
    }
    const std::size_t detailed = i % 2;
    const std::size_t verbose = (i / 2) % 2;
    return detail::render_probe(context(snap, detailed == 1), all_probes[i / 4], verbose == 1);
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
    return set.get(i, [&](const snapshot& snap) { return render_variant(snap, i); });
  }
};

namespace {

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

}  // namespace

handler::impl::impl(std::shared_ptr<service> svc, handler_options options)
    : state_(std::make_unique<state>(std::move(options))) {
  state_->bind(std::move(svc));
  handler_options& o = state_->options;
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
  // Defense in depth: the engine scrubs results on ingestion; the handler also scrubs what it
  // renders of its own secret, so a check echoing a request header can never leak it.
  if (!o.token.empty()) state_->scrubber.add_secret(o.token);
  state_->anonymous_detailed = o.details == detail_policy::everyone;
  state_->token_unlocks = o.details == detail_policy::authorized && !o.token.empty();
}

handler::impl::~impl() = default;

void handler::impl::rebind(std::shared_ptr<service> svc) { state_->bind(std::move(svc)); }

std::shared_ptr<service> handler::impl::source() const { return state_->source(); }

wire_response handler::impl::serve(std::string_view method, std::string_view target,
                                   std::string_view authorization) const {
  state& st = *state_;
  const auto& fixed = *st.fixed;
  if (target.size() > max_target) return wire(st.fixed, fixed.too_long);

  std::string_view path = target;
  std::string_view query{};
  if (const std::size_t hash = path.find('#'); hash != std::string_view::npos) {
    path = path.substr(0, hash);
  }
  if (const std::size_t q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  if (path.empty() || path.front() != '/') return wire(st.fixed, fixed.bad_request);
  std::string path_storage;
  const auto decoded = percent_decode(path, path_storage, false);
  if (!decoded) return wire(st.fixed, fixed.bad_request);
  path = *decoded;

  const std::string& prefix = st.options.prefix;
  if (!prefix.empty()) {
    if (path.size() <= prefix.size() || path.substr(0, prefix.size()) != prefix ||
        path[prefix.size()] != '/') {
      return wire(st.fixed, fixed.not_found);
    }
    path.remove_prefix(prefix.size());
  }
  const auto r = match(path);
  if (!r) return wire(st.fixed, fixed.not_found);
  if (method != "GET" && method != "HEAD") return wire(st.fixed, fixed.not_allowed);

  query_options q;
  if (!query.empty() && (r->kind == route_kind::probe_root || r->kind == route_kind::probe_check)) {
    auto parsed = parse_query(query);
    if (!parsed) return wire(st.fixed, fixed.bad_request);
    q = std::move(*parsed);
  }

  const bool detailed =
      st.anonymous_detailed ||
      (st.token_unlocks && detail::bearer_matches(authorization, st.options.token));
  const std::size_t d = detailed ? 1 : 0;

  // The service is loaded once: the whole request is answered by one engine even if a rebind
  // happens meanwhile.
  memo_slot& slot = st.slot();
  const busy_guard in_use{slot};
  const binding& b = st.current(slot);
  service& svc = *b.svc;

  // Ask for on-demand checks first: it never blocks, and this request is answered from the
  // latest snapshot whatever happens.
  switch (r->kind) {
    case route_kind::probe_root:
      svc.request(probe_set{r->which});
      break;
    case route_kind::health_root:
      svc.request(vitals::live | vitals::ready | vitals::startup);
      break;
    case route_kind::probe_check:
    case route_kind::health_check:
      static_cast<void>(svc.request(r->check));
      break;
  }

  const std::shared_ptr<const snapshot> snap = svc.current();
  switch (r->kind) {
    case route_kind::probe_root: {
      if (q.exclude.empty()) {
        const auto& set = st.rendering(slot, b, snap);
        return wire(set, st.variant(*set, rendered_set::probe_slot(probe_index(r->which),
                                                                   q.verbose ? 1 : 0, d)));
      }
      return owned(
          detail::render_probe(st.context(*snap, detailed), r->which, q.verbose, q.exclude));
    }
    case route_kind::health_root: {
      const auto& set = st.rendering(slot, b, snap);
      return wire(set, st.variant(*set, rendered_set::health_slot(d)));
    }
    case route_kind::probe_check: {
      const check_state* c = snap->find(r->check);
      if (c == nullptr || !c->options.probes.contains(r->which)) {
        return wire(st.fixed, fixed.not_found);
      }
      return owned(
          detail::render_probe_check(st.context(*snap, detailed), r->which, *c, q.verbose));
    }
    case route_kind::health_check: {
      const check_state* c = snap->find(r->check);
      if (c == nullptr) return wire(st.fixed, fixed.not_found);
      return owned(detail::render_health(st.context(*snap, detailed), c));
    }
  }
  return wire(st.fixed, fixed.not_found);
}

response handler::impl::handle(const request& req) const {
  std::string_view authorization{};
  for (const header& h : req.headers) {
    if (iequals(h.name, "Authorization")) {
      authorization = h.value;
      break;
    }
  }
  const wire_response w = serve(req.method, req.target, authorization);

  response out;
  out.status = w.status;
  // The headers are read back from the wire head so both paths can never disagree.
  std::string_view head = w.head;
  bool status_line = true;
  while (!head.empty()) {
    const std::size_t eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    head = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 2);
    if (status_line) {
      status_line = false;
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (iequals(name, "Content-Length")) continue;
    out.headers.emplace_back(std::string{name}, std::string{value});
  }
  out.content_length = w.body.size();
  if (req.method != "HEAD") out.body.assign(w.body);
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
