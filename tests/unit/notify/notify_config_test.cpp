// `notify:` and `notify_state:` in the vitalsd file: values, precise diagnostics, secrets.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "vitals/config.hpp"

namespace {

using namespace std::chrono_literals;

std::vector<std::string> errors_of(const std::string& yaml) {
  try {
    static_cast<void>(vitals::config::load_string(yaml, "t.yaml"));
  } catch (const vitals::config::error& e) {
    std::vector<std::string> out;
    for (const auto& d : e.diagnostics()) out.push_back(d.to_string());
    return out;
  }
  return {};
}

const std::string checks = "checks:\n  - {name: mem, type: memory}\n";

TEST(notify_config, reads_every_key) {
  const auto cfg = vitals::config::load_string(
      checks +
          "notify_state: /var/lib/vitalsd/notify.json\n"
          "notify:\n"
          "  - name: ops\n"
          "    type: slack\n"
          "    url: https://hooks.slack.com/services/T/B/SECRET\n"
          "    checks: [db-*, cache]\n"
          "    probes: [ready]\n"
          "    severity: critical\n"
          "    for: 30s\n"
          "    repeat_every: 1h\n"
          "    send_on_resolved: false\n"
          "    group_wait: 10s\n"
          "    rate_limit: 20\n"
          "    rate_window: 1h\n"
          "    maintenance: [\"2026-12-02T01:00:00Z/2026-12-02T03:00:00+01:00\"]\n"
          "    timeout: 2s\n"
          "    retries: 5\n"
          "    backoff: 1s\n"
          "    queue: 50\n"
          "    link: https://status.example/billing\n"
          "  - {name: pd, type: pagerduty, routing_key: R0UT1NG}\n"
          "  - {name: script, type: command, command: [/usr/local/bin/page, --urgent]}\n",
      "t.yaml");
  EXPECT_EQ(cfg.notify_state, "/var/lib/vitalsd/notify.json");
  ASSERT_EQ(cfg.notify.size(), 3u);
  const auto& n = cfg.notify[0];
  EXPECT_EQ(n.name, "ops");
  EXPECT_EQ(n.type, "slack");
  EXPECT_EQ(n.url, "https://hooks.slack.com/services/T/B/SECRET");
  EXPECT_EQ(n.checks, (std::vector<std::string>{"db-*", "cache"}));
  EXPECT_EQ(n.probes, (std::vector<std::string>{"ready"}));
  EXPECT_EQ(n.severity, "critical");
  EXPECT_EQ(n.for_duration, 30s);
  EXPECT_EQ(n.repeat_every, 1h);
  EXPECT_FALSE(n.send_on_resolved);
  EXPECT_EQ(n.group_wait, 10s);
  EXPECT_EQ(n.rate_limit, 20);
  EXPECT_EQ(n.timeout, 2s);
  EXPECT_EQ(n.retries, 5);
  EXPECT_EQ(n.backoff, 1s);
  EXPECT_EQ(n.queue, 50);
  EXPECT_EQ(n.link, "https://status.example/billing");
  EXPECT_EQ(n.line, 5);
  EXPECT_EQ(cfg.notify[1].routing_key, "R0UT1NG");
  EXPECT_EQ(cfg.notify[2].command, (std::vector<std::string>{"/usr/local/bin/page", "--urgent"}));
}

TEST(notify_config, url_file_and_routing_key_file) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto url = (dir / ("vitals_notify_url_" + std::to_string(::getpid()))).string();
  const auto key = (dir / ("vitals_notify_key_" + std::to_string(::getpid()))).string();
  std::ofstream(url) << "https://example.invalid/hook/SECRET\n";
  std::ofstream(key) << "K3Y\n";
  const auto cfg = vitals::config::load_string(
      checks + "notify:\n  - {name: a, type: webhook, url_file: " + url +
          "}\n  - {name: b, type: pagerduty, routing_key_file: " + key + "}\n",
      "t.yaml");
  EXPECT_EQ(cfg.notify[0].url, "https://example.invalid/hook/SECRET");
  EXPECT_EQ(cfg.notify[1].routing_key, "K3Y");
  std::filesystem::remove(url);
  std::filesystem::remove(key);
}

