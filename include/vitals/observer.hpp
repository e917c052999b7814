#pragma once

#include <cstdint>

#include "vitals/snapshot.hpp"
#include "vitals/status.hpp"

namespace vitals {

/// Sees every finished run and every transition of a service, for metrics, history and
/// notifications. Each observer is fed through its own bounded queue on its own thread: it never
/// takes the engine's lock, never touches the serving path, and a slow observer only makes its
/// own queue overflow (the dropped items are counted in `engine_stats::observer_drops`); it never
/// slows a check, a probe or another observer.
///
///     struct counter final : vitals::observer {
///       void on_result(const vitals::check_state& c) override { ++runs[c.name]; }
///     };
///     vitals::service svc{std::move(reg), {.observers = {std::make_shared<counter>()}}};
///
/// Calls to one observer come from one thread, in order. Exceptions are caught and ignored.
class observer {
 public:
  virtual ~observer() = default;
  /// A run finished (including a timeout enforced by the runner): `state` is the check right
  /// after the result was judged (`last_run` is the run's result, `reported` what probes see).
  virtual void on_result(const check_state& state) { static_cast<void>(state); }
  /// The reported status of a check changed (after thresholds, counted once).
  virtual void on_transition(const check_state& state, status from, status to) {
    static_cast<void>(state), static_cast<void>(from), static_cast<void>(to);
  }
  /// The aggregated status of a probe changed in a published snapshot.
  virtual void on_probe(probe p, status from, status to) {
    static_cast<void>(p), static_cast<void>(from), static_cast<void>(to);
  }
};

}  // namespace vitals
