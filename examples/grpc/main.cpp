// Embedding vitals in a gRPC service: the vitals health service (grpc.health.v1 Check, Watch,
// List, answered from the engine) registered in the application's own grpc::ServerBuilder, in
// place of gRPC's default health service. Run it, then:
//   vitals probe grpc://127.0.0.1:50051            # "" = readiness
//   vitals probe grpc://127.0.0.1:50051/liveness
// or point Kubernetes' native probes at it: grpc: {port: 50051, service: readiness}.
#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vitals/grpc.hpp>
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
            const int n = jobs.load();
            return n < 10'000 ? vitals::pass().observe(n, "jobs")
                              : vitals::fail("backlog over 10000").observe(n, "jobs");
          },
          {.probes = vitals::ready, .interval = 2s, .timeout = 500ms});
  vitals::service svc{std::move(reg), {.info = {.service_id = "example-grpc"}}};

  // The health service answers `""`, liveness, readiness, startup, every check by name, and the
  // alias below: what a load balancer asks for this application's own service.
  vitals::grpc::health_service health{svc, {.aliases = {{"example.Orders", "readiness"}}}};

  const std::string address = "127.0.0.1:" + std::string{argc > 1 ? argv[1] : "50051"};
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  // No default health service: vitals' is the one registered under grpc.health.v1.Health.
  builder.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
  builder.RegisterService(health.grpc_service());
  // The application's own services would be registered here; this example has one generic
  // service standing for them (every other method: UNIMPLEMENTED).
  grpc::CallbackGenericService app;
  builder.RegisterCallbackGenericService(&app);
  const std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    std::fprintf(stderr, "cannot listen on %s\n", address.c_str());
    return 1;
  }
  svc.start();
  std::printf("serving grpc.health.v1 on 127.0.0.1:%d\n", port);
  std::fflush(stdout);

  std::signal(SIGTERM, [](int) { stop_requested = true; });
  std::signal(SIGINT, [](int) { stop_requested = true; });
  while (!stop_requested) std::this_thread::sleep_for(100ms);
  svc.begin_shutdown();             // every service name NOT_SERVING at once
  std::this_thread::sleep_for(1s);  // drain: let load balancers notice
  health.shutdown();                // Watch streams: a final NOT_SERVING, then the end
  server->Shutdown();
  svc.stop();
}
