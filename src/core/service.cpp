#include "vitals/service.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "duration_format.hpp"
#include "thread_pool.hpp"
#include "vitals/redact.hpp"

namespace vitals {
namespace {

using steady_time = std::chrono::steady_clock::time_point;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
constexpr steady_time never = steady_time::max();
constexpr std::size_t max_default_threads = 64;
// The scheduler re-polls at least this often, so that a manual clock driven without poll()
// calls, or a missed wake-up, can never stall it for long.
constexpr milliseconds max_scheduler_sleep{1000};
constexpr milliseconds pool_shutdown_grace{1000};

std::atomic<std::uint64_t> next_service_id{1};

std::int64_t ticks(steady_time t) noexcept { return t.time_since_epoch().count(); }

// Per-check engine state. Everything here is guarded by service::impl::mu_.
struct check_runtime {
  registry::entry entry;
  check_state state;  // the working copy that is published
  bool async = false;
  bool background = true;
  milliseconds staleness{};
  milliseconds ttl_pass{};
  milliseconds ttl_fail{};
  // Scheduling.
  steady_time next_due = never;                  // background: next start (or hung refresh)
  steady_time fresh_until = steady_time::min();  // on_demand: result reusable until then
  bool pending = false;                          // on_demand: a request is waiting for poll()
  steady_time last_result_at{};
  // The run in flight (state.in_flight).
  std::uint64_t run_id = 0;
  bool timed_out = false;
  steady_time started{};
  steady_time deadline{};
  std::shared_ptr<std::atomic<bool>> cancelled{};
};

// A run decided under the lock and started after it is released: a check's start() may call
// its completion synchronously, which takes the lock again.
struct launch {
  std::size_t index;
  std::uint64_t run_id;
  std::shared_ptr<check> impl;
  bool async;
  std::string name;
  steady_time deadline;
  std::shared_ptr<std::atomic<bool>> cancelled;
};

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
  [[nodiscard]] const vitals::clock& clock() const noexcept { return *clock_; }

 private:
  void arm_locked(steady_time now);
  bool step_locked(std::size_t i, steady_time now, std::vector<launch>& launches);
  bool rejudge_locked(steady_time now);
  void ingest_locked(check_runtime& rt, result r, steady_time now, bool counts_as_run);
  void scrub_locked(result& r) const;
  void publish_locked();
  void recompute_demand_locked();
  bool demand_locked(check_runtime& rt, steady_time now);
  [[nodiscard]] steady_time next_wake_locked(steady_time now) const;
  [[nodiscard]] nanoseconds jittered_locked(const check_options& o);
  void emit_locked(event e);
  void dispatch(launch l);
  void complete(std::size_t index, std::uint64_t run_id, result r);
  void flush_events();
  void deliver_locked();  // requires events_mu_
  void wake_scheduler();
  void scheduler_loop();
  [[nodiscard]] std::shared_ptr<const snapshot> latest() const;
  [[nodiscard]] std::shared_ptr<const snapshot> refresh_cache(cache_slot& slot);

  const std::uint64_t id_ = next_service_id.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<vitals::clock> clock_;
  std::function<void(const event&)> on_event_;
  service_info info_;
  redactor redactor_;
  std::unique_ptr<detail::thread_pool> pool_;

  // Engine state.
  mutable std::mutex mu_;
  std::condition_variable update_cv_;  // signalled on every publication
  std::vector<check_runtime> checks_;
  std::mt19937_64 rng_;
  std::uint64_t generation_ = 0;
  bool armed_ = false;
  bool started_ = false;
  bool stopped_ = false;
  bool latched_ = false;
  bool shutting_down_ = false;
  std::vector<event> pending_events_;

