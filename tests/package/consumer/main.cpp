// A downstream program: embeds vitals through the installed package (find_package) or through
// add_subdirectory, and checks that a passing check makes /readyz answer 200 "ok".
#include <cstdio>
#include <vitals/http/handler.hpp>
#include <vitals/testing/manual_clock.hpp>
#include <vitals/vitals.hpp>
#ifdef VITALS_CONSUMER_CHECKS
#include <vitals/checks/disk.hpp>
#endif
#ifdef VITALS_CONSUMER_GRPC
#include <vitals/grpc.hpp>
#endif

int main() {
  auto clk = std::make_shared<vitals::testing::manual_clock>();
  vitals::registry reg;
  reg.add("self", [](const vitals::context&) { return vitals::pass(); });
#ifdef VITALS_CONSUMER_CHECKS
  // A built-in check through the installed vitals::checks (thresholds off: always reachable).
  reg.add("disk", vitals::checks::disk({.path = "/",
                                        .warn_free_percent = 0,
                                        .fail_free_percent = 0,
                                        .warn_free_inodes_percent = 0,
                                        .fail_free_inodes_percent = 0}));
#endif
  vitals::service svc{std::move(reg), {.clock = clk, .on_event = [](const vitals::event&) {}}};
  vitals::http::handler h{svc};
  auto before = h.handle({.method = "GET", .target = "/readyz"});
  // poll() starts the due run on the engine's pool; wait (bounded) for its result to be published.
  for (int i = 0; i < 50 && h.handle({.method = "GET", .target = "/readyz"}).status != 200; ++i) {
    auto generation = svc.current()->generation;
    svc.poll();
    (void)svc.wait_for_update(generation, std::chrono::milliseconds{100});
  }
  auto after = h.handle({.method = "GET", .target = "/readyz"});
  std::printf("before=%d after=%d body=%s\n", before.status, after.status, after.body.c_str());
  bool grpc_ok = true;
#ifdef VITALS_CONSUMER_GRPC
  // The installed vitals::grpc: the health service to register in the program's own server.
  vitals::grpc::health_service health{svc, {.aliases = {{"consumer.Service", "readiness"}}}};
  grpc_ok = health.grpc_service() != nullptr && health.open_streams() == 0;
  health.shutdown();
  std::printf("grpc=%s\n", grpc_ok ? "ok" : "broken");
#endif
  return before.status == 503 && after.status == 200 && after.body == "ok" && grpc_ok ? 0 : 1;
}
