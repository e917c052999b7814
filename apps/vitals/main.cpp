// `vitals`: the tiny front binary. `probe` is served here with nothing but libc; every other
// subcommand needs the whole engine (checks, YAML config, ...), so it is handed to
// `vitals-tool` with execv(), which costs nothing on the probe path.

#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "probe/probe.hpp"

namespace {

constexpr const char* help_text =
    "usage: vitals <command> [options]\n"
    "\n"
    "commands:\n"
    "  probe URL                     HTTP(S) GET, or grpc.health.v1 Check for grpc://host:port,\n"
    "                                for Docker HEALTHCHECK / Kubernetes exec probes\n"
    "  check --config F              run every configured check once, print a table or JSON\n"
    "  wait URL...                   wait until dependencies are up (URLs such as\n"
    "                                postgres://host/db; `vitals wait --help` lists the schemes)\n"
    "  validate F                    validate a vitalsd configuration file\n"
    "  probes --config F --format k8s|docker\n"
    "                                print Kubernetes probe YAML or a Docker HEALTHCHECK line\n"
    "\n"
    "`vitals <command> --help` for details. Documentation: docs/cli.md\n";

// Copies `dir` + `name` into `out`; false if it does not fit.
bool join(char* out, std::size_t cap, const char* dir, std::size_t dir_len, const char* name) {
  const std::size_t name_len = std::strlen(name);
  if (dir_len + name_len + 1 > cap) return false;
  std::memcpy(out, dir, dir_len);
  std::memcpy(out + dir_len, name, name_len + 1);
  return true;
}

// VITALS_TOOL, else next to this binary (build tree, or bin/ with both installed), else
// ../libexec/vitals/ (the installed layout).
int exec_tool(int argc, char** argv) {
  static_cast<void>(argc);
  argv[0] = const_cast<char*>("vitals");
  if (const char* env = std::getenv("VITALS_TOOL"); env != nullptr && *env != '\0') {
    execv(env, argv);
    std::fprintf(stderr, "vitals: cannot run VITALS_TOOL=%s: %s\n", env, std::strerror(errno));
    return 69;
  }
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    std::fprintf(stderr, "vitals: cannot locate myself: %s\n", std::strerror(errno));
    return 69;
  }
  self[n] = '\0';
  const char* slash = std::strrchr(self, '/');
  const std::size_t dir_len = static_cast<std::size_t>(slash - self) + 1;
  char path[PATH_MAX];
  constexpr const char* candidates[] = {"vitals-tool", "../libexec/vitals/vitals-tool"};
  for (const char* candidate : candidates) {
    if (join(path, sizeof path, self, dir_len, candidate) && access(path, X_OK) == 0) {
      execv(path, argv);
      std::fprintf(stderr, "vitals: cannot run %s: %s\n", path, std::strerror(errno));
      return 69;
    }
  }
  std::fprintf(stderr,
               "vitals: '%s' needs vitals-tool, which is not installed next to %s nor in "
               "../libexec/vitals/ (set VITALS_TOOL)\n",
               argv[1], self);
  return 69;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(help_text, stderr);
    return 64;
  }
  const char* cmd = argv[1];
  if (std::strcmp(cmd, "probe") == 0) return vitals::cli::probe_main(argc - 1, argv + 1);
  if (std::strcmp(cmd, "-h") == 0 || std::strcmp(cmd, "--help") == 0 ||
      std::strcmp(cmd, "help") == 0) {
    std::fputs(help_text, stdout);
    return 0;
  }
  if (std::strcmp(cmd, "--version") == 0) {
    std::puts("vitals " VITALS_VERSION);
    return 0;
  }
  return exec_tool(argc, argv);
}
