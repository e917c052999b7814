#include "vitals/service.hpp"

// The engine, composed of small pieces: `run_state` (one check's rules, pure), `timer_heap`
// (only due checks are touched), `publisher` (structurally shared snapshots, batched),
// `observer_queue` (the observer seam) and the thread pool. This file owns the lock, the
// scheduler thread, dispatch and event delivery. See docs/engine.md for the data flow.

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "base/format.hpp"
#include "lag_histogram.hpp"
#include "observer_queue.hpp"
#include "publisher.hpp"
#include "run_state.hpp"
#include "secret_set.hpp"
#include "thread_pool.hpp"
#include "timer_heap.hpp"
#include "vitals/redact.hpp"

namespace vitals {
namespace {

using detail::never;
using detail::run_state;
using detail::steady_time;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
constexpr std::size_t max_default_threads = 64;
// The scheduler re-polls at least this often, so that a manual clock driven without poll()
// calls, or a missed wake-up, can never stall it for long.
constexpr milliseconds max_scheduler_sleep{1000};
constexpr milliseconds pool_shutdown_grace{1000};
constexpr milliseconds observer_shutdown_grace{1000};
constexpr milliseconds default_publish_interval{2};
constexpr std::chrono::microseconds default_first_run_spread{1000};
constexpr milliseconds late_start{100};
constexpr std::array<probe, 3> all_probes = {probe::live, probe::ready, probe::startup};

std::atomic<std::uint64_t> next_service_id{1};

std::int64_t ticks(steady_time t) noexcept { return t.time_since_epoch().count(); }

// A stable hash of a check's name (FNV-1a, then splitmix64's finaliser so that names differing
// in their last characters land far apart), so its first-run offset is the same on every start.
std::uint64_t stable_hash(std::string_view s) noexcept {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

// The `engine` self-check: reads the engine's own figures (outside the engine lock: it runs
// like any async check, started after the lock is released).
class engine_check final : public async_check {
 public:
  explicit engine_check(milliseconds warn_at) : warn_at_(warn_at) {}
  void attach(std::function<engine_stats()> source) { source_ = std::move(source); }
  void start(std::shared_ptr<const context>, completion done) override {
    if (!source_) return done(pass());
    const engine_stats s = source_();
    const auto lag_ms = std::chrono::duration_cast<milliseconds>(s.lag_p99).count();
    if (s.lag_p99 > warn_at_) {
      return done(warn("the engine is behind: runs start " + std::to_string(lag_ms) +
                       "ms late (p99); results stay honest but checks are not on time")
                      .observe(static_cast<std::int64_t>(lag_ms), "ms"));
    }
    done(pass().observe(static_cast<std::int64_t>(lag_ms), "ms"));
  }
  [[nodiscard]] check_traits traits() const override {
    return {.type = "engine", .component_type = "system", .measurement = "lag"};
  }

 private:
  milliseconds warn_at_;
  std::function<engine_stats()> source_{};
};

// A run decided under the lock and started after it is released: a check's start() may call
// its completion synchronously, which takes the lock again.
struct launch {
  std::uint32_t index;
  std::uint64_t run_id;
  // An async check is started by the engine's own call (the engine, hence the check, lives
  // through it): no reference is taken, which at 100,000 checks is a cold cache line less per
  // run. A blocking one runs later on the pool and holds the check.
  check* raw;
  std::shared_ptr<check> impl;
  bool async;
  std::string name;
  run_state::ticket run;
};

// The scheduler knows which check is due next: its run state is brought into the cache ahead
// of its time (at 100,000 checks it is otherwise a cold ~1 KiB read when it comes due).
void prefetch_object(const void* p, std::size_t bytes) noexcept {
  const auto* c = static_cast<const char*>(p);
  for (std::size_t off = 0; off < bytes; off += 64) __builtin_prefetch(c + off);
}

void default_on_event(const event& e) {
  std::string line = "vitals: ";
  switch (e.what) {
    case event::type::transition:
      line += "check \"" + e.check + "\" " + std::string(to_string(e.from)) + " -> " +
              std::string(to_string(e.to));
      if (e.kind != failure_kind::none) line += " (" + std::string(to_string(e.kind)) + ")";
      break;
    case event::type::timeout:
      line += "check \"" + e.check + "\" timeout";
      break;
    case event::type::late_result:
      line += "check \"" + e.check + "\" late result discarded";
      break;
    case event::type::shutdown:
      line += "shutdown";
      break;
    case event::type::error:
      line += e.check.empty() ? "error" : "check \"" + e.check + "\" error";
      break;
  }
  if (!e.message.empty()) line += ": " + e.message;
  line += '\n';
  std::fputs(line.c_str(), stderr);
}

// One slot of the per-thread snapshot cache used by service::current().
struct cache_slot {
  std::uint64_t owner = 0;
  std::uint64_t generation = 0;
  std::shared_ptr<const snapshot> local{};
};
constexpr std::size_t cache_slots = 4;
thread_local std::array<cache_slot, cache_slots> tl_cache{};
thread_local std::size_t tl_cache_next = 0;
// Which engine is delivering events on this thread (re-entrancy guard for on_event).
thread_local const void* tl_delivering = nullptr;

}  // namespace

class service::impl : public std::enable_shared_from_this<service::impl> {
 public:
  impl(registry reg, service_options options);

