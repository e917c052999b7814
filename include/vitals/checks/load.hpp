#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "vitals/check.hpp"

namespace vitals::checks {

/// Which of the three load averages of /proc/loadavg to judge.
enum class load_window : std::uint8_t { one_minute, five_minutes, fifteen_minutes };

/// System load average divided by the number of usable CPUs (/proc/loadavg). Not a
/// dependency. A threshold of 0 is off.
///
///     reg.add("load", vitals::checks::load({.window = vitals::checks::load_window::one_minute,
///                                           .warn_per_core = 2.0, .fail_per_core = 4.0}),
///             {.critical = false});
struct load_options {
  load_window window = load_window::five_minutes;
  /// Warn / fail when load / cores exceeds these values.
  double warn_per_core = 1.5;
  double fail_per_core = 3.0;
  /// CPUs to divide by; 0 = the CPUs this process may run on (sched_getaffinity).
  unsigned cores = 0;
  /// Where procfs is mounted; tests point it at a directory of crafted files.
  std::string proc_root = "/proc";
};

/// Builds a load check (observed value: load per core). Throws std::invalid_argument for a
/// negative threshold or a fail threshold below the warn threshold.
[[nodiscard]] std::shared_ptr<vitals::check> load(load_options options = {});

}  // namespace vitals::checks
