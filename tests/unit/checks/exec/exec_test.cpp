// Options and traits only: running programs is covered by tests/integration/checks/exec.
#include <gtest/gtest.h>

#include <stdexcept>

#include "vitals/checks/exec.hpp"

namespace {

TEST(exec_check_options, traits_mark_a_dependency_and_carry_the_secrets) {
  auto t =
      vitals::checks::exec(
          {.command = "/bin/true", .args = {"--token", "abc123token"}, .secrets = {"abc123token"}})
          ->traits();
  EXPECT_EQ(t.type, "exec");
  EXPECT_EQ(t.component_type, "component");
  EXPECT_EQ(t.measurement, "responseTime");
  EXPECT_TRUE(t.dependency);
  EXPECT_EQ(t.secrets, std::vector<std::string>{"abc123token"});
}

TEST(exec_check_options, bad_options_throw) {
  EXPECT_THROW((void)vitals::checks::exec({}), std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::exec({.command = "true", .max_output = 0}),
               std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::exec({.command = "true", .env = {{"A=B", "c"}}}),
               std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::exec({.command = "true", .env = {{"", "c"}}}),
               std::invalid_argument);
  EXPECT_NO_THROW((void)vitals::checks::exec({.command = "true", .env = {{"A", "b=c"}}}));
}

}  // namespace