  void start();
  void stop();
  void begin_shutdown();
  [[nodiscard]] bool shutting_down() const noexcept {
    return shutting_down_flag_.load(std::memory_order_acquire);
  }
  [[nodiscard]] std::shared_ptr<const snapshot> current();
  void request(probe_set probes);
  bool request(std::string_view name);
  steady_time poll();
  bool wait_for_update(std::uint64_t generation, milliseconds timeout);
  [[nodiscard]] engine_stats stats();
  [[nodiscard]] const vitals::clock& clock() const noexcept { return *clock_; }

 private:
  void arm_locked(steady_time now);
  // Everything that follows a change of check i: heaps, publisher, probe tallies, observers.
  void touch_locked(std::uint32_t i, steady_time now, status before, bool finished);
  bool rejudge_due_locked(steady_time now);
  void publish_locked(steady_time now);
  bool maybe_publish_locked(steady_time now);
  [[nodiscard]] steady_time next_wake_locked() const;
  [[nodiscard]] nanoseconds jittered_locked(const check_options& o);
  [[nodiscard]] std::uint32_t find_locked(std::string_view name) const noexcept;
  [[nodiscard]] status probe_now_locked(probe p) const noexcept;
  void emit_locked(event e);
  void dispatch(launch l);
  void complete(std::uint32_t index, std::uint64_t run_id, result r,
                std::optional<steady_time> started);
  void flush_events();
  void deliver_locked();  // requires events_mu_
  void wake_scheduler();
  void scheduler_loop();
  [[nodiscard]] std::shared_ptr<const snapshot> latest() const;
  [[nodiscard]] std::shared_ptr<const snapshot> refresh_cache(cache_slot& slot);

  const std::uint64_t id_ = next_service_id.fetch_add(1, std::memory_order_relaxed);
  const bool injected_clock_;
  std::shared_ptr<vitals::clock> clock_;
  std::function<void(const event&)> on_event_;
  service_info info_;
  std::unique_ptr<detail::secret_set> secrets_;  // every check's secrets, matched in one pass
  std::unique_ptr<detail::thread_pool> pool_;
  nanoseconds publish_interval_{};
  bool explicit_publish_interval_ = false;
  nanoseconds first_run_spread_{};
  std::vector<std::unique_ptr<detail::observer_queue>> observers_;

  // Engine state, guarded by mu_.
  mutable std::mutex mu_;
  std::condition_variable update_cv_;  // signalled on every publication
  std::vector<run_state> checks_;
  std::shared_ptr<const detail::publisher::name_index> names_;
  detail::timer_heap wake_;   // when each check next needs a step
  detail::timer_heap stale_;  // when each check's result turns stale (snapshot validity)
  // On-demand checks per probe (live, ready, startup) and when a request may need them.
  std::array<std::vector<std::uint32_t>, 3> on_demand_{};
  std::array<detail::timer_heap, 3> demand_heap_{};
  std::unique_ptr<detail::publisher> publisher_;
  std::array<probe_tally, 4> tallies_{};
  std::array<status, 3> published_probe_{status::unknown, status::unknown, status::unknown};
  std::mt19937_64 rng_;
  std::uint64_t generation_ = 0;
  steady_time last_publish_ = steady_time::min();
  steady_time scheduled_wake_ = never;  // when the scheduler thread will poll next
  bool armed_ = false;
  bool started_ = false;
  bool stopped_ = false;
  bool latched_ = false;
  bool shutting_down_ = false;
  std::vector<event> pending_events_;
  detail::lag_histogram lag_{};
  std::uint64_t results_ = 0;
  std::uint64_t late_starts_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t pool_jobs_ = 0;

