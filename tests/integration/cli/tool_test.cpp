// `vitals check | validate | probes | wait` end to end: the real `vitals` front binary, which
// execs vitals-tool, on real configurations and real loopback servers.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "loopback_servers.hpp"
#include "run_process.hpp"

namespace vitals::cli::testing {
namespace {

using namespace std::chrono_literals;

const std::string dir = VITALS_CLI_TEST_DIR;

process_result run_vitals(std::vector<std::string> args, std::chrono::milliseconds bound = 30s) {
  args.insert(args.begin(), VITALS_CLI_BIN);
  auto r = run_process(args, bound, {"VITALS_TOOL=" VITALS_CLI_TOOL_BIN});
  EXPECT_FALSE(r.killed_at_bound) << "vitals outlived its own deadline";
  return r;
}

std::string config(const std::string& name) { return dir + "/configs/" + name; }

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Compares with golden/<name>; VITALS_UPDATE_GOLDEN=1 rewrites the file instead.
void expect_golden(const std::string& name, const std::string& actual) {
  const std::string path = dir + "/golden/" + name;
  if (const char* u = std::getenv("VITALS_UPDATE_GOLDEN"); u != nullptr && *u == '1') {
    std::ofstream{path} << actual;
    GTEST_SKIP() << "golden file rewritten: " << path;
  }
  EXPECT_EQ(actual, read_file(path)) << "golden: " << path;
}

// The hung check's deadline is watched twice, by the runner ("timed out after 300ms") and by
// the exec check itself, which kills the process group ("timed out after 299ms running sleep;
// process group killed", with the time as observed value). Under load either may notice first:
// the same timeout at the same deadline, shown in the runner's words.
const std::regex check_side_timeout{
    R"(timed out after (\S+) running \S+; process group killed( \[<d>\])?)"};

// Durations vary from run to run: "12ms", "1.50s", "850us", "12 ms" → "<d>", and column
// padding (which depends on their width) → " | ".
std::string normalise_table(const std::string& text) {
  std::string s = std::regex_replace(text, std::regex{R"(\b\d+(\.\d+)?( ?)(us|ms|s)\b)"}, "<d>");
  s = std::regex_replace(s, check_side_timeout, "timed out after $1");
  return std::regex_replace(s, std::regex{R"( {2,})"}, " | ");
}

// ---- validate -----------------------------------------------------------------------------

TEST(cli_validate, ok_with_the_number_of_checks) {
  const auto r = run_vitals({"validate", config("probes.yaml")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("ok: 3 checks", 0), 0u) << r.out;
}

TEST(cli_validate, diagnostics_with_positions) {
  const auto r = run_vitals({"validate", config("bad.yaml")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("bad.yaml:5:"), std::string::npos) << r.err;  // intervall
  EXPECT_NE(r.err.find("intervall"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.yaml:9:"), std::string::npos) << r.err;  // timeout: soon
}

TEST(cli_validate, missing_file) {
  const auto r = run_vitals({"validate", config("does-not-exist.yaml")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does-not-exist.yaml"), std::string::npos) << r.err;
}

// ---- check --------------------------------------------------------------------------------

TEST(cli_check, table_golden_and_exit_code_from_the_worst_status) {
  const auto r = run_vitals({"check", "--config", config("check.yaml")});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // "broken" and "hung" fail
  // Every check ran once, the hung one was cut at its 300ms timeout by the runner.
  EXPECT_LT(r.elapsed, 5s);
  expect_golden("check_table.txt", normalise_table(r.out));
}

TEST(cli_check, json_golden) {
  const auto r = run_vitals({"check", "--config", config("check.yaml"), "--output", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto doc = nlohmann::ordered_json::parse(r.out);
  for (auto& c : doc["checks"]) {
    ASSERT_TRUE(c["durationMs"].is_number());
    c["durationMs"] = 0;
    if (c.contains("observed")) c["observed"] = "<d>";
    if (c.contains("output") && c.value("kind", std::string{}) == "timeout") {
      const std::string out = c["output"];
      if (std::regex_match(out, check_side_timeout)) c.erase("observed");
      // "299ms" from the check's clock, "300ms" from the runner's: either is the deadline.
      c["output"] =
          std::regex_replace(std::regex_replace(out, check_side_timeout, "timed out after $1"),
                             std::regex{R"(\b\d+(\.\d+)?(us|ms|s)\b)"}, "<d>");
    }
  }
  expect_golden("check_json.txt", doc.dump(2) + "\n");
}

TEST(cli_check, warn_passes_unless_strict) {
  auto r = run_vitals({"check", "--config", config("pass.yaml")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("warn: 2 checks, 1 pass, 1 warn, 0 fail"), std::string::npos) << r.out;
  r = run_vitals({"check", "--config", config("pass.yaml"), "--strict"});
  EXPECT_EQ(r.exit_code, 1);
}

TEST(cli_check, config_errors_and_usage) {
  EXPECT_EQ(run_vitals({"check", "--config", config("bad.yaml")}).exit_code, 78);
  EXPECT_EQ(run_vitals({"check"}).exit_code, 64);
  EXPECT_EQ(run_vitals({"check", "--config", config("pass.yaml"), "--output", "xml"}).exit_code,
            64);
  EXPECT_EQ(run_vitals({"frobnicate"}).exit_code, 64);
}

// `vitals check URL...`: one check per dependency URL, the table and exit code as for a file.
TEST(cli_check, urls_instead_of_a_configuration) {
  std::uint16_t open_port = 0;
  const int fd = listen_loopback(open_port);
  const std::uint16_t closed = closed_port();
  const std::string up = "tcp://127.0.0.1:" + std::to_string(open_port);
  auto r = run_vitals({"check", "--no-progress", up});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("127.0.0.1_" + std::to_string(open_port) + "  tcp   pass"),
            std::string::npos)
      << r.out;
  r = run_vitals({"check", "--no-progress", "--output", "json", "--timeout", "2s", up, up,
                  "tcp://127.0.0.1:" + std::to_string(closed)});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;  // the closed port fails
  const auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["checks"].size(), 3U) << r.out;
  EXPECT_NE(r.out.find("\"127.0.0.1_" + std::to_string(open_port) + "-2\""), std::string::npos)
      << r.out;  // a repeated URL gets its own name
  EXPECT_NE(r.out.find("connection refused"), std::string::npos) << r.out;
  // A password never reaches the table, even in a name.
  r = run_vitals({"check", "--no-progress", "--timeout", "1s",
                  "redis://:s3cr3t-pw@127.0.0.1:" + std::to_string(closed)});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ((r.out + r.err).find("s3cr3t-pw"), std::string::npos) << r.out << r.err;
  // Usage: an unknown scheme, both a file and URLs, a bad timeout.
  r = run_vitals({"check", "bogus://x"});
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_NE(r.err.find("unknown scheme 'bogus'"), std::string::npos) << r.err;
  EXPECT_EQ(run_vitals({"check", "--config", config("pass.yaml"), up}).exit_code, 64);
  EXPECT_EQ(run_vitals({"check", "--timeout", "0s", up}).exit_code, 64);
  ::close(fd);
}

// ---- probes -------------------------------------------------------------------------------

TEST(cli_probes, kubernetes_golden_and_warnings) {
  const auto r = run_vitals({"probes", "--config", config("probes.yaml"), "--format", "k8s"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  expect_golden("probes_k8s.txt", r.out);
  // db's 5s timeout is longer than the probe's timeoutSeconds (1).
  EXPECT_NE(r.err.find("warning: check 'db': timeout 5s exceeds the probe's timeoutSeconds 1"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("'cache'"), std::string::npos) << r.err;
}

TEST(cli_probes, docker_golden) {
  const auto r = run_vitals({"probes", "--config", config("probes.yaml"), "--format", "docker"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  expect_golden("probes_docker.txt", r.out);
}

TEST(cli_probes, longer_probe_timeout_silences_the_warning) {
  const auto r = run_vitals({"probes", "--config", config("probes.yaml"), "--probe-timeout", "5s"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("timeoutSeconds: 5"), std::string::npos);
}

TEST(cli_probes, loopback_listener_is_flagged_for_kubernetes_only) {
  auto r = run_vitals({"probes", "--config", config("loopback.yaml"), "--format", "k8s"});
  EXPECT_NE(r.err.find("loopback only"), std::string::npos) << r.err;
  r = run_vitals({"probes", "--config", config("loopback.yaml"), "--format", "docker"});
  EXPECT_EQ(r.err.find("loopback only"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("http://127.0.0.1:8081/readyz"), std::string::npos) << r.out;
}

// ---- wait ---------------------------------------------------------------------------------

TEST(cli_wait, http_server_started_late) {
  const std::uint16_t port = closed_port();
  const auto started = std::chrono::steady_clock::now();
  background_process late{{"/bin/sh", "-c",
                           "sleep 1; exec /usr/bin/python3 -m http.server " + std::to_string(port) +
                               " --bind 127.0.0.1"}};
  const auto r =
      run_vitals({"wait", "--timeout", "20s", "http://127.0.0.1:" + std::to_string(port) + "/",
                  "tcp://127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_NE(r.err.find("all 2 dependencies up"), std::string::npos) << r.err;
  // Not a TTY: one line per state change, not one per attempt.
  EXPECT_LT(std::count(r.err.begin(), r.err.end(), '\n'), 8) << r.err;
}

TEST(cli_wait, memcached_started_late) {
  if (access("/usr/bin/memcached", X_OK) != 0) GTEST_SKIP() << "memcached not installed";
  const std::uint16_t port = closed_port();
  background_process late{
      {"/bin/sh", "-c",
       "sleep 1; exec /usr/bin/memcached -u root -l 127.0.0.1 -U 0 -p " + std::to_string(port)}};
  const auto r = run_vitals({"wait", "-t", "20s", "memcached://127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(cli_wait, timeout_exits_non_zero_with_the_reason) {
  const std::uint16_t port = closed_port();
  const auto r = run_vitals({"wait", "--timeout", "1s", "tcp://127.0.0.1:" + std::to_string(port),
                             "redis://app:hunter22@127.0.0.1:" + std::to_string(port) + "/0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_GE(r.elapsed, 1s);
  EXPECT_LT(r.elapsed, 4s);
  EXPECT_NE(r.err.find("timeout after 1s: 2 of 2 dependencies not up"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("hunter22"), std::string::npos) << r.err;
}

TEST(cli_wait, frozen_server_times_out_at_the_deadline) {
  frozen_server frozen;
  const auto r =
      run_vitals({"wait", "-t", "1s", "http://127.0.0.1:" + std::to_string(frozen.port())});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_LT(r.elapsed, 4s);
  EXPECT_NE(r.err.find("timeout"), std::string::npos) << r.err;
  // Its one attempt ran into the overall deadline: told as the timeout it is, not "not tried".
  EXPECT_NE(r.err.find(": fail/timeout: "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("not tried yet"), std::string::npos) << r.err;
}

TEST(cli_wait, unusable_urls_are_usage_errors) {
  EXPECT_EQ(run_vitals({"wait", "gopher://127.0.0.1:70"}).exit_code, 64);
  EXPECT_EQ(run_vitals({"wait", "tcp://127.0.0.1"}).exit_code, 64);
  EXPECT_EQ(run_vitals({"wait"}).exit_code, 64);
}

}  // namespace
}  // namespace vitals::cli::testing
