// Pure parts of vitals-tool: table / JSON rendering, verdicts, probe planning.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tool/commands.hpp"
#include "tool/output.hpp"

namespace vitals::cli {
namespace {

using namespace std::chrono_literals;

std::vector<check_row> sample() {
  return {
      check_row{.name = "db",
                .type = "postgres",
                .state = status::pass,
                .duration = 3ms,
                .observed = "3 ms"},
      check_row{.name = "cache",
                .type = "redis",
                .critical = false,
                .state = status::fail,
                .kind = failure_kind::refused,
                .duration = 850us,
                .output = "connection refused\nsecond line"},
      check_row{.name = "queue",
                .type = "custom",
                .state = status::warn,
                .duration = 1500ms,
                .output = "backlog"},
  };
}

TEST(cli_output, table_is_aligned_one_line_per_check) {
  EXPECT_EQ(
      render_table(sample(), false),
      "NAME   TYPE      STATUS                       DURATION  OUTPUT\n"
      "db     postgres  pass                         3ms       3 ms\n"
      "cache  redis     fail/refused (non-critical)  850us     connection refused second line\n"
      "queue  custom    warn                         1.50s     backlog\n"
      "warn: 3 checks, 1 pass, 1 warn, 1 fail\n");
}

TEST(cli_output, color_only_on_request) {
  EXPECT_EQ(render_table(sample(), false).find('\033'), std::string::npos);
  EXPECT_NE(render_table(sample(), true).find("\033[31m"), std::string::npos);
}

TEST(cli_output, json_has_every_field) {
  const auto doc = nlohmann::json::parse(render_json(sample()));
  EXPECT_EQ(doc["status"], "warn");
  ASSERT_EQ(doc["checks"].size(), 3u);
  EXPECT_EQ(doc["checks"][0]["name"], "db");
  EXPECT_FALSE(doc["checks"][0].contains("kind"));
  EXPECT_EQ(doc["checks"][1]["kind"], "refused");
  EXPECT_EQ(doc["checks"][1]["critical"], false);
  EXPECT_DOUBLE_EQ(doc["checks"][1]["durationMs"].get<double>(), 0.85);
  EXPECT_EQ(doc["checks"][2]["output"], "backlog");
}

TEST(cli_output, json_survives_invalid_utf8_from_a_peer) {
  std::vector<check_row> rows{check_row{.name = "x", .state = status::fail, .output = "\xff\xfe"}};
  nlohmann::json doc;
  EXPECT_NO_THROW(doc = nlohmann::json::parse(render_json(rows)));
  EXPECT_EQ(doc["checks"][0]["output"], "\xEF\xBF\xBD\xEF\xBF\xBD");  // U+FFFD twice
}

TEST(cli_output, verdict_and_exit_code) {
  auto rows = sample();
  EXPECT_EQ(overall(rows), status::warn);  // the failing cache is non-critical
  EXPECT_EQ(exit_code_for(overall(rows), false), 0);
  EXPECT_EQ(exit_code_for(overall(rows), true), 1);
  rows[1].critical = true;
  EXPECT_EQ(overall(rows), status::fail);
  EXPECT_EQ(exit_code_for(status::fail, false), 1);
  EXPECT_EQ(exit_code_for(status::unknown, false), 1);
  EXPECT_EQ(exit_code_for(status::pass, true), 0);
  EXPECT_EQ(overall({}), status::pass);
}

TEST(cli_output, short_durations) {
  EXPECT_EQ(short_duration(0ns), "0us");
  EXPECT_EQ(short_duration(999us), "999us");
  EXPECT_EQ(short_duration(12ms), "12ms");
  EXPECT_EQ(short_duration(2s), "2s");
  EXPECT_EQ(short_duration(2500ms), "2.50s");
}

constexpr const char* yaml = R"(
listen: 0.0.0.0:9090
checks:
  - name: loop
    type: event_loop
    probes: [live, ready, startup]
    interval: 5s
    timeout: 1s
  - name: slow
    type: exec
    command: "true"
    probes: [ready, startup]
    interval: 30s
    timeout: 20s
    initial_delay: 60s
)";

TEST(cli_probes_plan, follows_the_check_budgets) {
  const auto cfg = config::load_string(yaml, "plan.yaml");
  const auto live = plan_probe(cfg, probe::live, 1s);
  EXPECT_EQ(live.path, "/livez");
  EXPECT_EQ(live.period_seconds, 5);     // the fastest live check's interval
  EXPECT_EQ(live.failure_threshold, 3);  // 6s cycle fits 3 x 5s
  EXPECT_EQ(live.timeout_seconds, 1);
  const auto ready = plan_probe(cfg, probe::ready, 1s);
  EXPECT_EQ(ready.period_seconds, 5);
  EXPECT_EQ(ready.failure_threshold, 2);
  EXPECT_EQ(ready.checks, (std::vector<std::string>{"loop", "slow"}));
  const auto startup = plan_probe(cfg, probe::startup, 1s);
  // Window: 60s delay + 20s timeout + 3 x 30s interval = 170s, at 5s per period.
  EXPECT_EQ(startup.failure_threshold, 34);
}

TEST(cli_probes_plan, prefix_and_empty_probes) {
  const auto cfg = config::load_string(R"(
listen: 0.0.0.0:8081
http:
  prefix: /_health
checks:
  - name: mem
    type: memory
)",
                                       "prefix.yaml");
  const auto live = plan_probe(cfg, probe::live, 1500ms);
  EXPECT_EQ(live.path, "/_health/livez");
  EXPECT_TRUE(live.checks.empty());
  EXPECT_EQ(live.period_seconds, 10);
  EXPECT_EQ(live.timeout_seconds, 2);  // rounded up
  EXPECT_NE(render_docker(cfg, 1s).find("\"http://127.0.0.1:8081/_health/readyz\""),
            std::string::npos);
}