  // Published state: read without mu_.
  std::atomic<bool> shutting_down_flag_{false};
  std::atomic<std::uint64_t> published_generation_{0};
  mutable std::mutex latest_mu_;
  std::shared_ptr<const snapshot> latest_;
  // request() fast path: per probe, the earliest steady time at which an on-demand check of
  // that probe may need a run. Nothing to do before it: no lock taken.
  std::array<std::atomic<std::int64_t>, 3> demand_at_{};
  bool has_on_demand_ = false;

  std::mutex events_mu_;  // serialises delivery; taken before mu_, never while holding it

  std::mutex sched_mu_;
  std::condition_variable sched_cv_;
  bool sched_wake_ = false;
  bool sched_stop_ = false;
  std::thread scheduler_;
  std::mutex stop_mu_;
};

service::impl::impl(registry reg, service_options options)
    : injected_clock_(options.clock != nullptr),
      clock_(options.clock ? std::move(options.clock) : real_clock()),
      on_event_(options.on_event ? std::move(options.on_event) : default_on_event),
      info_(std::move(options.info)) {
  const bool injected = injected_clock_;
  explicit_publish_interval_ = options.publish_interval.has_value();
  publish_interval_ =
      options.publish_interval.value_or(injected ? milliseconds{0} : default_publish_interval);
  first_run_spread_ = options.first_run_spread.value_or(injected ? std::chrono::microseconds{0}
                                                                 : default_first_run_spread);
  std::size_t blocking = 0;
  const auto& entries = reg.entries();
  {
    std::vector<std::string> all;
    for (const auto& e : entries)
      all.insert(all.end(), e.traits.secrets.begin(), e.traits.secrets.end());
    secrets_ = std::make_unique<detail::secret_set>(all);
  }
  checks_.reserve(entries.size());
  auto names = std::make_shared<detail::publisher::name_index>();
  std::map<std::string_view, const check_state*> seeds;
  for (const auto& s : options.seed_states)
    if (s) seeds.emplace(s->name, s.get());
  for (const auto& e : entries) {
    const bool async = dynamic_cast<async_check*>(e.impl.get()) != nullptr;
    if (!async) ++blocking;
    const auto i = static_cast<std::uint32_t>(checks_.size());
    checks_.emplace_back(e, async, secrets_.get());
    if (auto seed = seeds.find(e.name); seed != seeds.end()) checks_.back().seed(*seed->second);
    names->emplace_back(e.name, i);
    const auto& st = checks_.back().state();
    if (counts_in_service(e.options)) tallies_[all_checks_tally].count(st, 1);
    for (const probe p : all_probes) {
      if (!e.options.probes.contains(p)) continue;
      tallies_[tally_index(p)].count(st, 1);
      if (!checks_.back().background()) on_demand_[tally_index(p)].push_back(i);
    }
    has_on_demand_ = has_on_demand_ || !checks_.back().background();
  }
  std::sort(names->begin(), names->end());
  names_ = std::move(names);
  wake_ = detail::timer_heap(checks_.size());
  stale_ = detail::timer_heap(checks_.size());
  for (auto& h : demand_heap_) h = detail::timer_heap(checks_.size());
  for (std::uint32_t i = 0; i < checks_.size(); ++i)  // seeded results age from their own time
    if (checks_[i].state().stale_at != never) stale_.set(i, checks_[i].state().stale_at);
  for (std::uint32_t i = 0; i < checks_.size(); ++i) {
    if (checks_[i].background()) continue;
    for (const probe p : all_probes)
      if (checks_[i].options().probes.contains(p))
        demand_heap_[tally_index(p)].set(i, checks_[i].demand_at());
  }
  for (std::size_t p = 0; p < 3; ++p)
    demand_at_[p].store(ticks(demand_heap_[p].next()), std::memory_order_release);
  publisher_ = std::make_unique<detail::publisher>(checks_.size(), names_);
  const std::size_t threads = options.max_threads > 0
                                  ? options.max_threads
                                  : std::clamp<std::size_t>(blocking, 1, max_default_threads);
  pool_ = std::make_unique<detail::thread_pool>(threads);
  for (auto& o : options.observers)
    if (o)
      observers_.push_back(std::make_unique<detail::observer_queue>(o, options.observer_queue));
  rng_.seed(options.seed != 0 ? options.seed : std::random_device{}());
  std::lock_guard lk(mu_);
  // Observers hear of changes, not of the initial state.
  for (const probe p : all_probes) published_probe_[tally_index(p)] = probe_now_locked(p);
  publish_locked(clock_->now());
}

void service::impl::start() {
  {
    std::lock_guard lk(mu_);
    if (started_ || stopped_) return;
    started_ = true;
    arm_locked(clock_->now());
  }
  scheduler_ = std::thread([self = shared_from_this()] { self->scheduler_loop(); });
}

void service::impl::scheduler_loop() {
  for (;;) {
    const steady_time next = poll();
    std::unique_lock lk(sched_mu_);
    if (sched_stop_) return;
    nanoseconds wait = max_scheduler_sleep;
    if (next != never) wait = std::clamp<nanoseconds>(next - clock_->now(), nanoseconds{0}, wait);
    sched_cv_.wait_until(lk, std::chrono::steady_clock::now() + wait,
                         [&] { return sched_wake_ || sched_stop_; });
    sched_wake_ = false;
    if (sched_stop_) return;
  }
}

void service::impl::wake_scheduler() {
  {
    std::lock_guard lk(sched_mu_);
    sched_wake_ = true;
  }
  sched_cv_.notify_one();
}

void service::impl::stop() {
  std::lock_guard stop_lock(stop_mu_);
  {
    // Taking the delivery lock waits for a delivery in progress on another thread; draining
    // under it tells everything that happened before stop(). Once stopped_ is set, later
    // deliveries drop their events: on_event is never called after stop() returns, so the
    // host may free whatever the callback uses.
    std::unique_lock el(events_mu_, std::defer_lock);
    if (tl_delivering != this) {
      el.lock();
      deliver_locked();
    }
    std::lock_guard lk(mu_);
    if (stopped_) return;
    stopped_ = true;
    // Runs in flight are abandoned: well-behaved checks see cancelled() and return early, and
    // whatever they return is discarded by complete().
    for (auto& rt : checks_) rt.cancel();
  }
  {
    std::lock_guard lk(sched_mu_);
    sched_stop_ = true;
  }
  sched_cv_.notify_all();
  if (scheduler_.joinable()) {
    // stop() from an on_event callback runs on the scheduler thread itself.
    if (scheduler_.get_id() == std::this_thread::get_id()) {
      scheduler_.detach();
    } else {
      scheduler_.join();
    }
  }
  pool_->shutdown(pool_shutdown_grace);
  for (auto& o : observers_) o->stop(observer_shutdown_grace);
}

void service::impl::begin_shutdown() {
  {
    std::lock_guard lk(mu_);
    if (shutting_down_) return;
    shutting_down_ = true;
    shutting_down_flag_.store(true, std::memory_order_release);
    emit_locked(event{.what = event::type::shutdown,
                      .check = {},
                      .from = status::unknown,
                      .to = status::unknown,
                      .kind = failure_kind::none,
                      .message = "readiness fails from now on; liveness unaffected"});
    publish_locked(clock_->now());  // at once, whatever the batching
  }
  flush_events();
}

void service::impl::arm_locked(steady_time now) {
  if (armed_) return;
  armed_ = true;
  std::size_t background = 0;
  for (const auto& rt : checks_) background += rt.background() ? 1 : 0;
  for (std::uint32_t i = 0; i < checks_.size(); ++i) {
    auto& rt = checks_[i];
    if (!rt.background()) continue;
    const auto& o = rt.options();
    nanoseconds offset{0};
    if (o.initial_delay.count() > 0) {
      offset = o.initial_delay;
    } else if (first_run_spread_.count() > 0) {
      // Spread over a window that grows with the number of checks, up to the interval: a
      // handful of checks start at once, ten thousand over their first interval.
      const nanoseconds window = std::min<nanoseconds>(
          o.interval, first_run_spread_ * static_cast<std::int64_t>(background));
      const auto h = stable_hash(rt.name());
      offset = nanoseconds{static_cast<std::int64_t>(static_cast<double>(window.count()) *
                                                     (static_cast<double>(h >> 11) * 0x1.0p-53))};
    }
    rt.arm(now + offset);
    wake_.set(i, rt.wake(now));
  }
}

nanoseconds service::impl::jittered_locked(const check_options& o) {
  // Stretch only, never shorten: a check never runs more often than its interval, and
  // replicas started together drift apart instead of probing a dependency in lockstep.
  if (o.jitter <= 0.0) return o.interval;
  std::uniform_real_distribution<double> fraction(0.0, o.jitter);
  const auto extra = std::chrono::duration<double, std::nano>(
      static_cast<double>(nanoseconds{o.interval}.count()) * fraction(rng_));
  return nanoseconds{o.interval} + std::chrono::duration_cast<nanoseconds>(extra);
}

void service::impl::touch_locked(std::uint32_t i, steady_time now, status before, bool finished) {
  auto& rt = checks_[i];
  const check_state& st = rt.state();
  wake_.set(i, rt.wake(now));
  stale_.set(i, st.stale_at);
  if (!rt.background()) {
    for (const probe p : all_probes) {
      if (!rt.options().probes.contains(p)) continue;
      auto& heap = demand_heap_[tally_index(p)];
      heap.set(i, rt.demand_at());
      demand_at_[tally_index(p)].store(ticks(heap.next()), std::memory_order_release);
    }
  }
  const status after = st.reported.status;
  if (after != before) {
    // Tallies count the reported status only, so only a transition moves them.
    const bool critical = st.options.critical;
    if (counts_in_service(st.options)) {
      tallies_[all_checks_tally].count(before, critical, -1);
      tallies_[all_checks_tally].count(after, critical, 1);
    }
    for (const probe p : all_probes) {
      if (!st.options.probes.contains(p)) continue;
      tallies_[tally_index(p)].count(before, critical, -1);
      tallies_[tally_index(p)].count(after, critical, 1);
    }
  }
  std::shared_ptr<const check_state> shared;
  if (!observers_.empty() && (finished || after != before)) {
    shared = std::make_shared<const check_state>(st);
    for (auto& o : observers_) {
      if (finished) o->push({.what = detail::observed_item::type::result, .state = shared});
      if (after != before) {
        o->push({.what = detail::observed_item::type::transition,
                 .state = shared,
                 .from = before,
                 .to = after});
      }
    }
  }
  if (finished) ++results_;
  publisher_->mark(i, std::move(shared));
}

steady_time service::impl::poll() {
  std::vector<launch> launches;
  steady_time next = never;
  {
    std::lock_guard lk(mu_);
    if (stopped_) return never;
    const steady_time now = clock_->now();
    const auto wall = clock_->wall_now();
    arm_locked(now);
    while (!wake_.empty() && wake_.next() <= now) {
      const std::uint32_t i = wake_.top();
      auto& rt = checks_[i];
      __builtin_prefetch(rt.impl().get());  // its start follows the step below
      const status before = rt.state().reported.status;
      const auto out = rt.step(now, jittered_locked(rt.options()), wall);
      if (out.timed_out) {
        emit_locked(event{.what = event::type::timeout,
                          .check = rt.name(),
                          .from = before,
                          .to = status::fail,
                          .kind = failure_kind::timeout,
                          .message = rt.state().last_run.output});
      }
      if (out.transition) {
        emit_locked(event{.what = event::type::transition,
                          .check = rt.name(),
                          .from = out.transition->from,
                          .to = out.transition->to,
                          .kind = rt.state().reported.kind,
                          .message = rt.state().reported.output});
      }
      if (out.start) {
        ++in_flight_;
        if (!rt.async()) ++pool_jobs_;
        lag_.record(rt.state().lag, now);
        if (rt.state().lag > late_start) ++late_starts_;
        launches.push_back(launch{.index = i,
                                  .run_id = rt.current_run().run_id,
                                  .raw = rt.impl().get(),
                                  .impl = rt.async() ? nullptr : rt.impl(),
                                  .async = rt.async(),
                                  .name = rt.name(),
                                  .run = rt.current_run()});
      }
      if (out.changed) {
        touch_locked(i, now, before, out.finished);
      } else {
        // Nothing was due after all (cannot happen by construction): never spin on it.
        wake_.set(i, std::max(rt.wake(now), now + nanoseconds{1}));
      }
    }
    maybe_publish_locked(now);
    next = next_wake_locked();
    scheduled_wake_ = next;
    if (!wake_.empty()) prefetch_object(&checks_[wake_.top()], sizeof(run_state));
  }
  for (auto& l : launches) dispatch(std::move(l));
  flush_events();
  return next;
}

steady_time service::impl::next_wake_locked() const {
  steady_time next = wake_.next();
  if (publisher_->dirty()) next = std::min(next, last_publish_ + publish_interval_);
  return next;
}

bool service::impl::rejudge_due_locked(steady_time now) {
  bool changed = false;
  const auto wall = clock_->wall_now();
  while (!stale_.empty() && stale_.next() <= now) {
    const std::uint32_t i = stale_.top();
    auto& rt = checks_[i];
    const status before = rt.state().reported.status;
    if (auto t = rt.rejudge(now, wall)) {
      emit_locked(event{.what = event::type::transition,
                        .check = rt.name(),
                        .from = t->from,
                        .to = t->to,
                        .kind = failure_kind::stale,
                        .message = rt.state().reported.output});
    }
    touch_locked(i, now, before, false);
    changed = true;
  }
  return changed;
}

status service::impl::probe_now_locked(probe p) const noexcept {
  if (p == probe::ready && shutting_down_) return status::fail;
  if (p == probe::startup && latched_) return status::pass;
  return tallies_[tally_index(p)].aggregate();
}

bool service::impl::maybe_publish_locked(steady_time now) {
  if (!publisher_->dirty()) return false;
  // Without a scheduler thread nobody would publish the batch later, unless the caller drives
  // poll() and asked for batching explicitly (the engine benchmark does).
  const bool batching = started_ || explicit_publish_interval_;
  if (!batching || publish_interval_.count() == 0 || now - last_publish_ >= publish_interval_) {
    publish_locked(now);
    return false;
  }
  // Batched: the scheduler publishes at the end of the window; wake it if it sleeps past that.
  return last_publish_ + publish_interval_ < scheduled_wake_;
}

void service::impl::publish_locked(steady_time now) {
  std::shared_ptr<const snapshot> published;
  auto s = std::make_shared<snapshot>();
  s->generation = ++generation_;
  s->checks = publisher_->build(
      [this](std::uint32_t i) -> const check_state& { return checks_[i].state(); });
  s->valid_until = stale_.next();
  s->info = info_;
  s->shutting_down = shutting_down_;
  if (!latched_ && is_ok(tallies_[tally_index(probe::startup)].aggregate())) latched_ = true;
  s->startup_latched = latched_;
  s->tallies = tallies_;
  s->tallied = true;
  if (!observers_.empty()) {
    for (const probe p : all_probes) {
      const status now_status = probe_now_locked(p);
      auto& was = published_probe_[tally_index(p)];
      if (now_status == was) continue;
      for (auto& o : observers_)
        o->push({.what = detail::observed_item::type::probe,
                 .which = p,
                 .from = was,
                 .to = now_status});
      was = now_status;
    }
  }
  last_publish_ = now;
  published = std::move(s);
  {
    std::lock_guard lk(latest_mu_);
    latest_.swap(published);
  }
  // After latest_: a reader that sees this generation finds at least this snapshot.
  published_generation_.store(generation_, std::memory_order_release);
  update_cv_.notify_all();
  // `published` now holds the previous snapshot; if this was its last reference, it is freed here,
  // outside latest_mu_.
}

std::uint32_t service::impl::find_locked(std::string_view name) const noexcept {
  const auto it = std::lower_bound(names_->begin(), names_->end(), name,
                                   [](const auto& e, std::string_view n) { return e.first < n; });
  if (it == names_->end() || it->first != name) return static_cast<std::uint32_t>(checks_.size());
  return it->second;
}

void service::impl::request(probe_set probes) {
  if (!has_on_demand_) return;
  const auto now_ticks = ticks(clock_->now());
  bool maybe = false;
  for (std::size_t p = 0; p < 3; ++p)
    if ((probes.bits() & (1U << p)) != 0 &&
        now_ticks >= demand_at_[p].load(std::memory_order_acquire))
      maybe = true;
  if (!maybe) return;
  bool any = false;
  {
    std::lock_guard lk(mu_);
    if (stopped_) return;
    const auto now = clock_->now();
    for (std::size_t p = 0; p < 3; ++p) {
      if ((probes.bits() & (1U << p)) == 0) continue;
      // Only the on-demand checks of this probe whose TTL has expired: the heap's top.
      auto& heap = demand_heap_[p];
      while (!heap.empty() && heap.next() <= now) {
        const std::uint32_t i = heap.top();
        const status before = checks_[i].state().reported.status;
        const bool pending = checks_[i].demand(now);
        any |= pending;
        touch_locked(i, now, before, false);
        if (!pending) heap.remove(i);  // cannot be demanded now: re-armed by its next change
      }
    }
  }
  if (any) wake_scheduler();
}

bool service::impl::request(std::string_view name) {
  bool any = false;
  {
    std::lock_guard lk(mu_);
    const std::uint32_t i = find_locked(name);
    if (i == checks_.size()) return false;
    if (stopped_) return true;
    const status before = checks_[i].state().reported.status;
    any = checks_[i].demand(clock_->now());
    if (any) touch_locked(i, clock_->now(), before, false);
  }
  if (any) wake_scheduler();
  return true;
}

void service::impl::emit_locked(event e) { pending_events_.push_back(std::move(e)); }

void service::impl::flush_events() {
  // on_event may call back into the engine (current(), stop(), ...): the outer delivery loop
  // on this thread picks up whatever that queues.
  if (tl_delivering == this) return;
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (pending_events_.empty() || stopped_) return;
    }
    // Another thread is delivering: it drains the queue, including our events, in order.
    std::unique_lock el(events_mu_, std::try_to_lock);
    if (!el.owns_lock()) return;
    deliver_locked();
    // Loop: events queued between the last drain and the unlock would otherwise wait.
  }
}

