// vitals-tool: the subcommands of `vitals` that need the whole engine (check, wait, validate,
// probes). Users run it through `vitals`, which execs it; `probe` lives in the tiny front.

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "checks/types.hpp"
#include "probe/duration.hpp"
#include "tool/commands.hpp"

namespace {

// CLI11 validator/transform for "2s", "500ms", "1m30s".
std::chrono::milliseconds duration_arg(const std::string& text, const char* option) {
  std::chrono::milliseconds d{};
  if (!vitals::cli::parse_duration(text, d)) {
    throw CLI::ValidationError(
        option, "expected a duration such as 2s, 500ms or 1m30s, got '" + text + "'");
  }
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vitals: health checks from the command line (see docs/cli.md)", "vitals"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "vitals " VITALS_VERSION);

  vitals::cli::check_args check;
  std::string check_timeout = "5s";
  auto* check_cmd = app.add_subcommand(
      "check", "Run every configured check (or one per dependency URL) once and report");
  check_cmd->add_option("-c,--config", check.config, "vitalsd YAML configuration");
  check_cmd->add_option(
      "urls", check.urls,
      "dependency URLs instead of a configuration (" + vitals::checks::all_schemes(" ") + ")");
  check_cmd->add_option("-t,--timeout", check_timeout, "timeout of each URL's check (5s)");
  check_cmd->add_option("-o,--output", check.output, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  check_cmd->add_flag("--strict", check.strict, "exit 1 on warn too");
  check_cmd->add_flag("!--no-progress", check.progress, "no progress line, even on a terminal");

  std::string validate_file;
  auto* validate_cmd = app.add_subcommand("validate", "Validate a configuration file");
  validate_cmd->add_option("file", validate_file, "vitalsd YAML configuration")->required();

  vitals::cli::probes_args probes;
  std::string probe_timeout = "1s";
  auto* probes_cmd = app.add_subcommand(
      "probes", "Print Kubernetes probes or a Docker HEALTHCHECK for a configuration");
  probes_cmd->add_option("-c,--config", probes.config, "vitalsd YAML configuration")->required();
  probes_cmd->add_option("-f,--format", probes.format, "k8s or docker")
      ->check(CLI::IsMember({"k8s", "docker"}));
  std::string probes_via = "http";
  probes_cmd
      ->add_option("--via", probes_via,
                   "http (the HTTP endpoints, default) or grpc (the grpc: port's "
                   "grpc.health.v1 service)")
      ->check(CLI::IsMember({"http", "grpc"}));
  probes_cmd->add_option("--probe-timeout", probe_timeout,
                         "timeoutSeconds of the probes (default 1s: endpoints never wait for a "
                         "check)");

  vitals::cli::wait_args wait;
  std::string wait_timeout = "60s";
  std::string max_backoff = "5s";
  std::string attempt_timeout = "5s";
  auto* wait_cmd = app.add_subcommand(
      "wait", "Wait until dependencies are up (" + vitals::checks::all_schemes(" ") + ")");
  wait_cmd->add_option("urls", wait.urls, "dependency URLs")->required();
  wait_cmd->add_option("-t,--timeout", wait_timeout, "give up after this long (default 60s)");
  wait_cmd->add_option("--max-backoff", max_backoff, "longest pause between attempts (5s)");
  wait_cmd->add_option("--attempt-timeout", attempt_timeout, "bound of one attempt (5s)");
  wait_cmd->add_flag("-q,--quiet", wait.quiet, "print only the failure reason at the timeout");

  try {
    app.parse(argc, argv);
    if (*check_cmd) {
      check.timeout = duration_arg(check_timeout, "--timeout");
      if (check.timeout.count() <= 0) throw CLI::ValidationError("--timeout", "must be positive");
    }
    if (*probes_cmd) {
      probes.probe_timeout = duration_arg(probe_timeout, "--probe-timeout");
      probes.transport = probes_via == "grpc" ? vitals::cli::probe_transport::grpc
                                              : vitals::cli::probe_transport::http;
    }
    if (*wait_cmd) {
      wait.timeout = duration_arg(wait_timeout, "--timeout");
      wait.max_backoff = duration_arg(max_backoff, "--max-backoff");
      wait.attempt_timeout = duration_arg(attempt_timeout, "--attempt-timeout");
      if (wait.attempt_timeout.count() <= 0 || wait.max_backoff.count() <= 0) {
        throw CLI::ValidationError("--attempt-timeout/--max-backoff", "must be positive");
      }
    }
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : vitals::cli::bad_usage;
  }

  try {
    if (*check_cmd) return vitals::cli::run_check(check);
    if (*validate_cmd) return vitals::cli::run_validate(validate_file);
    if (*probes_cmd) return vitals::cli::run_probes(probes);
    if (*wait_cmd) return vitals::cli::run_wait(wait);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vitals: %s\n", e.what());
    return 70;
  }
  return vitals::cli::bad_usage;
}
