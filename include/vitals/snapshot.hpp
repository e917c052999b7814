#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/registry.hpp"
#include "vitals/result.hpp"
#include "vitals/status.hpp"

namespace vitals {

/// The reported state of one check at one moment. Part of an immutable snapshot.
struct check_state {
  std::string name{};
  check_traits traits;    ///< type, component type, measurement (secrets cleared)
  check_options options;  ///< as registered
  /// What is reported: after thresholds and staleness. Before the first result its status is
  /// `unknown`. A stale or hung check reports `fail` with kind `stale` / `timeout`.
  result reported{};
  /// The latest raw result of a run (before thresholds); `unknown` before the first run.
  result last_run{};
  std::uint32_t consecutive_failures = 0;
  std::uint32_t consecutive_successes = 0;
  std::uint64_t runs = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t transitions = 0;  ///< changes of reported status, counted once each
  bool in_flight = false;
  /// Steady time after which `reported` must be treated as stale.
  std::chrono::steady_clock::time_point stale_at{};
};

/// Service-level information shown in `/health` (IETF draft fields).
struct service_info {
  std::string service_id{};
  std::string version{};
  std::string release_id{};
  std::string description{};
};

/// An immutable picture of every check. Endpoints read the latest one (an atomic pointer load)
/// and never run a check themselves. A new snapshot is published whenever anything changes;
/// `generation` increases with each, so renderers can cache per generation.
struct snapshot {
  std::uint64_t generation = 0;
  std::vector<check_state> checks{};
  service_info info{};
  bool shutting_down = false;
  /// True once every startup check has passed; stays true for the process lifetime.
  bool startup_latched = false;
  /// Earliest `stale_at` of all checks: past it, this snapshot may tell a stale story and the
  /// reader must ask the service for a fresh one (`service::current()` does it for you).
  std::chrono::steady_clock::time_point valid_until = std::chrono::steady_clock::time_point::max();

  /// Aggregated status of a probe: critical fail/unknown → that status; non-critical fail or
  /// unknown → warn; a probe with no checks passes. `ready` fails while shutting down;
  /// `startup` passes once latched.
  [[nodiscard]] status probe_status(probe p) const noexcept;
  /// Same, ignoring the checks named in `excluded`.
  [[nodiscard]] status probe_status(probe p,
                                    const std::vector<std::string_view>& excluded) const noexcept;
  /// The check of that name, or nullptr.
  [[nodiscard]] const check_state* find(std::string_view name) const noexcept;
};

}  // namespace vitals
