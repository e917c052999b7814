// A downstream program: embeds vitals through the installed package (find_package) or through
// add_subdirectory, and checks that a passing check makes /readyz answer 200 "ok".
#include <cstdio>
#include <vitals/http/handler.hpp>
#include <vitals/testing/manual_clock.hpp>
#include <vitals/vitals.hpp>

int main() {
  auto clk = std::make_shared<vitals::testing::manual_clock>();
  vitals::registry reg;
  reg.add("self", [](const vitals::context&) { return vitals::pass(); });
  vitals::service svc{std::move(reg), {.clock = clk, .on_event = [](const vitals::event&) {}}};
  vitals::http::handler h{svc};
  auto before = h.handle({.method = "GET", .target = "/readyz"});
  for (int i = 0; i < 200 && h.handle({.method = "GET", .target = "/readyz"}).status != 200; ++i) {
    svc.poll();
  }
  auto after = h.handle({.method = "GET", .target = "/readyz"});
  std::printf("before=%d after=%d body=%s\n", before.status, after.status, after.body.c_str());
  return before.status == 503 && after.status == 200 && after.body == "ok" ? 0 : 1;
}