void service::impl::deliver_locked() {
  tl_delivering = this;
  for (;;) {
    std::vector<event> batch;
    {
      std::lock_guard lk(mu_);
      if (!stopped_) batch.swap(pending_events_);
    }
    if (batch.empty()) break;
    for (const auto& e : batch) {
      try {
        on_event_(e);
      } catch (...) {
        // A logging callback must not take the engine down.
      }
    }
  }
  tl_delivering = nullptr;
}

void service::impl::dispatch(launch l) {
  std::weak_ptr<impl> weak = weak_from_this();
  const std::uint32_t index = l.index;
  const std::uint64_t run_id = l.run_id;
  if (l.async) {
    // Exactly once: complete() ignores a run that is no longer the one in flight.
    async_check::completion done = [weak, index, run_id](result r) {
      if (auto self = weak.lock()) self->complete(index, run_id, std::move(r), std::nullopt);
    };
    auto ctx = std::make_shared<const context>(std::move(l.name), l.run.deadline, l.run.cancelled,
                                               l.run.activity);
    try {
      static_cast<async_check&>(*l.raw).start(std::move(ctx), done);
    } catch (const std::exception& e) {
      done(fail(e.what(), failure_kind::internal));
    } catch (...) {
      done(fail("unknown exception", failure_kind::internal));
    }
    return;
  }
  const nanoseconds timeout = l.run.deadline - clock_->now();
  pool_->submit([weak, index, run_id, impl = std::move(l.impl), name = std::move(l.name),
                 run = std::move(l.run), clk = clock_, timeout, threads = pool_->max_threads()] {
    result r;
    const steady_time began = clk->now();
    if (run.cancelled->load(std::memory_order_acquire)) {
      // Waited in the queue past its deadline: every pool thread was busy (hung checks). The
      // runner has already reported the timeout; this only explains the late result.
      r = fail("not started within " + base::format_duration(timeout) + ": all " +
                   std::to_string(threads) + " pool threads were busy",
               failure_kind::timeout);
    } else {
      const context ctx{name, run.deadline, run.cancelled, run.activity};
      try {
        r = impl->run(ctx);
      } catch (const std::exception& e) {
        r = fail(e.what(), failure_kind::internal);
      } catch (...) {
        r = fail("unknown exception", failure_kind::internal);
      }
    }
    if (auto self = weak.lock()) self->complete(index, run_id, std::move(r), began);
  });
}

