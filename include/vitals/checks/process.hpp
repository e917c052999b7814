#pragma once

#include <memory>
#include <string>

#include "vitals/check.hpp"

namespace vitals::checks {

/// Another process on this host is alive: its pid is read from a pid file (or given), then
/// /proc/<pid> must exist and not be a zombie, and, if `name` is set, /proc/<pid>/comm must
/// match (guards against a recycled pid). Not a dependency in the probe sense, but think
/// twice before putting it in `live`: restarting this process will not revive the other one.
///
///     reg.add("nginx", vitals::checks::process({.pid_file = "/run/nginx.pid", .name = "nginx"}));
struct process_options {
  /// File holding the pid as decimal text (trailing newline allowed).
  std::string pid_file{};
  /// Used instead of pid_file when > 0.
  int pid = 0;
  /// Expected process name as in /proc/<pid>/comm (at most 15 characters); empty = any.
  std::string name{};
  /// Where procfs is mounted; tests point it at a directory of crafted files.
  std::string proc_root = "/proc";
};

/// Builds a process check (observed value: the pid). Throws std::invalid_argument when neither
/// pid_file nor a positive pid is given.
[[nodiscard]] std::shared_ptr<vitals::check> process(process_options options);

}  // namespace vitals::checks
