#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "vitals/check.hpp"

namespace vitals::checks {

/// Memory of this process (resident set size, /proc/<pid>/status `VmRSS`) and of the host
/// (`MemAvailable` in /proc/meminfo). Process-local and cheap: fits the `live` probe. A
/// threshold of 0 is off.
///
///     reg.add("memory", vitals::checks::memory({.warn_rss_bytes = 768ull << 20,
///                                               .fail_rss_bytes = 1ull << 30}),
///             {.probes = vitals::live});
struct memory_options {
  /// Warn / fail when the process RSS exceeds these sizes (0 = off).
  std::uint64_t warn_rss_bytes = 0;
  std::uint64_t fail_rss_bytes = 0;
  /// Warn / fail when the host's available memory falls below these percentages of MemTotal.
  double warn_available_percent = 10.0;
  double fail_available_percent = 5.0;
  /// Fail when the host has fewer available bytes than this (0 = off).
  std::uint64_t min_available_bytes = 0;
  /// Process to watch; 0 = this process (/proc/self).
  int pid = 0;
  /// Where procfs is mounted; tests point it at a directory of crafted files.
  std::string proc_root = "/proc";
};

/// Builds a memory check. Observed value: the RSS in bytes when an RSS threshold is set
/// (measurement "rss"), else the available percentage (measurement "available"). Throws
/// std::invalid_argument for a percentage outside [0, 100] or a fail threshold looser than
/// its warn threshold.
[[nodiscard]] std::shared_ptr<vitals::check> memory(memory_options options = {});

}  // namespace vitals::checks
