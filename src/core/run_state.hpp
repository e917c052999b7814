#pragma once
// Private: the run state of one check — when it is due, its run in flight, its deadline, its
// thresholds and staleness. Pure: no lock, no thread, no clock of its own (times are passed in),
// so every rule is unit-tested by stepping time by hand. The service owns the lock around it.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "secret_set.hpp"
#include "vitals/redact.hpp"
#include "vitals/registry.hpp"
#include "vitals/snapshot.hpp"

namespace vitals::detail {

using steady_time = std::chrono::steady_clock::time_point;
using wall_time = std::chrono::system_clock::time_point;
inline constexpr steady_time never = steady_time::max();

/// A change of the reported status, to be counted, logged and observed once.
struct status_change {
  status from = status::unknown;
  status to = status::unknown;
};

/// What the runner must do after a step.
struct step_outcome {
  bool changed = false;    ///< the published state changed
  bool start = false;      ///< a new run must be dispatched (see run_state::ticket)
  bool timed_out = false;  ///< the run in flight passed its deadline just now
  bool finished = false;   ///< a result was ingested (a timeout or a hung refresh)
  std::optional<status_change> transition{};
};

class run_state {
 public:
  /// Every result is redacted before it is stored: of the engine's secrets (`secrets`, kept by
  /// pointer, may be null) and of the patterns (URL userinfo, passwords, bearer tokens).
  run_state(registry::entry entry, bool async, const secret_set* secrets);

  // ---- static facts ------------------------------------------------------------------------
  // Name, options and traits live once, in the published state (no second copy per check).
  [[nodiscard]] const std::shared_ptr<check>& impl() const noexcept { return impl_; }
  [[nodiscard]] const std::string& name() const noexcept { return state_.name; }
  [[nodiscard]] const check_options& options() const noexcept { return state_.options; }
  [[nodiscard]] bool async() const noexcept { return async_; }
  [[nodiscard]] bool background() const noexcept { return background_; }
  [[nodiscard]] std::chrono::milliseconds staleness() const noexcept { return staleness_; }

  // ---- the working state (published as is) -------------------------------------------------
  [[nodiscard]] const check_state& state() const noexcept { return state_; }

  /// Installs a previous state as-is (see service_options::seed_states): results, counters and
  /// result times (the previous engine's, on the same steady clock); no run, nothing
  /// re-counted. Ignored for a seed without a result.
  void seed(const check_state& previous);

  // ---- scheduling --------------------------------------------------------------------------
  /// Arms a background check: its first run is due at `at` (a seeded check: not before one
  /// interval after its seeded result).
  void arm(steady_time at) noexcept {
    if (background_) next_due_ = std::max(at, resume_at_);
  }
  /// When the next step may do something (start, deadline, hung refresh, staleness).
  [[nodiscard]] steady_time wake(steady_time now) const noexcept;
  /// Does whatever is due at `now`. `next_interval` is the (jittered) interval to the next run.
  step_outcome step(steady_time now, std::chrono::nanoseconds next_interval, wall_time wall);
  /// On-demand: a probe asked. True if a run is now pending (not coalesced, TTL expired).
  bool demand(steady_time now) noexcept;
  /// On-demand: earliest time a request could make this check pending (never if it cannot).
  [[nodiscard]] steady_time demand_at() const noexcept;
  /// Turns a stale reported result into `fail/stale` at `now`.
  std::optional<status_change> rejudge(steady_time now, wall_time wall);

  // ---- the run in flight -------------------------------------------------------------------
  struct ticket {
    std::uint64_t run_id = 0;
    steady_time deadline{};
    std::shared_ptr<std::atomic<bool>> cancelled{};
    std::shared_ptr<run_activity> activity{};
  };
  [[nodiscard]] const ticket& current_run() const noexcept { return run_; }
  [[nodiscard]] bool running() const noexcept { return state_.in_flight && !timed_out_; }
  /// The check's own completion of run `run_id`, started (really) at `started` (the pool may
  /// have queued it). Returns nullopt if the run is not the one in flight (a stale callback).
  struct completion {
    bool late = false;  ///< completed after the runner gave up: discarded
    std::chrono::nanoseconds took{0};
    std::optional<status_change> transition{};
  };
  std::optional<completion> complete(std::uint64_t run_id, result& r, steady_time now,
                                     std::optional<steady_time> started,
                                     std::chrono::nanoseconds next_interval, wall_time wall);
  /// Stopping: cancels the run in flight.
  void cancel() noexcept;

 private:
  step_outcome advance(steady_time now, std::chrono::nanoseconds next_interval, wall_time wall);
  std::optional<status_change> ingest(result r, steady_time now, wall_time wall,
                                      bool counts_as_run);
  void scrub(result& r) const;
  void begin(steady_time now);
  [[nodiscard]] std::string timeout_text() const;

  std::shared_ptr<check> impl_;
  bool async_;
  const secret_set* secrets_;
  bool background_;
  std::chrono::milliseconds staleness_{};
  std::chrono::milliseconds ttl_pass_{};
  std::chrono::milliseconds ttl_fail_{};
  check_state state_{};

  steady_time next_due_ = never;                  // background: next start (or hung refresh)
  steady_time fresh_until_ = steady_time::min();  // on_demand: result reusable until then
  bool pending_ = false;                          // on_demand: a request is waiting
  steady_time pending_since_{};
  steady_time last_result_at_{};
  steady_time resume_at_ = steady_time::min();  // seeded: the next run is due from then on
  bool timed_out_ = false;
  steady_time dispatched_{};  // when the runner started it (deadline counts from here)
  steady_time due_{};         // when it was due (lag = dispatched - due)
  ticket run_{};
};

}  // namespace vitals::detail
