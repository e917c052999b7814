// The /readyz side of bench/monitor/run.sh: N async checks that flip between pass and fail on
// every run (non-critical, so /readyz stays 200 while the snapshot changes on every
// publication), behind the built-in server on one I/O thread, until SIGINT or SIGTERM. On exit
// it prints the engine's figures (results, publications, start lag).
//
//     vitals_bench_flap_server [port] [checks] [interval_ms] [jitter] [flap|pass]
//
// Defaults: port 8095, 10,000 checks, interval 1,000 ms, jitter 0.1, flap: about 9,500 results
// and as many state changes per second. `pass` runs the same checks at the same rate but they
// always pass (no state change): the baseline that isolates the cost of changing states.

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "vitals/check.hpp"
#include "vitals/http/server.hpp"
#include "vitals/registry.hpp"
#include "vitals/service.hpp"

namespace {

// Completes at once, alternately pass and fail: every run is a transition.
class flapping final : public vitals::async_check {
 public:
  explicit flapping(bool flap) : flap_(flap) {}
  void start(std::shared_ptr<const vitals::context>, completion done) override {
    if (flap_ && ++runs_ % 2 == 0) {
      done(vitals::fail("down", vitals::failure_kind::refused));
    } else {
      done(vitals::pass());
    }
  }

 private:
  bool flap_;
  std::uint64_t runs_ = 0;  // one run in flight at most, so no race
};

double ms(std::chrono::nanoseconds d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8095);
  const int checks = argc > 2 ? std::atoi(argv[2]) : 10'000;
  const auto interval = std::chrono::milliseconds{argc > 3 ? std::atoi(argv[3]) : 1000};
  const double jitter = argc > 4 ? std::atof(argv[4]) : 0.1;
  const bool flap = argc > 5 ? std::string{argv[5]} != "pass" : true;

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  vitals::registry reg;
  for (int i = 0; i < checks; ++i) {
    reg.add("flap" + std::to_string(i), std::make_shared<flapping>(flap),
            {.probes = vitals::ready,
             .critical = false,
             .interval = interval,
             .timeout = interval / 2,
             .jitter = jitter});
  }
  vitals::service svc{std::move(reg), {.on_event = [](const vitals::event&) {}}};
  svc.start();
  vitals::http::server http{
      svc, {.address = "127.0.0.1", .port = port, .io_threads = 1, .max_connections = 4096}};
  http.start();
  std::printf("flap_server listening on 127.0.0.1:%u with %d %s checks every %lld ms\n",
              http.port(), checks, flap ? "flapping" : "passing",
              static_cast<long long>(interval.count()));
  std::fflush(stdout);

  const auto t0 = std::chrono::steady_clock::now();
  const auto s0 = svc.stats();
  int sig = 0;
  sigwait(&stop_signals, &sig);
  const auto s1 = svc.stats();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "flap_server: %.1f s, %llu results (%.0f/s), %llu publications (%.0f/s), start lag p50 "
      "%.3f ms p99 %.3f ms max %.3f ms, late starts %llu, observer drops %llu\n",
      secs, static_cast<unsigned long long>(s1.results - s0.results),
      static_cast<double>(s1.results - s0.results) / secs,
      static_cast<unsigned long long>(s1.publications - s0.publications),
      static_cast<double>(s1.publications - s0.publications) / secs, ms(s1.lag_p50), ms(s1.lag_p99),
      ms(s1.lag_max), static_cast<unsigned long long>(s1.late_starts),
      static_cast<unsigned long long>(s1.observer_drops));
  std::fflush(stdout);
  http.stop();
  svc.stop();
  return 0;
}