TEST(cli_probes_plan, warnings) {
  const auto cfg = config::load_string(yaml, "plan.yaml");
  const auto w = probe_warnings(cfg, 1s, true);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("'slow': timeout 20s exceeds"), std::string::npos) << w[0];
  EXPECT_TRUE(probe_warnings(cfg, 20s, true).empty());
}

TEST(cli_probes_plan, grpc_probes_ask_the_grpc_port_by_probe_name) {
  const auto cfg = config::load_string(R"(
listen: 0.0.0.0:8081
grpc:
  listen: 0.0.0.0:9090
checks:
  - name: loop
    type: event_loop
    probes: [live, ready, startup]
    timeout: 1s
)",
                                       "grpc.yaml");
  const std::string k8s = render_k8s(cfg, 1s, probe_transport::grpc);
  EXPECT_NE(k8s.find("livenessProbe:  # checks: loop\n  grpc:\n    port: 9090\n"
                     "    service: liveness\n"),
            std::string::npos)
      << k8s;
  EXPECT_NE(k8s.find("readinessProbe:  # checks: loop\n  grpc:\n    port: 9090\n"
                     "    service: readiness\n"),
            std::string::npos)
      << k8s;
  EXPECT_NE(k8s.find("  grpc:\n    port: 9090\n    service: startup\n"), std::string::npos);
  EXPECT_EQ(k8s.find("httpGet"), std::string::npos);
  EXPECT_NE(
      render_docker(cfg, 1s, probe_transport::grpc).find("\"grpc://127.0.0.1:9090/readiness\"]"),
      std::string::npos)
      << render_docker(cfg, 1s, probe_transport::grpc);
  EXPECT_TRUE(probe_warnings(cfg, 1s, true, probe_transport::grpc).empty());
}

TEST(cli_probes_plan, grpc_warnings_tls_and_loopback) {
  const auto cfg = config::load_string(R"(
grpc:
  listen: "[::1]:9090"
  tls: {cert_file: /c.pem, key_file: /k.pem}
)",
                                       "grpc-tls.yaml");
  const auto w = probe_warnings(cfg, 1s, true, probe_transport::grpc);
  ASSERT_EQ(w.size(), 2U);
  EXPECT_NE(w[0].find("plaintext only"), std::string::npos) << w[0];
  EXPECT_NE(w[1].find("loopback only"), std::string::npos) << w[1];
  EXPECT_NE(render_docker(cfg, 1s, probe_transport::grpc).find("grpc://[::1]:9090/readiness"),
            std::string::npos);
}

}  // namespace
}  // namespace vitals::cli
