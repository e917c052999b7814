#pragma once
// The daemon's descriptor budget (DESIGN, Scale: running out of descriptors is a result, never a
// crash -- and a configuration that cannot fit is refused before it starts). At start vitalsd
// raises the soft RLIMIT_NOFILE to the hard limit, adds up what every configured check needs (each
// check type says it: vitals::checks::descriptors_of) plus the daemon's own, logs it once, and
// refuses a configuration that needs more than the limit.

#include <cstddef>
#include <map>
#include <string>

#include "vitals/config.hpp"

namespace vitalsd {

struct nofile_limits {
  std::size_t before = 0;  ///< soft limit found at start
  std::size_t soft = 0;    ///< soft limit now (raised to the hard limit when possible)
  std::size_t hard = 0;
};

/// Raises the soft RLIMIT_NOFILE to the hard limit (capped at what the kernel accepts).
[[nodiscard]] nofile_limits raise_nofile_limit();

struct fd_budget {
  /// Descriptors the checks need, by type: count of checks and descriptors each.
  struct per_type {
    std::size_t checks = 0;
    std::size_t each = 0;
  };
  std::map<std::string, per_type> by_type{};
  std::size_t checks = 0;  ///< sum over the checks
  /// stdio, the checks' shared I/O loop(s), the HTTP server's listener and event loops, logs,
  /// modules.
  std::size_t daemon = 0;
  /// The HTTP server's connection cap (server.max_connections): needed under a probe flood only.
  std::size_t server_connections = 0;
  nofile_limits limits{};

  [[nodiscard]] std::size_t required() const noexcept { return checks + daemon; }
  [[nodiscard]] bool fits() const noexcept { return required() <= limits.soft; }
  [[nodiscard]] bool fits_with_server() const noexcept {
    return required() + server_connections <= limits.soft;
  }
  /// "300 checks need 600 descriptors (http 300 x 2), the daemon 32, server up to 1024
  /// connections; limit 1048576 (raised from 1024)".
  [[nodiscard]] std::string summary() const;
  /// The refusal, naming the numbers and what to do.
  [[nodiscard]] std::string refusal() const;
};

/// The budget of `cfg` against `limits`.
[[nodiscard]] fd_budget plan_fd_budget(const vitals::config::daemon_config& cfg,
                                       const nofile_limits& limits);

}  // namespace vitalsd
