// The command channel with real child processes (each bounded by its deadline).

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "vitals/notify.hpp"

namespace {

using namespace std::chrono_literals;
using namespace vitals::notify;

message sample() {
  return {.alerts = {{.name = "db",
                      .from = vitals::status::pass,
                      .to = vitals::status::fail,
                      .kind = vitals::failure_kind::refused,
                      .output = "connection refused"}}};
}

steady_time in(std::chrono::milliseconds d) { return std::chrono::steady_clock::now() + d; }

TEST(notify_command, writes_the_alert_json_to_stdin_without_a_shell) {
  const auto out = (std::filesystem::temp_directory_path() /
                    ("vitals_notify_cmd_" + std::to_string(::getpid()) + ".json"))
                       .string();
  // argv[2] is one argument: no shell splits or expands it.
  auto n = make_command_notifier({.argv = {"/bin/sh", "-c", "cat > \"$0\"", out}});
  const auto d = n->send(sample(), in(10s));
  ASSERT_TRUE(d.ok) << d.error;
  std::ifstream f(out);
  const auto j = nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(f), {}));
  EXPECT_EQ(j["check"], "db");
  EXPECT_EQ(j["to"], "fail");
  EXPECT_EQ(j["failure_kind"], "refused");
  std::filesystem::remove(out);
}

TEST(notify_command, a_non_zero_exit_status_is_an_error_with_its_output) {
  auto n = make_command_notifier({.argv = {"/bin/sh", "-c", "echo nope >&2; exit 3"}});
  const auto d = n->send(sample(), in(10s));
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.error.find("exit status 3"), std::string::npos) << d.error;
  EXPECT_NE(d.error.find("nope"), std::string::npos) << d.error;
}

TEST(notify_command, is_killed_at_the_deadline) {
  auto n = make_command_notifier({.argv = {"/bin/sleep", "30"}});
  const auto start = std::chrono::steady_clock::now();
  const auto d = n->send(sample(), in(300ms));
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.error.find("killed at the deadline"), std::string::npos) << d.error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(notify_command, a_program_that_ignores_stdin_is_fine) {
  auto n = make_command_notifier({.argv = {"/bin/true"}});
  const auto d = n->send(sample(), in(10s));
  EXPECT_TRUE(d.ok) << d.error;
}

TEST(notify_command, a_missing_program_is_a_permanent_error) {
  auto n = make_command_notifier({.argv = {"/nonexistent/vitals-notify-tool"}});
  const auto d = n->send(sample(), in(10s));
  EXPECT_FALSE(d.ok);
  EXPECT_TRUE(d.permanent);
}

}  // namespace
