#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "vitals/config.hpp"
#include "vitals/status.hpp"

namespace vitals::cli {

/// Exit codes shared by the vitals-tool subcommands (see docs/cli.md).
enum tool_exit : int {
  ok = 0,
  not_ok = 1,         ///< a check failed / a dependency was not up in time / invalid config
  bad_usage = 64,     ///< EX_USAGE
  config_error = 78,  ///< EX_CONFIG: `check`/`probes` could not load the configuration
};

// ---- vitals check -------------------------------------------------------------------------

struct check_args {
  std::string config{};
  /// Instead of a configuration: one check per dependency URL (the schemes of `vitals wait`).
  std::vector<std::string> urls{};
  std::chrono::milliseconds timeout = std::chrono::seconds{5};  ///< of each URL's check
  std::string output = "table";                                 ///< "table" or "json"
  bool strict = false;                                          ///< warn → exit 1
  bool progress = true;  ///< shown only when stdout is a terminal anyway
};
/// Loads the configuration (or makes one check per URL), runs every check once through the
/// engine (timeouts enforced by the runner), prints a table or JSON on stdout. Returns 0
/// (pass/warn), 1 (fail/unknown), 64 (a bad URL, or both or neither of --config and URLs).
int run_check(const check_args& args);

// ---- vitals validate ----------------------------------------------------------------------

/// Prints `ok: N checks (file)` or every diagnostic (`file:line:col: path: message`).
int run_validate(const std::string& file);

// ---- vitals probes ------------------------------------------------------------------------

/// Probe settings derived from a configuration (see docs/cli.md for the rules).
struct probe_plan {
  probe which = probe::ready;
  std::string path{};  ///< "/readyz" (with the configured prefix)
  std::vector<std::string> checks{};
  int period_seconds = 10;
  int timeout_seconds = 1;
  int failure_threshold = 3;
};

/// What the generated probes ask: the HTTP endpoints, or the `grpc:` port's grpc.health.v1
/// service (Kubernetes `grpc:` probes, `vitals probe grpc://`).
enum class probe_transport : std::uint8_t { http, grpc };

struct probes_args {
  std::string config{};
  std::string format = "k8s";  ///< "k8s" or "docker"
  probe_transport transport = probe_transport::http;
  /// timeoutSeconds of the generated probes (and `vitals probe --timeout` for Docker).
  std::chrono::milliseconds probe_timeout = std::chrono::seconds{1};
};

[[nodiscard]] probe_plan plan_probe(const config::daemon_config& cfg, probe which,
                                    std::chrono::milliseconds probe_timeout);
/// Kubernetes container-level YAML (livenessProbe, readinessProbe, startupProbe).
[[nodiscard]] std::string render_k8s(const config::daemon_config& cfg,
                                     std::chrono::milliseconds probe_timeout,
                                     probe_transport transport = probe_transport::http);
/// A Dockerfile `HEALTHCHECK ... CMD ["vitals","probe",...]` line on /readyz.
[[nodiscard]] std::string render_docker(const config::daemon_config& cfg,
                                        std::chrono::milliseconds probe_timeout,
                                        probe_transport transport = probe_transport::http);
/// Human warnings about the configuration as seen by the orchestrator (one per line).
[[nodiscard]] std::vector<std::string> probe_warnings(
    const config::daemon_config& cfg, std::chrono::milliseconds probe_timeout, bool kubernetes,
    probe_transport transport = probe_transport::http);
int run_probes(const probes_args& args);

// ---- vitals wait --------------------------------------------------------------------------

struct wait_args {
  std::vector<std::string> urls{};
  std::chrono::milliseconds timeout = std::chrono::seconds{60};
  /// First pause between attempts; doubles after each failure up to `max_backoff`.
  std::chrono::milliseconds initial_backoff = std::chrono::milliseconds{100};
  std::chrono::milliseconds max_backoff = std::chrono::seconds{5};
  /// Bound of one attempt (also bounded by what is left of `timeout`).
  std::chrono::milliseconds attempt_timeout = std::chrono::seconds{5};
  bool quiet = false;
};
/// Waits until every dependency passes. 0 when all are up, 1 at the timeout (with the reason of
/// each dependency still down on stderr), 64 for an unusable URL.
int run_wait(const wait_args& args);

}  // namespace vitals::cli
