// The vitals side of bench/deps/run.sh: a `postgres` and a `redis` check at a 1 s interval
// behind the built-in server (one I/O thread), until SIGINT or SIGTERM. URLs come from the
// environment so they never show up in a process list.
//
//     export VITALS_TEST_PG_URL=postgres://... VITALS_TEST_REDIS_URL=redis://...
//     vitals_deps_bench_server [port]

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "vitals/checks/postgres.hpp"
#include "vitals/checks/redis.hpp"
#include "vitals/http/server.hpp"
#include "vitals/registry.hpp"
#include "vitals/service.hpp"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8091);
  const char* pg = std::getenv("VITALS_TEST_PG_URL");
  const char* redis = std::getenv("VITALS_TEST_REDIS_URL");
  if (pg == nullptr || redis == nullptr) {
    std::fprintf(stderr, "set VITALS_TEST_PG_URL and VITALS_TEST_REDIS_URL\n");
    return 2;
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  vitals::registry reg;
  reg.add("postgres", vitals::checks::postgres({.url = pg, .application_name = "vitals-bench"}),
          {.probes = vitals::ready, .interval = 1s, .timeout = 500ms});
  reg.add("redis", vitals::checks::redis({.url = redis}),
          {.probes = vitals::ready, .interval = 1s, .timeout = 500ms});
  vitals::service svc{std::move(reg), {.on_event = [](const vitals::event&) {}}};
  svc.start();
  vitals::http::server http{svc, {.port = port, .io_threads = 1, .max_connections = 4096}};
  http.start();
  std::printf("vitals_deps_bench_server listening on 127.0.0.1:%u\n", http.port());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  http.stop();
  svc.stop();
  return 0;
}
