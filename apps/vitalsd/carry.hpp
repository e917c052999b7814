#pragma once
// State carried across a reload. The new engine is a new vitals::service; a check that is
// unchanged (same name, type, options and settings) starts in it from the state the old engine
// reported, installed as is (vitals::service_options::seed_states): its result, counters,
// consecutive counts and result times — nothing is run or re-counted. Readiness therefore never
// dips to `unknown` on reload, thresholds go on where they were, and the dependency sees no
// extra query (the next run is due one interval after the carried result, as it would have
// been). New and changed checks start fresh.

#include <memory>
#include <vector>

#include "vitals/config.hpp"
#include "vitals/snapshot.hpp"

namespace vitalsd {

/// The states of `current` (the running engine, configured by `running`) to seed the engine of
/// `next` with: one per check of `next` that is the same check in `running` and has a result.
[[nodiscard]] std::vector<std::shared_ptr<const vitals::check_state>> carried_states(
    const vitals::config::daemon_config& running, const vitals::config::daemon_config& next,
    const vitals::snapshot& current);

}  // namespace vitalsd
