#include "fd_budget.hpp"

#include <sys/resource.h>

#include <cstdio>
#include <fstream>

#include "vitals/checks/descriptors.hpp"

namespace vitalsd {
namespace {

std::size_t as_count(rlim_t v) {
  return v == RLIM_INFINITY ? static_cast<std::size_t>(-1) : static_cast<std::size_t>(v);
}

// The kernel refuses a soft limit above fs.nr_open even when the hard limit is "unlimited".
rlim_t nr_open() {
  std::ifstream in("/proc/sys/fs/nr_open");
  unsigned long long v = 0;
  if (in >> v && v > 0) return static_cast<rlim_t>(v);
  return 1024 * 1024;
}

std::string count_text(std::size_t n) {
  return n == static_cast<std::size_t>(-1) ? std::string("unlimited") : std::to_string(n);
}

}  // namespace

nofile_limits raise_nofile_limit() {
  nofile_limits out;
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return out;
  out.before = as_count(rl.rlim_cur);
  out.hard = as_count(rl.rlim_max);
  rlim_t target = rl.rlim_max;
  if (target == RLIM_INFINITY || target > nr_open()) target = nr_open();
  if (target > rl.rlim_cur) {
    rlimit raised = rl;
    raised.rlim_cur = target;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  out.soft = as_count(rl.rlim_cur);
  return out;
}

fd_budget plan_fd_budget(const vitals::config::daemon_config& cfg, const nofile_limits& limits) {
  fd_budget b;
  b.limits = limits;
  for (const auto& c : cfg.checks) {
    const std::size_t each = c.impl ? vitals::checks::descriptors_of(*c.impl) : 1;
    auto& t = b.by_type[c.type];
    ++t.checks;
    t.each = std::max(t.each, each);
    b.checks += each;
  }
  // The checks' shared I/O loop holds 3 (epoll, eventfd, timerfd). The network types loaded as
  // modules (src/lazy: tcp, http, tls) each carry their own copy of it, so count one loop for
  // the daemon's built-in types and one per such type configured (an over-estimate by 3 each
  // when modules are off).
  std::size_t loops = 1;
  for (const char* own_loop : {"tcp", "http", "tls"}) {
    if (b.by_type.contains(own_loop)) ++loops;
  }
  // stdin/out/err, those loops, the HTTP server's listener and its loops (three per I/O
  // thread), log files, check modules and a few to spare.
  b.daemon = 3 + 3 * loops + 1 + 3 * std::max<std::size_t>(cfg.server.io_threads, 1) + 16;
  // `grpc:`: gRPC's listener, pollers and wakeup fds (5 measured idle) and room for the
  // connections of a few probe clients.
  if (!cfg.grpc.listen.empty()) b.daemon += 16;
  b.server_connections = cfg.server.max_connections;
  return b;
}

std::string fd_budget::summary() const {
  std::string types;
  for (const auto& [type, t] : by_type) {
    if (!types.empty()) types += ", ";
    types += type + " " + std::to_string(t.checks) + " x " + std::to_string(t.each);
  }
  std::string out =
      std::to_string(checks) + " descriptor" + (checks == 1 ? "" : "s") + " for the checks";
  if (!types.empty()) out += " (" + types + ")";
  out += " + " + std::to_string(daemon) + " for the daemon = " + std::to_string(required()) +
         "; up to " + std::to_string(server_connections) + " more for server connections; limit " +
         count_text(limits.soft);
  if (limits.before != limits.soft) out += " (raised from " + count_text(limits.before) + ")";
  return out;
}

std::string fd_budget::refusal() const {
  return "the configuration needs " + std::to_string(required()) +
         " file descriptors but the limit is " + count_text(limits.soft) +
         " (RLIMIT_NOFILE, hard limit " + count_text(limits.hard) + "): " + summary() +
         ". Raise the limit (ulimit -Hn, systemd LimitNOFILE=, docker --ulimit nofile=) or "
         "configure fewer checks";
}

}  // namespace vitalsd