void service::impl::complete(std::uint32_t index, std::uint64_t run_id, result r,
                             std::optional<steady_time> started) {
  bool wake = false;
  {
    std::lock_guard lk(mu_);
    if (stopped_) return;
    auto& rt = checks_[index];
    const steady_time now = clock_->now();
    const status before = rt.state().reported.status;
    const auto done =
        rt.complete(run_id, r, now, started, jittered_locked(rt.options()), clock_->wall_now());
    if (!done) return;
    --in_flight_;
    if (!rt.async()) --pool_jobs_;
    if (done->late) {
      emit_locked(event{.what = event::type::late_result,
                        .check = rt.name(),
                        .from = before,
                        .to = before,
                        .kind = r.kind,
                        .message = "completed " + std::string(to_string(r.status)) + " after " +
                                   base::format_duration(done->took) + "; result discarded"});
    } else if (done->transition) {
      emit_locked(event{.what = event::type::transition,
                        .check = rt.name(),
                        .from = done->transition->from,
                        .to = done->transition->to,
                        .kind = rt.state().reported.kind,
                        .message = rt.state().reported.output});
    }
    touch_locked(index, now, before, !done->late);
    wake = maybe_publish_locked(now) || (started_ && rt.wake(now) < scheduled_wake_);
    if (wake) scheduled_wake_ = std::min(scheduled_wake_, rt.wake(now));
  }
  flush_events();
  if (wake) wake_scheduler();
}