  // Published state: read without mu_.
  std::atomic<bool> shutting_down_flag_{false};
  std::atomic<std::uint64_t> published_generation_{0};
  mutable std::mutex latest_mu_;
  std::shared_ptr<const snapshot> latest_;
  // request() fast path: per probe (live, ready, startup), the earliest steady time at which an
  // on-demand check of that probe may need a run. Nothing to do before it: no lock taken.
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
    : clock_(options.clock ? std::move(options.clock) : real_clock()),
      on_event_(options.on_event ? std::move(options.on_event) : default_on_event),
      info_(std::move(options.info)) {
  std::size_t blocking = 0;
  for (const auto& e : reg.entries()) {
    check_runtime rt{.entry = e, .state = {}};
    for (const auto& s : e.traits.secrets) redactor_.add_secret(s);
    rt.async = dynamic_cast<async_check*>(e.impl.get()) != nullptr;
    if (!rt.async) ++blocking;
    const auto& o = e.options;
    rt.background = o.mode == schedule::background;
    rt.ttl_pass = o.ttl_pass.count() > 0 ? o.ttl_pass : o.interval;
    rt.ttl_fail = o.ttl_fail.count() > 0 ? o.ttl_fail : o.interval;
    if (o.max_staleness.count() > 0) {
      rt.staleness = o.max_staleness;
    } else {
      rt.staleness = rt.background ? 2 * o.interval + o.timeout : 2 * rt.ttl_pass + o.timeout;
    }
    rt.state.name = e.name;
    rt.state.traits = e.traits;
    rt.state.traits.secrets.clear();
    rt.state.options = e.options;
    rt.state.stale_at = never;
    has_on_demand_ = has_on_demand_ || !rt.background;
    checks_.push_back(std::move(rt));
  }
  const std::size_t threads = options.max_threads > 0
                                  ? options.max_threads
                                  : std::clamp<std::size_t>(blocking, 1, max_default_threads);
  pool_ = std::make_unique<detail::thread_pool>(threads);
  rng_.seed(options.seed != 0 ? options.seed : std::random_device{}());
  std::lock_guard lk(mu_);
  recompute_demand_locked();
  publish_locked();
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
    for (auto& rt : checks_)
      if (rt.state.in_flight && rt.cancelled) rt.cancelled->store(true, std::memory_order_release);
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
    publish_locked();
  }
  flush_events();
}

void service::impl::arm_locked(steady_time now) {
  if (armed_) return;
  armed_ = true;
  for (auto& rt : checks_)
    if (rt.background) rt.next_due = now + rt.entry.options.initial_delay;
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

steady_time service::impl::poll() {
  std::vector<launch> launches;
  steady_time next = never;
  {
    std::lock_guard lk(mu_);
    if (stopped_) return never;
    const steady_time now = clock_->now();
    arm_locked(now);
    bool changed = false;
    for (std::size_t i = 0; i < checks_.size(); ++i) changed |= step_locked(i, now, launches);
    changed |= rejudge_locked(now);
    if (changed) {
      recompute_demand_locked();
      publish_locked();
    }
    next = next_wake_locked(now);
  }
  for (auto& l : launches) dispatch(std::move(l));
  flush_events();
  return next;
}

bool service::impl::step_locked(std::size_t i, steady_time now, std::vector<launch>& launches) {
  auto& rt = checks_[i];
  const auto& o = rt.entry.options;
  if (rt.state.in_flight && !rt.timed_out) {
    if (now < rt.deadline) return false;
    // The runner, not the check, enforces the deadline.
    rt.timed_out = true;
    rt.cancelled->store(true, std::memory_order_release);
    ++rt.state.timeouts;
    auto r = fail("timed out after " + detail::format_duration(o.timeout), failure_kind::timeout);
    r.duration = now - rt.started;
    emit_locked(event{.what = event::type::timeout,
                      .check = rt.entry.name,
                      .from = rt.state.reported.status,
                      .to = status::fail,
                      .kind = failure_kind::timeout,
                      .message = r.output});
    ingest_locked(rt, std::move(r), now, true);
    if (rt.background) rt.next_due = now + jittered_locked(o);
    return true;
  }
  if (rt.state.in_flight) {
    // Hung: no second run, but keep reporting the failure at the check's usual pace so that
    // thresholds progress and the result never turns stale or stays a pass.
    const bool refresh = rt.background ? now >= rt.next_due : (rt.pending && now >= rt.fresh_until);
    if (!refresh) return false;
    auto r = fail("timed out after " + detail::format_duration(o.timeout) + "; still running (" +
                      detail::format_duration(now - rt.started) + ")",
                  failure_kind::timeout);
    r.duration = now - rt.started;
    ingest_locked(rt, std::move(r), now, false);
    rt.pending = false;
    if (rt.background) rt.next_due = now + jittered_locked(o);
    return true;
  }
  const bool due = rt.background ? now >= rt.next_due : rt.pending;
  if (!due) return false;
  rt.pending = false;
  rt.state.in_flight = true;
  rt.timed_out = false;
  ++rt.run_id;
  rt.started = now;
  rt.deadline = now + o.timeout;
  rt.cancelled = std::make_shared<std::atomic<bool>>(false);
  launches.push_back(launch{.index = i,
                            .run_id = rt.run_id,
                            .impl = rt.entry.impl,
                            .async = rt.async,
                            .name = rt.entry.name,
                            .deadline = rt.deadline,
                            .cancelled = rt.cancelled});
  return true;
}

bool service::impl::rejudge_locked(steady_time now) {
  bool changed = false;
  for (auto& rt : checks_) {
    if (rt.state.stale_at == never || now < rt.state.stale_at) continue;
    const status before = rt.state.reported.status;
    auto r = fail("no result for " + detail::format_duration(now - rt.last_result_at) +
                      " (max staleness " + detail::format_duration(rt.staleness) + ")",
                  failure_kind::stale);
    r.time = clock_->wall_now();
    rt.state.reported = std::move(r);
    // Already as stale as it gets: push the horizon away so readers stop re-judging.
    rt.state.stale_at = never;
    if (before != status::fail) {
      ++rt.state.transitions;
      emit_locked(event{.what = event::type::transition,
                        .check = rt.entry.name,
                        .from = before,
                        .to = status::fail,
                        .kind = failure_kind::stale,
                        .message = rt.state.reported.output});
    }
    changed = true;
  }
  return changed;
}

void service::impl::scrub_locked(result& r) const {
  r.output = redactor_.scrub(r.output);
  for (auto& [key, value] : r.details) {
    key = redactor_.scrub(key);
    value = redactor::is_secret_key(key) ? std::string{"***"} : redactor_.scrub(value);
  }
  if (r.observed) {
    if (auto* s = std::get_if<std::string>(&r.observed->value)) *s = redactor_.scrub(*s);
    r.observed->unit = redactor_.scrub(r.observed->unit);
  }
}

void service::impl::ingest_locked(check_runtime& rt, result r, steady_time now,
                                  bool counts_as_run) {
  // Normalise what a check may get wrong, so that renderers can rely on the shape.
  if (r.status == status::unknown) {
    r = fail("check returned no status", failure_kind::internal);
  } else if (r.status == status::fail && r.kind == failure_kind::none) {
    r.kind = failure_kind::assertion;
  } else if (r.status == status::pass) {
    r.output.clear();
    r.kind = failure_kind::none;
  }
  r.time = clock_->wall_now();
  scrub_locked(r);

  auto& st = rt.state;
  if (counts_as_run) ++st.runs;
  const bool ok = is_ok(r.status);
  if (ok) {
    ++st.consecutive_successes;
    st.consecutive_failures = 0;
  } else {
    ++st.consecutive_failures;
    st.consecutive_successes = 0;
  }
  const status before = st.reported.status;
  bool adopt = false;
  if (before == status::unknown) {
    adopt = true;  // the first result after start counts at once
  } else if (is_ok(before)) {
    adopt = ok || st.consecutive_failures >=
                      static_cast<std::uint32_t>(rt.entry.options.failure_threshold);
  } else {
    adopt = !ok || st.consecutive_successes >=
                       static_cast<std::uint32_t>(rt.entry.options.success_threshold);
  }
  st.last_run = r;
  if (adopt) st.reported = std::move(r);
  rt.last_result_at = now;
  st.stale_at = now + rt.staleness;
  if (!rt.background) rt.fresh_until = now + (ok ? rt.ttl_pass : rt.ttl_fail);
  if (st.reported.status != before) {
    ++st.transitions;
    emit_locked(event{.what = event::type::transition,
                      .check = rt.entry.name,
                      .from = before,
                      .to = st.reported.status,
                      .kind = st.reported.kind,
                      .message = st.reported.output});
  }
}

void service::impl::publish_locked() {
  auto s = std::make_shared<snapshot>();
  s->generation = ++generation_;
  s->checks.reserve(checks_.size());
  for (const auto& rt : checks_) {
    s->checks.push_back(rt.state);
    s->valid_until = std::min(s->valid_until, rt.state.stale_at);
  }
  s->info = info_;
  s->shutting_down = shutting_down_;
  if (!latched_ && is_ok(s->probe_status(probe::startup))) latched_ = true;
  s->startup_latched = latched_;
  {
    std::lock_guard lk(latest_mu_);
    latest_ = std::move(s);
  }
  // After latest_: a reader that sees this generation finds at least this snapshot.
  published_generation_.store(generation_, std::memory_order_release);
  update_cv_.notify_all();
}

void service::impl::recompute_demand_locked() {
  constexpr std::array<probe, 3> probes = {probe::live, probe::ready, probe::startup};
  for (std::size_t p = 0; p < probes.size(); ++p) {
    steady_time at = never;
    for (const auto& rt : checks_) {
      if (rt.background || !rt.entry.options.probes.contains(probes[p])) continue;
      if (rt.pending || (rt.state.in_flight && !rt.timed_out)) continue;
      at = std::min(at, rt.fresh_until);
    }
    demand_at_[p].store(ticks(at), std::memory_order_release);
  }
}

bool service::impl::demand_locked(check_runtime& rt, steady_time now) {
  if (rt.background || rt.pending || now < rt.fresh_until) return false;
  if (rt.state.in_flight && !rt.timed_out) return false;  // coalesced into the run in flight
  rt.pending = true;
  return true;
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
    for (auto& rt : checks_)
      if ((rt.entry.options.probes.bits() & probes.bits()) != 0) any |= demand_locked(rt, now);
    if (any) recompute_demand_locked();
  }
  if (any) wake_scheduler();
}

bool service::impl::request(std::string_view name) {
  bool any = false;
  {
    std::lock_guard lk(mu_);
    auto it = std::find_if(checks_.begin(), checks_.end(),
                           [&](const check_runtime& rt) { return rt.entry.name == name; });
    if (it == checks_.end()) return false;
    if (stopped_) return true;
    any = demand_locked(*it, clock_->now());
    if (any) recompute_demand_locked();
  }
  if (any) wake_scheduler();
  return true;
}

steady_time service::impl::next_wake_locked(steady_time now) const {
  steady_time next = never;
  for (const auto& rt : checks_) {
    if (rt.state.in_flight && !rt.timed_out) {
      next = std::min(next, rt.deadline);
    } else if (rt.background && armed_) {
      next = std::min(next, rt.next_due);
    } else if (rt.pending) {
      next = std::min(next, rt.state.in_flight ? rt.fresh_until : now);
    }
    next = std::min(next, rt.state.stale_at);
  }
  return next;
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
  const std::size_t index = l.index;
  const std::uint64_t run_id = l.run_id;
  if (l.async) {
    auto once = std::make_shared<std::atomic<bool>>(false);
    async_check::completion done = [weak, index, run_id, once](result r) {
      if (once->exchange(true, std::memory_order_acq_rel)) return;  // exactly once
      if (auto self = weak.lock()) self->complete(index, run_id, std::move(r));
    };
    auto ctx = std::make_shared<const context>(std::move(l.name), l.deadline, l.cancelled);
    try {
      static_cast<async_check&>(*l.impl).start(std::move(ctx), done);
    } catch (const std::exception& e) {
      done(fail(e.what(), failure_kind::internal));
    } catch (...) {
      done(fail("unknown exception", failure_kind::internal));
    }
    return;
  }
  pool_->submit([weak, index, run_id, impl = std::move(l.impl), name = std::move(l.name),
                 deadline = l.deadline, cancelled = std::move(l.cancelled)] {
    result r;
    if (cancelled->load(std::memory_order_acquire)) {
      // Waited in the queue past its deadline (pool saturated): not worth running any more.
      r = fail("not started before the deadline", failure_kind::timeout);
    } else {
      const context ctx{name, deadline, cancelled};
      try {
        r = impl->run(ctx);
      } catch (const std::exception& e) {
        r = fail(e.what(), failure_kind::internal);
      } catch (...) {
        r = fail("unknown exception", failure_kind::internal);
      }
    }
    if (auto self = weak.lock()) self->complete(index, run_id, std::move(r));
  });
}

void service::impl::complete(std::size_t index, std::uint64_t run_id, result r) {
  {
    std::lock_guard lk(mu_);
    if (stopped_) return;
    auto& rt = checks_[index];
    if (!rt.state.in_flight || rt.run_id != run_id) return;
    const steady_time now = clock_->now();
    rt.state.in_flight = false;
    if (rt.timed_out) {
      scrub_locked(r);
      emit_locked(event{.what = event::type::late_result,
                        .check = rt.entry.name,
                        .from = rt.state.reported.status,
                        .to = rt.state.reported.status,
                        .kind = r.kind,
                        .message = "completed " + std::string(to_string(r.status)) + " after " +
                                   detail::format_duration(now - rt.started) +
                                   "; result discarded"});
    } else {
      r.duration = now - rt.started;
      ingest_locked(rt, std::move(r), now, true);
      if (rt.background) rt.next_due = now + jittered_locked(rt.entry.options);
    }
    recompute_demand_locked();
    publish_locked();
  }
  flush_events();
  wake_scheduler();
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
    if (rejudge_locked(clock_->now())) {
      recompute_demand_locked();
      publish_locked();
    }
  }
  flush_events();
  return refresh_cache(*slot);
}

bool service::impl::wait_for_update(std::uint64_t generation, milliseconds timeout) {
  std::unique_lock lk(mu_);
  return update_cv_.wait_for(lk, timeout, [&] { return generation_ > generation; });
}

// ---- service ------------------------------------------------------------------------------

service::service(registry reg, service_options options)
    : impl_(std::make_shared<impl>(std::move(reg), std::move(options))) {}

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
const vitals::clock& service::clock() const noexcept { return impl_->clock(); }

}  // namespace vitals
