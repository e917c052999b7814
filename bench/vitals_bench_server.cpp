// The vitals side of bench/run.sh: a service with three passing checks behind the built-in
// server on one I/O thread, until SIGINT or SIGTERM. HTTPS when VITALS_BENCH_TLS_CERT and
// VITALS_BENCH_TLS_KEY name a PEM certificate and key (bench/run.sh with TLS=1).
//
//     vitals_bench_server [port] [address]

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "vitals/http/server.hpp"
#include "vitals/registry.hpp"
#include "vitals/service.hpp"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8090);
  const std::string address = argc > 2 ? argv[2] : "127.0.0.1";

  // Block the signals before any thread starts so that only sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  vitals::registry reg;
  for (const char* name : {"queue", "cache", "disk"}) {
    reg.add(name, [](const vitals::context&) { return vitals::pass(); },
            {.probes = vitals::live | vitals::ready | vitals::startup,
             .interval = 1s,
             .timeout = 500ms});
  }
  vitals::service svc{std::move(reg), {.on_event = [](const vitals::event&) {}}};
  svc.start();
  vitals::http::server_options options{
      .address = address, .port = port, .io_threads = 1, .max_connections = 4096};
  if (const char* cert = std::getenv("VITALS_BENCH_TLS_CERT"); cert != nullptr) {
    const char* key = std::getenv("VITALS_BENCH_TLS_KEY");
    options.tls = {.cert_file = cert, .key_file = key != nullptr ? key : ""};
  }
  vitals::http::server http{svc, options};
  http.start();
  std::printf("vitals_bench_server listening on %s://%s:%u\n",
              options.tls.enabled() ? "https" : "http", address.c_str(), http.port());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  http.stop();
  svc.stop();
  return 0;
}
