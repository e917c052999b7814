// The vitals side of bench/grpc/run.sh: a service with three passing checks served by
// vitals::grpc::server. Prints "port <N>" once serving; stops at the end of its input (the peer,
// tests/peers/grpc_default_health_server, takes the same protocol).
//
//     vitals_grpc_bench_server [--listen 127.0.0.1:0]

#include <chrono>
#include <iostream>
#include <string>

#include "vitals/grpc.hpp"
#include "vitals/service.hpp"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  std::string listen = "127.0.0.1:0";
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string{argv[i]} == "--listen") listen = argv[++i];
  }
  vitals::registry reg;
  for (const char* name : {"queue", "cache", "disk"}) {
    reg.add(name, [](const vitals::context&) { return vitals::pass(); },
            {.probes = vitals::live | vitals::ready | vitals::startup,
             .interval = 1s,
             .timeout = 500ms});
  }
  vitals::service svc{std::move(reg), {.on_event = [](const vitals::event&) {}}};
  svc.start();
  vitals::grpc::server server{svc, {.listen = listen}};
  server.start();
  std::cout << "port " << server.port() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "shutdown") break;
    std::cout << "ok" << std::endl;
  }
  server.stop();
  svc.stop();
  return 0;
}
