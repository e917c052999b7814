// A reload carries the state of unchanged checks as it is: after it, such a check's runs,
// consecutive counts and status are those before it (a replayed result would count one more
// run and restart the counts); a changed or new check starts fresh.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "carry.hpp"
#include "vitals/config.hpp"
#include "vitals/service.hpp"
#include "vitals/testing/manual_clock.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace cfgns = vitals::config;

struct carry : ::testing::Test {
  fs::path dir = fs::temp_directory_path() / ("vitals_carry_" + std::to_string(::getpid()));
  std::shared_ptr<vitals::testing::manual_clock> clk =
      std::make_shared<vitals::testing::manual_clock>();
  void SetUp() override {
    fs::create_directories(dir);
    std::ofstream{dir / "present"} << "x";
  }
  void TearDown() override { fs::remove_all(dir); }

  // `kept` fails (its file is missing) below its failure threshold; `changed` passes.
  [[nodiscard]] std::string yaml(const std::string& changed_extra) const {
    return "checks:\n"
           "  - {name: kept, type: file, path: " +
           (dir / "missing").string() +
           ", interval: 10s, timeout: 1s, jitter: 0, failure_threshold: 5}\n"
           "  - {name: changed, type: file, path: " +
           (dir / "present").string() + ", interval: 10s, timeout: 1s, jitter: 0" + changed_extra +
           "}\n";
  }
  vitals::service_options opts() {
    return {.clock = clk, .on_event = [](const vitals::event&) {}, .seed = 1};
  }
  // Runs every background check once more (advancing the clock to when they are due). The clock
  // only moves while nothing is in flight: moved past a run's deadline, a slow worker (a loaded
  // machine under ASan) would be timed out, and the check would then wait for its late result
  // before it starts again, which nobody polls for here.
  static void run_all(vitals::service& svc, vitals::testing::manual_clock& c, std::uint64_t n) {
    for (;;) {
      const auto snap = svc.current();
      bool done = true;
      bool busy = false;
      for (const auto& st : snap->checks) {
        done = done && st.runs >= n && !st.in_flight;
        busy = busy || st.in_flight;
      }
      if (done) return;
      if (busy) {
        ASSERT_TRUE(svc.wait_for_update(snap->generation, 10s));
        continue;
      }
      const auto due = svc.poll();  // starts what is due now, or says when the next run is
      if (svc.current()->generation != snap->generation) continue;
      ASSERT_GT(due, c.now());
      c.advance(due - c.now());
      (void)svc.poll();
    }
  }
};

TEST_F(carry, unchanged_check_keeps_runs_counts_and_status_a_changed_one_starts_fresh) {
  const auto running = cfgns::load_string(yaml(""));
  vitals::service old{cfgns::build_registry(running), opts()};
  for (std::uint64_t n = 1; n <= 3; ++n) run_all(old, *clk, n);
  const auto before = old.current();
  old.stop();
  const auto* kept = before->find("kept");
  ASSERT_EQ(kept->runs, 3U);
  ASSERT_EQ(kept->consecutive_failures, 3U);
  ASSERT_EQ(kept->reported.status, vitals::status::fail);  // the first result counts at once

  const auto next = cfgns::load_string(yaml(", critical: false"));
  const auto seeds = vitalsd::carried_states(running, next, *before);
  ASSERT_EQ(seeds.size(), 1U);
  EXPECT_EQ(seeds[0]->name, "kept");

  auto so = opts();
  so.seed_states = seeds;
  vitals::service fresh{cfgns::build_registry(next), std::move(so)};
  // The changed check starts fresh (read before start(): its scheduler may run it at once).
  const auto initial = fresh.current();
  const auto* c = initial->find("changed");
  EXPECT_EQ(c->runs, 0U);
  EXPECT_EQ(c->reported.status, vitals::status::unknown);
  fresh.start();  // a replayed result would be a run due at once: none is
  (void)fresh.poll();
  const auto after = fresh.current();
  const auto* k = after->find("kept");
  EXPECT_FALSE(k->in_flight);
  EXPECT_EQ(k->runs, kept->runs);
  EXPECT_EQ(k->consecutive_failures, kept->consecutive_failures);
  EXPECT_EQ(k->consecutive_successes, kept->consecutive_successes);
  EXPECT_EQ(k->transitions, kept->transitions);
  EXPECT_EQ(k->reported.status, kept->reported.status);
  EXPECT_EQ(k->reported.output, kept->reported.output);
  fresh.stop();
}

TEST_F(carry, nothing_is_carried_for_new_or_never_run_checks) {
  const auto running = cfgns::load_string(yaml(""));
  vitals::service old{cfgns::build_registry(running), opts()};
  const auto before = old.current();  // nothing has run yet
  EXPECT_TRUE(vitalsd::carried_states(running, running, *before).empty());
  run_all(old, *clk, 1);
  EXPECT_EQ(vitalsd::carried_states(running, running, *old.current()).size(), 2U);
  const auto renamed = cfgns::load_string(yaml("") + "  - {name: added, type: memory}\n");
  EXPECT_EQ(vitalsd::carried_states(running, renamed, *old.current()).size(), 2U);
  old.stop();
}

TEST_F(carry, settings_and_defaults_tell_checks_apart) {
  const auto a = cfgns::load_string(yaml(""));
  const auto same = cfgns::load_string("# other layout\n" + yaml(""));
  const auto other_default = cfgns::load_string("defaults: {critical: false}\n" + yaml(""));
  EXPECT_TRUE(a.checks[1].same_check(same.checks[1]));
  EXPECT_FALSE(a.checks[1].same_check(other_default.checks[1]));  // options differ
  auto moved = a;
  moved.checks[1].fingerprint = a.checks[0].fingerprint;  // settings (the path) differ
  EXPECT_FALSE(a.checks[1].same_check(moved.checks[1]));
}

}  // namespace
