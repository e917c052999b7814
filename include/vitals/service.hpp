#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/clock.hpp"
#include "vitals/observer.hpp"
#include "vitals/registry.hpp"
#include "vitals/snapshot.hpp"

namespace vitals {

/// One line worth logging: a status transition, a timeout, a late completion, shutdown.
/// Emitted once per event, never once per probe. Texts are already redacted.
struct event {
  enum class type : std::uint8_t { transition, timeout, late_result, shutdown, error };
  type what = type::transition;
  std::string check;  ///< empty for service-level events
  status from = status::unknown;
  status to = status::unknown;
  failure_kind kind = failure_kind::none;
  std::string message{};
};

struct service_options {
  service_info info{};
  /// Upper bound of the pool that runs blocking checks. 0 = one per check, at most 64.
  /// A hung check holds one thread; at most one run per check is ever in flight, so the pool
  /// never grows past this bound.
  std::size_t max_threads = 0;
  /// Injected time source; null = real clocks.
  std::shared_ptr<vitals::clock> clock{};
  /// Receives every event (transitions, timeouts). Null = one line per event on stderr.
  std::function<void(const event&)> on_event{};
  /// Seed of the jitter generator (0 = random).
  std::uint64_t seed = 0;
  /// Results are batched: a new snapshot is published at most this often, so that thousands
  /// of checks cost one publication per interval, not one per result. This is also the most a
  /// snapshot lags behind the latest result. Default: 2 ms with the real clock; 0 (every change
  /// is published at once) with an injected clock, so tests stepping time see every step.
  std::optional<std::chrono::milliseconds> publish_interval{};
  /// First runs of background checks (with no `initial_delay`) are spread over
  /// `min(interval, checks × first_run_spread)`, at an offset derived from the check's name (the
  /// same on every restart), so thousands of targets never start in one burst while a handful
  /// start at once. Default 1 ms with the real clock, 0 (all at once) with an injected clock.
  std::optional<std::chrono::microseconds> first_run_spread{};
  /// States installed as-is before the first run, matched by check name (states of names not
  /// registered are ignored): a check starts from its seed's reported result, last run,
  /// counters (`runs`, `timeouts`, `transitions`), consecutive counts and result times instead
  /// of `unknown`. Nothing is run or re-counted to install it: thresholds go on from the seeded
  /// counts, and a background check's first run is due one interval after the seeded result
  /// (at once if that is past). Options and traits come from the registry. A seed that never
  /// had a result (`unknown`) is ignored. vitalsd's reload carries unchanged checks this way:
  ///
  ///     vitals::service next{std::move(reg), {.seed_states = {old_snap->checks.shared(0)}}};
  std::vector<std::shared_ptr<const check_state>> seed_states{};
  /// Receive every finished run and transition, each through its own bounded queue.
  std::vector<std::shared_ptr<observer>> observers{};
  /// Capacity of each observer's queue; past it, items are dropped and counted.
  std::size_t observer_queue = 8192;
  /// Adds a process-local check named `engine` (probe `ready`, non-critical: it can only make
  /// readiness `warn`) that warns while the engine cannot keep up: runs starting more than
  /// `engine_lag_warn` late (p99 over the last 10 to 20 s). Results stay honest either way: a
  /// late start is lag, never a timeout of the target.
  bool self_check = false;
  std::chrono::milliseconds engine_lag_warn{100};
};

/// The name of the self-check added by service_options::self_check (reserved while it is on).
inline constexpr std::string_view engine_check_name = "engine";

/// What the engine itself is doing: exported as metrics, read by the `engine` self-check.
struct engine_stats {
  std::size_t checks = 0;
  std::size_t in_flight = 0;         ///< runs started and not finished (including hung ones)
  std::size_t pool_threads = 0;      ///< threads of the blocking pool now
  std::size_t pool_max_threads = 0;  ///< its bound
  std::size_t pool_jobs = 0;         ///< blocking runs queued or running
  std::uint64_t results = 0;         ///< results ingested (runs, timeouts, hung refreshes)
  std::uint64_t publications = 0;    ///< snapshots published
  std::uint64_t observer_drops = 0;  ///< items dropped by full observer queues
  /// Start lag (how late runs started after they were due) over the last 10 to 20 s.
  std::chrono::nanoseconds lag_p50{0};
  std::chrono::nanoseconds lag_p99{0};
  std::chrono::nanoseconds lag_max{0};
  /// Runs started more than 100 ms late since the service was created.
  std::uint64_t late_starts = 0;
};

/// The engine: owns the checks, runs them in the background, publishes immutable snapshots.
///
///     vitals::service svc{std::move(reg), {.info = {.service_id = "orders"}}};
///     svc.start();
///     auto snap = svc.current();            // lock-free, never runs a check
///     svc.begin_shutdown();                 // readiness fails at once, liveness stays up
class service {
 public:
  explicit service(registry reg, service_options options = {});
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  /// Starts the scheduler thread. Idempotent.
  void start();
  /// Stops the scheduler and cancels runs in flight (their late results are discarded).
  /// Threads stuck in a check that ignores cancellation are detached, never joined forever.
  void stop();
  /// Readiness fails from now on; liveness is unaffected. Idempotent.
  void begin_shutdown();
  [[nodiscard]] bool shutting_down() const noexcept;

  /// The latest snapshot. If its `valid_until` has passed, a re-judged snapshot (stale results
  /// turned into `fail/stale`) is published first. Never blocks on a check.
  [[nodiscard]] std::shared_ptr<const snapshot> current() const;

  /// Asks for on-demand checks of these probes whose TTL has expired to run in the background.
  /// Returns at once; concurrent requests are coalesced (one run per check in flight).
  void request(probe_set probes) const;
  /// Same for one check by name; false if there is no such check.
  bool request(std::string_view check) const;

  /// Does all work that is due at the clock's current time (starts due runs, enforces
  /// deadlines, applies staleness) and returns when the next work is due. The background
  /// thread calls this; tests using a manual clock call it by hand instead of start().
  std::chrono::steady_clock::time_point poll();

  /// Blocks until a snapshot newer than `generation` has been published, or `timeout` (real
  /// time) has passed; true if one was. For tools that wait for a state (`vitals wait`) and for
  /// tests that drive a manual clock, without sleeping.
  ///
  ///     auto g = svc.current()->generation;
  ///     clk->advance(5s); svc.poll();
  ///     svc.wait_for_update(g, 1s);
  bool wait_for_update(std::uint64_t generation, std::chrono::milliseconds timeout) const;

  /// The engine's own figures (lag, pool, observers). Takes the engine lock briefly.
  [[nodiscard]] engine_stats stats() const;

  /// The clock in use.
  [[nodiscard]] const vitals::clock& clock() const noexcept;

  class impl;

 private:
  std::shared_ptr<impl> impl_{};
};

}  // namespace vitals