TEST(notify_config, precise_diagnostics) {
  EXPECT_EQ(errors_of(checks + "notify:\n  - {name: a, type: webhok, url: http://x/}\n"),
            (std::vector<std::string>{"t.yaml:4:21: notify[0].type: must be one of webhook, "
                                      "slack, teams, pagerduty, command (got \"webhok\"); did "
                                      "you mean \"webhook\"?"}));
  const auto unknown = errors_of(checks + "notify:\n  - {name: a, type: webhook, urll: x}\n");
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_NE(unknown[0].find("notify[0].urll: unknown key \"urll\" (did you mean \"url\"?)"),
            std::string::npos)
      << unknown[0];
  const auto missing = errors_of(checks + "notify:\n  - {type: slack, url: http://x/}\n");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_NE(missing[0].find("notify[0]: missing required key \"name\""), std::string::npos)
      << missing[0];
  const auto no_url = errors_of(checks + "notify:\n  - {name: a, type: teams}\n");
  ASSERT_EQ(no_url.size(), 1u);
  EXPECT_NE(no_url[0].find("notify[0].type: a teams notifier needs url (or url_file)"),
            std::string::npos)
      << no_url[0];
  const auto no_key = errors_of(checks + "notify:\n  - {name: a, type: pagerduty}\n");
  ASSERT_EQ(no_key.size(), 1u);
  EXPECT_NE(no_key[0].find("needs routing_key"), std::string::npos) << no_key[0];
  const auto dup = errors_of(checks +
                             "notify:\n  - {name: a, type: command, command: [x]}\n"
                             "  - {name: a, type: command, command: [y]}\n");
  ASSERT_EQ(dup.size(), 1u);
  EXPECT_NE(dup[0].find("notify[1].name: duplicate name \"a\" (first at line 4)"),
            std::string::npos)
      << dup[0];
  const auto window = errors_of(checks +
                                "notify:\n  - {name: a, type: command, command: [x], "
                                "maintenance: [\"2026-12-02T03:00:00Z/2026-12-02T01:00:00Z\"]}\n");
  ASSERT_EQ(window.size(), 1u);
  EXPECT_NE(window[0].find("notify[0].maintenance: maintenance window"), std::string::npos)
      << window[0];
  const auto bad_window = errors_of(
      checks + "notify:\n  - {name: a, type: command, command: [x], maintenance: [tonight]}\n");
  ASSERT_EQ(bad_window.size(), 1u);
  EXPECT_NE(bad_window[0].find("expected \"START/END\" in RFC 3339"), std::string::npos);
  const auto probe =
      errors_of(checks + "notify:\n  - {name: a, type: command, command: [x], probes: [readyz]}\n");
  ASSERT_EQ(probe.size(), 1u) << ::testing::PrintToString(probe);
  const auto dur =
      errors_of(checks + "notify:\n  - {name: a, type: command, command: [x], for: soon}\n");
  ASSERT_EQ(dur.size(), 1u);
  EXPECT_NE(dur[0].find("notify[0].for"), std::string::npos) << dur[0];
  const auto not_list = errors_of(checks + "notify: {name: a}\n");
  ASSERT_EQ(not_list.size(), 1u);
  EXPECT_NE(not_list[0].find("notify: expected a list of mappings"), std::string::npos);
}

TEST(notify_config, a_bad_url_is_refused_without_showing_it) {
  const auto e = errors_of(checks + "notify:\n  - {name: a, type: webhook, url: ftp://SECRET}\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].find("url must start with http:// or https://"), std::string::npos) << e[0];
  EXPECT_EQ(e[0].find("SECRET"), std::string::npos) << e[0];
}

TEST(notify_config, a_url_without_host_is_refused) {
  const auto e = errors_of(checks + "notify:\n  - {name: a, type: webhook, url: \"https:///x\"}\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].find("url has no host"), std::string::npos) << e[0];
  EXPECT_TRUE(
      errors_of(checks + "notify:\n  - {name: a, type: webhook, url: \"http://h\"}\n").empty());
}

// The first YAML example of docs/notifications.md loads as it is.
TEST(notify_config, the_documented_example_loads) {
  std::ifstream in(std::string(VITALS_SOURCE_DIR) + "/docs/notifications.md");
  ASSERT_TRUE(in);
  const std::string text(std::istreambuf_iterator<char>(in), {});
  const auto start = text.find("```yaml\n");
  ASSERT_NE(start, std::string::npos);
  const auto end = text.find("```", start + 8);
  ::setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/X", 1);
  ::setenv("PAGERDUTY_ROUTING_KEY", "R0UT1NG", 1);
  ::setenv("ALERT_WEBHOOK_URL", "http://alerts.internal/hook", 1);
  const auto cfg = vitals::config::load_string(text.substr(start + 8, end - start - 8), "doc");
  ASSERT_EQ(cfg.notify.size(), 4u);
  EXPECT_EQ(cfg.notify[0].url, "https://hooks.slack.com/services/T/B/X");
  EXPECT_EQ(cfg.notify[1].routing_key, "R0UT1NG");
  EXPECT_EQ(cfg.notify[3].command.size(), 3u);
}

TEST(notify_config, rfc3339) {
  using vitals::config::parse_rfc3339;
  const auto t = parse_rfc3339("2026-01-01T00:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->time_since_epoch(), std::chrono::seconds{1'767'225'600});
  EXPECT_EQ(parse_rfc3339("2026-01-01T01:00:00+01:00"), t);
  EXPECT_EQ(parse_rfc3339("2026-01-01T00:00:00.250Z"), t);
  EXPECT_FALSE(parse_rfc3339("2026-01-01 00:00:00"));
  EXPECT_FALSE(parse_rfc3339("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-01-01T00:00:00"));
}

}  // namespace
