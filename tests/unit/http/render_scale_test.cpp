// Probe bodies of an engine snapshot with thousands of checks: built from the tallies without
// visiting every check, byte for byte what walking every check gives.
#include <gtest/gtest.h>

#include <string>

#include "render.hpp"
#include "vitals/service.hpp"
#include "vitals/testing/manual_clock.hpp"

namespace {

using namespace std::chrono_literals;

TEST(RenderScale, FailingProbeOfManyChecksIsCountedFromTheTallies) {
  auto clk = std::make_shared<vitals::testing::manual_clock>();
  vitals::registry reg;
  for (int i = 0; i < 5000; ++i) {
    const bool down = i % 3 != 1;
    reg.add("dep-" + std::to_string(i),
            [down](const vitals::context&) {
              return down ? vitals::fail("refused", vitals::failure_kind::refused) : vitals::pass();
            },
            {.probes =
                 i % 2 == 0 ? vitals::probe_set{vitals::ready} : (vitals::ready | vitals::startup),
             .critical = i % 5 != 0,
             .interval = 10s,
             .timeout = 1s});
  }
  vitals::service svc{std::move(reg),
                      {.max_threads = 2, .clock = clk, .on_event = [](const vitals::event&) {}}};
  (void)svc.poll();
  // Wait (bounded in time, not in publications: each result may publish) until every check has
  // its first result.
  const auto give_up = std::chrono::steady_clock::now() + 120s;
  while (svc.current()->probe_status(vitals::probe::ready) == vitals::status::unknown &&
         std::chrono::steady_clock::now() < give_up) {
    (void)svc.wait_for_update(svc.current()->generation, 50ms);
  }
  const auto snap = svc.current();
  ASSERT_TRUE(snap->tallied);
  ASSERT_EQ(snap->probe_status(vitals::probe::ready), vitals::status::fail);
  vitals::snapshot walked = *snap;
  walked.tallied = false;
  const vitals::http::status_codes codes{};
  const vitals::redactor scrubber;
  for (const bool detailed : {false, true}) {
    for (const auto p : {vitals::probe::ready, vitals::probe::startup}) {
      const vitals::http::detail::render_context a{*snap, codes, scrubber, detailed};
      const vitals::http::detail::render_context b{walked, codes, scrubber, detailed};
      const auto fast = vitals::http::detail::render_probe(a, p, false);
      const auto slow = vitals::http::detail::render_probe(b, p, false);
      EXPECT_EQ(fast.body, slow.body);
      EXPECT_EQ(fast.status, slow.status);
      EXPECT_LT(fast.body.size(), 1024U);
      EXPECT_NE(fast.body.find(" more\n"), std::string::npos) << fast.body;
    }
  }
}

}  // namespace
