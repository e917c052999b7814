#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "vitals/check.hpp"

namespace vitals::checks {

/// A file or directory on a local filesystem: it exists, optionally is writable by this
/// process, and optionally was modified recently (heartbeat files written by a worker,
/// a cron job's success marker, ...). Not a dependency. A duration of 0 is off.
///
///     using namespace std::chrono_literals;
///     reg.add("worker-heartbeat",
///             vitals::checks::file({.path = "/run/app/worker.heartbeat",
///                                   .warn_age = 30s, .max_age = 2min}));
struct file_options {
  std::string path{};
  /// Fail unless this process may write to it (access(W_OK): read-only mounts fail too).
  bool writable = false;
  /// Warn / fail when the last modification is older than this.
  std::chrono::milliseconds warn_age{0};
  std::chrono::milliseconds max_age{0};
};

/// Builds a file check (observed value: age in seconds when an age threshold is set). Throws
/// std::invalid_argument for an empty path, a negative age, or warn_age >= max_age.
[[nodiscard]] std::shared_ptr<vitals::check> file(file_options options);

}  // namespace vitals::checks
