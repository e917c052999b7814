#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "vitals/registry.hpp"

namespace vitals {
namespace {

using namespace std::chrono_literals;

result ok_fn(const context&) { return pass(); }

struct dependency_check final : check {
  result run(const context&) override { return pass(); }
  [[nodiscard]] check_traits traits() const override {
    return {.type = "postgres",
            .component_type = "datastore",
            .measurement = "connections",
            .dependency = true,
            .secrets = {"pw123"}};
  }
};

// Expects add() to throw std::invalid_argument whose text contains every fragment.
void expect_refused(const std::string& name, check_options o,
                    std::initializer_list<const char*> parts,
                    std::shared_ptr<check> c = make_check(ok_fn)) {
  registry reg;
  try {
    reg.add(name, std::move(c), std::move(o));
    ADD_FAILURE() << "accepted " << name;
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    for (const char* p : parts) EXPECT_NE(what.find(p), std::string::npos) << what;
  }
  EXPECT_TRUE(reg.empty());
}

TEST(Registry, AcceptsValidNames) {
  registry reg;
  reg.add("db", ok_fn).add("a.b-c_D9", ok_fn).add(std::string(64, 'x'), ok_fn);
  EXPECT_EQ(reg.size(), 3U);
  EXPECT_EQ(reg.entries()[1].name, "a.b-c_D9");
}

TEST(Registry, RefusesInvalidNames) {
  for (const std::string& bad :
       {std::string{}, std::string(65, 'x'), std::string{"a b"}, std::string{"a/b"},
        std::string{"caf\xc3\xa9"}, std::string{"x:y"}, std::string{"new\nline"}})
    expect_refused(bad, {}, {"invalid check name"});
}

TEST(Registry, RefusesDuplicates) {
  registry reg;
  reg.add("db", ok_fn);
  EXPECT_THROW(reg.add("db", ok_fn), std::invalid_argument);
  try {
    reg.add("db", ok_fn);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("\"db\": duplicate"), std::string::npos) << e.what();
  }
  EXPECT_EQ(reg.size(), 1U);
}

TEST(Registry, TimeoutMustBeShorterThanInterval) {
  expect_refused("db", {.interval = 2s, .timeout = 2s},
                 {"\"db\"", "timeout (2s)", "interval (2s)"});
  expect_refused("db", {.interval = 1s, .timeout = 1500ms}, {"timeout (1.5s)"});
  expect_refused("db", {.interval = 0s}, {"interval must be positive"});
  expect_refused("db", {.timeout = 0ms}, {"timeout must be positive"});
  registry reg;
  EXPECT_NO_THROW(reg.add("db", ok_fn, {.interval = 2s, .timeout = 1999ms}));
}

TEST(Registry, ThresholdsAtLeastOne) {
  expect_refused("db", {.failure_threshold = 0}, {"failure_threshold", "(got 0)"});
  expect_refused("db", {.success_threshold = -1}, {"success_threshold"});
  registry reg;
  EXPECT_NO_THROW(reg.add("db", ok_fn, {.failure_threshold = 1, .success_threshold = 5}));
}

TEST(Registry, JitterInHalfOpenUnitInterval) {
  expect_refused("db", {.jitter = -0.1}, {"jitter"});
  expect_refused("db", {.jitter = 1.0}, {"jitter"});
  expect_refused("db", {.jitter = std::numeric_limits<double>::quiet_NaN()}, {"jitter"});
  registry reg;
  EXPECT_NO_THROW(reg.add("a", ok_fn, {.jitter = 0.0}));
  EXPECT_NO_THROW(reg.add("b", ok_fn, {.jitter = 0.999}));
}

TEST(Registry, NegativeDurationsRefused) {
  expect_refused("db", {.initial_delay = -1ms}, {"initial_delay"});
  expect_refused("db", {.ttl_pass = -1ms}, {"ttl"});
  expect_refused("db", {.max_staleness = -1ms}, {"max_staleness"});
}

// In no probe, an on_demand check would never run (a background one is a monitored target).
TEST(Registry, OnDemandCheckInNoProbeRefused) {
  expect_refused("db", {.probes = probe_set{}, .mode = schedule::on_demand},
                 {"\"db\"", "no probe", "never run"});
}

TEST(Registry, DependencyInLiveRefusedUnlessAllowed) {
  expect_refused("pg", {.probes = live | ready}, {"\"pg\"", "live", "allow_in_live", "postgres"},
                 std::make_shared<dependency_check>());
  registry reg;
  EXPECT_NO_THROW(
      reg.add("pg", std::make_shared<dependency_check>(), {.probes = live, .allow_in_live = true}));
  // Process-local checks are welcome in live.
  EXPECT_NO_THROW(reg.add("loop", ok_fn, {.probes = live}));
  // A dependency in ready is fine.
  EXPECT_NO_THROW(reg.add("pg2", std::make_shared<dependency_check>(), {.probes = ready}));
}

TEST(Registry, NullCheckRefused) {
  registry reg;
  EXPECT_THROW(reg.add("x", std::shared_ptr<check>{}), std::invalid_argument);
  EXPECT_THROW(reg.add("x", std::function<result(const context&)>{}), std::invalid_argument);
}

TEST(Registry, KeepsTraitsAndAppliesOverrides) {
  registry reg;
  reg.add("pg", std::make_shared<dependency_check>(),
          {.component_type = "database", .measurement = ""});
  const auto& e = reg.entries().front();
  EXPECT_EQ(e.traits.type, "postgres");
  EXPECT_EQ(e.traits.component_type, "database");
  EXPECT_EQ(e.traits.measurement, "connections");
  ASSERT_EQ(e.traits.secrets.size(), 1U);
  EXPECT_EQ(e.options.probes, ready);
}

TEST(Registry, ValidateIsUsableAlone) {
  EXPECT_NO_THROW(registry::validate("ok", {}, {}));
  EXPECT_THROW(registry::validate("ok", {.failure_threshold = 0}, {}), std::invalid_argument);
}

}  // namespace
TEST(Registry, ErrorsAreValuesWithTheKeyAtFault) {
  const auto errs = registry::errors(
      "db", {.probes = probe_set{}, .mode = schedule::on_demand, .interval = 2s, .timeout = 3s},
      {});
  ASSERT_EQ(errs.size(), 2U);
  EXPECT_EQ(errs[0].check, "db");
  EXPECT_EQ(errs[0].key, "probes");
  EXPECT_EQ(errs[0].message, "an on_demand check must list at least one of live, ready, startup");
  // In the background, no probe is a monitored target.
  EXPECT_TRUE(registry::errors("db", {.probes = probe_set{}}, {}).empty());
  EXPECT_EQ(errs[1].key, "timeout");
  EXPECT_EQ(errs[1].message, "timeout (3s) must be shorter than interval (2s)");
  EXPECT_EQ(errs[1].text, "vitals: check \"db\": timeout (3s) must be shorter than interval (2s)");
  EXPECT_EQ(registry::errors("bad name", {}, {}).front().key, "name");
  const auto in_live = registry::errors("pg", {.probes = live}, dependency_check{}.traits());
  ASSERT_EQ(in_live.size(), 1U);
  EXPECT_EQ(in_live[0].key, "probes");
  EXPECT_NE(in_live[0].message.find("a postgres check depends on something outside"),
            std::string::npos);
  EXPECT_TRUE(registry::errors("ok", {}, {}).empty());
}

TEST(Registry, TryAddReturnsErrorsAndRegistersNothing) {
  registry reg;
  EXPECT_TRUE(reg.try_add("a", make_check(ok_fn)).empty());
  EXPECT_TRUE(reg.try_add("b", make_check(ok_fn)).empty());
  const auto dup = reg.try_add("b", make_check(ok_fn), {.failure_threshold = 0});
  ASSERT_EQ(dup.size(), 2U);
  EXPECT_EQ(dup[0].key, "failure_threshold");
  EXPECT_EQ(dup[1].key, "name");
  EXPECT_EQ(dup[1].message, "duplicate check name \"b\"");
  EXPECT_EQ(dup[1].duplicate_of, 1U);
  EXPECT_FALSE(dup[0].duplicate_of.has_value());
  EXPECT_EQ(reg.size(), 2U);
}

TEST(Registry, OptionsCompareMemberWise) {
  const check_options a{.interval = 5s, .component_type = "db"};
  check_options b = a;
  EXPECT_EQ(a, b);
  b.measurement = "x";
  EXPECT_NE(a, b);
  b = a;
  b.probes = ready | startup;
  EXPECT_NE(a, b);
}

}  // namespace vitals
