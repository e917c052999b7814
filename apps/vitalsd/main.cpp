// vitalsd: health-check sidecar / monitor driven by a YAML file (or its built-in configuration).
//
//   vitalsd [--config FILE] [--check-config] [--shard i/N] [--print-targets] [--version]
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include "config/reference.hpp"
#include "daemon.hpp"
#include "fd_budget.hpp"
#include "shard.hpp"
#include "vitals/config.hpp"

#ifndef VITALS_VERSION
#define VITALS_VERSION "0.0.0"
#endif

namespace {

vitals::config::daemon_config load(const std::string& path) {
  return path.empty()
             ? vitals::config::load_string(vitals::config::embedded_default(), "<embedded>")
             : vitals::config::load_file(path);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vitalsd: health endpoints (/livez /readyz /startupz /health) for a service and "
      "its dependencies, driven by a YAML file. SIGHUP reloads, SIGTERM drains."};
  std::string config_path;
  bool check_only = false;
  bool version = false;
  bool print_schema = false;
  bool print_reference = false;
  bool print_default = false;
  app.add_option("-c,--config", config_path,
                 "Configuration file (default: built-in host checks on 127.0.0.1:8081)");
  app.add_flag("--check-config", check_only, "Validate the configuration, print every error, exit");
  app.add_flag("--version", version, "Print the version and exit");
  app.add_flag("--print-schema", print_schema, "Print the JSON Schema of the configuration");
  app.add_flag("--print-reference", print_reference, "Print the markdown key reference");
  app.add_flag("--print-default", print_default, "Print the built-in configuration");
  std::string shard_text;
  bool print_targets = false;
  app.add_option("--shard", shard_text,
                 "i/N: keep only the checks whose name hashes into shard i of N (Prometheus "
                 "hashmod: MD5, last 8 bytes, modulo N)");
  app.add_flag("--print-targets", print_targets,
               "Print the names of the checks this instance runs (after --shard), one a line");
  CLI11_PARSE(app, argc, argv);

  if (version) {
    std::cout << "vitalsd " << VITALS_VERSION << "\n";
    return 0;
  }
  if (print_schema) {
    std::cout << vitals::config::json_schema();
    return 0;
  }
  if (print_reference) {
    std::cout << vitals::config::detail::reference_markdown();
    return 0;
  }
  if (print_default) {
    std::cout << vitals::config::embedded_default();
    return 0;
  }

  vitalsd::shard_spec shard;
  if (!shard_text.empty()) {
    std::string why;
    const auto parsed = vitalsd::parse_shard(shard_text, why);
    if (!parsed) {
      std::cerr << "vitalsd: " << why << "\n";
      return 2;
    }
    shard = *parsed;
  }

  // Before any thread exists: every thread inherits the mask and only run() receives them.
  vitalsd::daemon::block_signals();
  // Before any check is built: a daemon of many network checks needs the descriptors the hard
  // limit allows, not the shell's default soft limit (often 1024).
  const auto limits = vitalsd::raise_nofile_limit();

  vitals::config::daemon_config cfg;
  try {
    cfg = load(config_path);
  } catch (const vitals::config::error& e) {
    std::cerr << e.what() << "\n"
              << e.diagnostics().size() << " error" << (e.diagnostics().size() == 1 ? "" : "s")
              << " in the configuration; nothing started\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "vitalsd: " << e.what() << "\n";
    return 1;
  }
  vitals::http::target_catalog::map fleet;
  try {
    fleet = vitalsd::keep_shard(cfg, shard);  // the start-up log line names the shard
  } catch (const std::exception& e) {
    std::cerr << "vitalsd: " << e.what() << "\n";
    return 1;
  }
  if (print_targets) {
    for (const auto& c : cfg.checks) std::cout << c.name << "\n";
    return 0;
  }
  if (check_only) {
    // The certificate files too: a daemon that cannot load them would not start.
    if (const std::string why = vitals::http::validate_tls(cfg.server.tls); !why.empty()) {
      std::cerr << "vitalsd: " << why << "\nnothing started\n";
      return 1;
    }
    // The gRPC server's files too (it reads them when it starts).
    for (const std::string* f :
         {&cfg.grpc.cert_file, &cfg.grpc.key_file, &cfg.grpc.client_ca_file}) {
      if (!f->empty() && ::access(f->c_str(), R_OK) != 0) {
        std::cerr << "vitalsd: grpc.tls: cannot read " << *f << ": " << std::strerror(errno)
                  << "\nnothing started\n";
        return 1;
      }
    }
    // The descriptor budget, as the daemon would check it at start (the limit raised above).
    if (const auto budget = vitalsd::plan_fd_budget(cfg, limits); !budget.fits()) {
      std::cerr << "vitalsd: " << budget.refusal() << "\nnothing started\n";
      return 1;
    }
    std::cout << (config_path.empty() ? "<embedded>" : config_path) << ": OK, " << cfg.checks.size()
              << " check" << (cfg.checks.size() == 1 ? "" : "s");
    for (std::size_t i = 0; i < cfg.checks.size(); ++i) {
      std::cout << (i == 0 ? " (" : ", ") << cfg.checks[i].name;
    }
    std::cout << (cfg.checks.empty() ? "" : ")") << "\n";
    return 0;
  }

  try {
    vitalsd::daemon d{{.config_path = config_path,
                       .version = VITALS_VERSION,
                       .limits = limits,
                       .shard = shard,
                       .fleet = std::move(fleet)},
                      std::move(cfg)};
    return d.run();
  } catch (const std::exception& e) {
    std::cerr << "vitalsd: " << e.what() << "\n";
    return 1;
  }
}