std::shared_ptr<const snapshot> service::impl::latest() const {
  std::lock_guard lk(latest_mu_);
  return latest_;
}

std::shared_ptr<const snapshot> service::impl::refresh_cache(cache_slot& slot) {
  // Each thread holds the snapshot through its own control block (aliasing constructor), so
  // copies handed out by current() bump a per-thread reference count instead of one count
  // shared by every serving thread.
  auto holder = std::make_shared<std::shared_ptr<const snapshot>>(latest());
  const snapshot* raw = holder->get();
  slot.owner = id_;
  slot.generation = raw->generation;
  slot.local = std::shared_ptr<const snapshot>(std::move(holder), raw);
  return slot.local;
}

std::shared_ptr<const snapshot> service::impl::current() {
  const std::uint64_t gen = published_generation_.load(std::memory_order_acquire);
  cache_slot* slot = nullptr;
  for (auto& s : tl_cache)
    if (s.owner == id_) slot = &s;
  if (slot == nullptr) {
    slot = &tl_cache[tl_cache_next];
    tl_cache_next = (tl_cache_next + 1) % cache_slots;
  }
  std::shared_ptr<const snapshot> snap =
      slot->owner == id_ && slot->generation == gen ? slot->local : refresh_cache(*slot);
  if (clock_->now() < snap->valid_until) return snap;
  {
    std::lock_guard lk(mu_);
    const auto now = clock_->now();
    // Only the checks whose results turned stale are re-judged, and published at once: a
    // reader must never be handed a pass past its staleness.
    if (rejudge_due_locked(now)) publish_locked(now);
  }
  flush_events();
  return refresh_cache(*slot);
}

