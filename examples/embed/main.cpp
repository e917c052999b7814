// Embedding vitals in a C++ service: one custom check, the built-in server, graceful shutdown.
// Run it, then: curl -i localhost:8081/readyz?verbose ; curl -s localhost:8081/health
#include <atomic>
#include <csignal>
#include <cstdio>
#include <thread>
#include <vitals/http/server.hpp>
#include <vitals/vitals.hpp>

namespace {
std::atomic<bool> stop_requested{false};
}

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  std::atomic<int> jobs{42};  // stands for the service's real work queue

  vitals::registry reg;
  reg.add("backlog",
          [&](const vitals::context&) {
            auto n = jobs.load();
            return n < 10'000 ? vitals::pass().observe(n, "jobs")
                              : vitals::warn("backlog").observe(n, "jobs");
          },
          {.probes = vitals::ready, .interval = 2s, .timeout = 500ms});

  vitals::service svc{std::move(reg), {.info = {.service_id = "example", .version = "1.0.0"}}};
  vitals::http::server http{
      svc, {.port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8081)}};
  svc.start();
  http.start();
  std::printf("serving on http://127.0.0.1:%u/readyz\n", http.port());

  std::signal(SIGTERM, [](int) { stop_requested = true; });
  std::signal(SIGINT, [](int) { stop_requested = true; });
  while (!stop_requested) std::this_thread::sleep_for(100ms);
  svc.begin_shutdown();             // /readyz turns 503 at once, /livez stays 200
  std::this_thread::sleep_for(2s);  // drain: let load balancers notice
  http.stop();
  svc.stop();
}
