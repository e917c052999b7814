#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vitals/check.hpp"

namespace vitals::checks {

/// Runs an external program (posix_spawn, no shell) and judges its exit status the way
/// Nagios plugins do: 0 = pass, 1 = warn, anything else (or a signal) = fail. The first
/// `max_output` bytes of its combined stdout + stderr become the result's output.
///
/// The program runs in a process group of its own. At the deadline (or cancellation) the whole
/// group is killed with SIGKILL; when the program exits, anything it left behind in its group
/// is killed too. The child is always reaped and no descriptor of ours leaks into it. It is a
/// dependency (something outside the process), so it is refused in `live` by default.
///
/// Arguments are visible to every local user in /proc/<pid>/cmdline: prefer passing tokens
/// through `env`. Either way list them in `secrets` so they never show up in any output.
///
///     reg.add("backup-fresh",
///             vitals::checks::exec({.command = "/usr/lib/nagios/plugins/check_file_age",
///                                   .args = {"-w", "3600", "-c", "7200", "/backup/last"}}),
///             {.interval = 1min, .timeout = 10s});
struct exec_options {
  /// Program to run: a path, or a bare name looked up in PATH.
  std::string command{};
  /// Arguments (argv[1..]).
  std::vector<std::string> args{};
  /// Environment variables added to (or replacing those of) this process's environment.
  std::vector<std::pair<std::string, std::string>> env{};
  /// Working directory of the child; empty = this process's.
  std::string working_dir{};
  /// Strings never to be shown (tokens passed in args or env). Scrubbed from the output.
  std::vector<std::string> secrets{};
  /// Bytes of combined stdout + stderr kept as output; the rest is read and dropped.
  std::size_t max_output = 1024;
};

/// Builds an exec check (observed value: run time in ms). Throws std::invalid_argument for an
/// empty command or max_output == 0.
[[nodiscard]] std::shared_ptr<vitals::check> exec(exec_options options);

}  // namespace vitals::checks