bool service::impl::wait_for_update(std::uint64_t generation, milliseconds timeout) {
  std::unique_lock lk(mu_);
  return update_cv_.wait_for(lk, timeout, [&] { return generation_ > generation; });
}

engine_stats service::impl::stats() {
  engine_stats s;
  s.pool_threads = pool_->threads();
  s.pool_max_threads = pool_->max_threads();
  for (const auto& o : observers_) s.observer_drops += o->drops();
  std::lock_guard lk(mu_);
  const auto now = clock_->now();
  s.checks = checks_.size();
  s.in_flight = in_flight_;
  s.pool_jobs = pool_jobs_;
  s.results = results_;
  s.publications = generation_;
  s.lag_p50 = lag_.quantile(0.5, now);
  s.lag_p99 = lag_.quantile(0.99, now);
  s.lag_max = lag_.max(now);
  s.late_starts = late_starts_;
  return s;
}

// ---- service ------------------------------------------------------------------------------

service::service(registry reg, service_options options) {
  std::shared_ptr<engine_check> self;
  if (options.self_check) {
    self = std::make_shared<engine_check>(options.engine_lag_warn);
    reg.add(std::string{engine_check_name}, self,
            {.probes = ready,
             .critical = false,
             .interval = std::chrono::seconds{5},
             .timeout = std::chrono::seconds{1}});
  }
  impl_ = std::make_shared<impl>(std::move(reg), std::move(options));
  if (self)
    self->attach([weak = std::weak_ptr<impl>(impl_)] {
      auto s = weak.lock();
      return s ? s->stats() : engine_stats{};
    });
}

service::~service() {
  if (impl_) impl_->stop();
}

void service::start() { impl_->start(); }
void service::stop() { impl_->stop(); }
void service::begin_shutdown() { impl_->begin_shutdown(); }
bool service::shutting_down() const noexcept { return impl_->shutting_down(); }
std::shared_ptr<const snapshot> service::current() const { return impl_->current(); }
void service::request(probe_set probes) const { impl_->request(probes); }
bool service::request(std::string_view check) const { return impl_->request(check); }
std::chrono::steady_clock::time_point service::poll() { return impl_->poll(); }
bool service::wait_for_update(std::uint64_t generation, std::chrono::milliseconds timeout) const {
  return impl_->wait_for_update(generation, timeout);
}
engine_stats service::stats() const { return impl_->stats(); }
const vitals::clock& service::clock() const noexcept { return impl_->clock(); }

}  // namespace vitals
