#include <gtest/gtest.h>

#include "vitals/snapshot.hpp"

namespace vitals {
namespace {

check_state make(std::string name, status s, probe_set probes = ready, bool critical = true) {
  check_state c;
  c.name = std::move(name);
  c.options.probes = probes;
  c.options.critical = critical;
  c.reported.status = s;
  return c;
}

TEST(Snapshot, EmptyProbePasses) {
  const snapshot s;
  EXPECT_EQ(s.probe_status(probe::live), status::pass);
  EXPECT_EQ(s.probe_status(probe::ready), status::pass);
  EXPECT_EQ(s.probe_status(probe::startup), status::pass);
}

TEST(Snapshot, CriticalFailOrUnknownFailsTheProbe) {
  snapshot s;
  s.checks = {make("a", status::pass), make("b", status::fail)};
  EXPECT_EQ(s.probe_status(probe::ready), status::fail);
  s.checks = {make("a", status::pass), make("b", status::unknown)};
  EXPECT_EQ(s.probe_status(probe::ready), status::unknown);
  s.checks = {make("a", status::warn), make("b", status::pass)};
  EXPECT_EQ(s.probe_status(probe::ready), status::warn);
  s.checks = {make("a", status::fail), make("b", status::unknown)};
  EXPECT_EQ(s.probe_status(probe::ready), status::unknown);
}

TEST(Snapshot, UnknownDoesNotFailLivenessOnly) {
  snapshot s;
  s.checks = {make("loop", status::unknown, live | ready | startup)};
  EXPECT_EQ(s.probe_status(probe::live), status::pass);
  EXPECT_EQ(s.probe_status(probe::ready), status::unknown);
  EXPECT_EQ(s.probe_status(probe::startup), status::unknown);
  s.checks = {make("loop", status::unknown, live), make("mem", status::fail, live)};
  EXPECT_EQ(s.probe_status(probe::live), status::fail);
  EXPECT_EQ(s.probe_status(probe::live, {"mem"}), status::pass);
  s.checks = {make("loop", status::unknown, live), make("mem", status::warn, live)};
  EXPECT_EQ(s.probe_status(probe::live), status::warn);
}

TEST(Snapshot, NonCriticalOnlyWarns) {
  snapshot s;
  s.checks = {make("a", status::pass), make("cache", status::fail, ready, false)};
  EXPECT_EQ(s.probe_status(probe::ready), status::warn);
  s.checks = {make("a", status::pass), make("cache", status::unknown, ready, false)};
  EXPECT_EQ(s.probe_status(probe::ready), status::warn);
  s.checks = {make("a", status::pass), make("cache", status::pass, ready, false)};
  EXPECT_EQ(s.probe_status(probe::ready), status::pass);
}

TEST(Snapshot, ProbesOnlyCountTheirChecks) {
  snapshot s;
  s.checks = {make("loop", status::pass, live), make("db", status::fail, ready | startup)};
  EXPECT_EQ(s.probe_status(probe::live), status::pass);
  EXPECT_EQ(s.probe_status(probe::ready), status::fail);
  EXPECT_EQ(s.probe_status(probe::startup), status::fail);
}

TEST(Snapshot, ExcludedChecksAreIgnored) {
  snapshot s;
  s.checks = {make("a", status::pass), make("b", status::fail)};
  EXPECT_EQ(s.probe_status(probe::ready, {"b"}), status::pass);
  EXPECT_EQ(s.probe_status(probe::ready, {"a"}), status::fail);
}

TEST(Snapshot, ReadyFailsWhileShuttingDownLiveUnaffected) {
  snapshot s;
  s.checks = {make("a", status::pass, live | ready)};
  s.shutting_down = true;
  EXPECT_EQ(s.probe_status(probe::ready), status::fail);
  EXPECT_EQ(s.probe_status(probe::live), status::pass);
}

TEST(Snapshot, StartupPassesOnceLatched) {
  snapshot s;
  s.checks = {make("db", status::fail, startup)};
  EXPECT_EQ(s.probe_status(probe::startup), status::fail);
  s.startup_latched = true;
  EXPECT_EQ(s.probe_status(probe::startup), status::pass);
}

TEST(Snapshot, FindByName) {
  snapshot s;
  s.checks = {make("a", status::pass), make("b", status::fail)};
  ASSERT_NE(s.find("b"), nullptr);
  EXPECT_EQ(s.find("b")->reported.status, status::fail);
  EXPECT_EQ(s.find("c"), nullptr);
}

}  // namespace
}  // namespace vitals
