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
          "    groups: [web, \"db-*\"]\n"
          "    probes: [ready]\n"
          "    severity: critical\n"
          "    for: 30s\n"
          "    repeat_every: 1h\n"
          "    send_on_resolved: false\n"
          "    group_wait: 10s\n"
          "    group_by: group\n"
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
  EXPECT_EQ(n.groups, (std::vector<std::string>{"web", "db-*"}));
  EXPECT_EQ(n.group_by, "group");
  EXPECT_EQ(cfg.notify[1].group_by, "none");
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
  EXPECT_EQ(
      errors_of(checks + "notify:\n  - {name: a, type: webhok, url: http://x/}\n"),
      (std::vector<std::string>{"t.yaml:4:21: notify[0].type: must be one of webhook, "
                                "slack, teams, pagerduty, email, command (got \"webhok\"); did "
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

TEST(notify_config, email_reads_its_keys_and_password_file) {
  const std::string dir = ::testing::TempDir();
  const std::string pw = dir + "/smtp_password";
  { std::ofstream(pw) << "s3cret-pw\n"; }
  const auto cfg = vitals::config::load_string(
      checks +
          "notify:\n  - name: mail\n    type: email\n    url: smtp://mail.example.com:587\n"
          "    username: alerts\n    password_file: " +
          pw +
          "\n    from: \"Vitals <alerts@example.com>\"\n    to: [oncall@example.com, "
          "ops@example.com]\n    ca_file: /etc/ssl/mail.pem\n",
      "t.yaml");
  ASSERT_EQ(cfg.notify.size(), 1u);
  const auto& n = cfg.notify[0];
  EXPECT_EQ(n.type, "email");
  EXPECT_EQ(n.url, "smtp://mail.example.com:587");
  EXPECT_EQ(n.username, "alerts");
  EXPECT_EQ(n.password, "s3cret-pw");
  EXPECT_EQ(n.tls, "starttls");
  EXPECT_EQ(n.from, "Vitals <alerts@example.com>");
  EXPECT_EQ(n.to, (std::vector<std::string>{"oncall@example.com", "ops@example.com"}));
  EXPECT_EQ(n.ca_file, "/etc/ssl/mail.pem");
}

TEST(notify_config, email_diagnostics_never_show_the_password) {
  const std::string mail = checks + "notify:\n  - {name: m, type: email, ";
  const auto first = [](const std::vector<std::string>& e) {
    return e.empty() ? std::string{} : e[0];
  };
  EXPECT_NE(first(errors_of(mail + "from: a@b, to: [c@d]}\n")).find("needs url: smtp://"),
            std::string::npos);
  EXPECT_NE(first(errors_of(mail + "url: http://x, from: a@b, to: [c@d]}\n"))
                .find("url must start with smtp:// or smtps://"),
            std::string::npos);
  EXPECT_NE(first(errors_of(mail + "url: smtp://x, to: [c@d]}\n")).find("needs from"),
            std::string::npos);
  EXPECT_NE(first(errors_of(mail + "url: smtp://x, from: a@b}\n")).find("needs to"),
            std::string::npos);
  EXPECT_NE(first(errors_of(mail + "url: smtp://x, from: a@b, to: [c@d], username: u}\n"))
                .find("notify[0].username: username and password go together"),
            std::string::npos);
  const auto clear = first(errors_of(
      mail + "url: smtp://x, from: a@b, to: [c@d], username: u, password: PW-9, tls: none}\n"));
  EXPECT_NE(clear.find("notify[0].tls: tls: none would send the password in the clear"),
            std::string::npos)
      << clear;
  EXPECT_EQ(clear.find("PW-9"), std::string::npos);
  EXPECT_NE(first(errors_of(mail + "url: smtps://x, from: a@b, to: [c@d], tls: none}\n"))
                .find("contradicts"),
            std::string::npos);
  EXPECT_NE(first(errors_of(checks +
                            "notify:\n  - {name: a, type: webhook, url: http://x/, to: [c@d]}\n"))
                .find("notify[0].to: to is for email only"),
            std::string::npos);
  EXPECT_TRUE(errors_of(mail + "url: smtp://x:25, from: a@b, to: [c@d], tls: none}\n").empty());
}

TEST(notify_config, recurring_maintenance_windows) {
  const auto cfg = vitals::config::load_string(
      checks +
          "notify:\n  - {name: a, type: command, command: [x], maintenance: "
          "[\"0 2 * * SUN for 2h\", \"@daily for 90m\", "
          "\"2026-12-24T00:00:00Z/2026-12-27T00:00:00Z\"]}\n",
      "t.yaml");
  ASSERT_EQ(cfg.notify[0].maintenance.size(), 3u);
  const auto weekly = vitals::config::parse_maintenance(cfg.notify[0].maintenance[0]);
  ASSERT_TRUE(weekly);
  EXPECT_EQ(weekly->every, "0 2 * * SUN");
  EXPECT_EQ(weekly->length, 2h);
  EXPECT_EQ(vitals::config::parse_maintenance("@daily for 90m")->length, 90min);
  const auto once = vitals::config::parse_maintenance(cfg.notify[0].maintenance[2]);
  ASSERT_TRUE(once);
  EXPECT_TRUE(once->every.empty());
  EXPECT_EQ(once->end - once->start, 72h);
  const auto bad = [](const std::string& w) {
    return errors_of(checks +
                     "notify:\n  - {name: a, type: command, command: [x], maintenance: "
                     "[\"" +
                     w + "\"]}\n");
  };
  const auto hour = bad("0 24 * * * for 1h");
  ASSERT_EQ(hour.size(), 1u);
  EXPECT_NE(hour[0].find("notify[0].maintenance: maintenance \"0 24 * * * for 1h\": field 2 "
                         "(hour): 24 is out of range 0-23"),
            std::string::npos)
      << hour[0];
  const auto length = bad("0 2 * * * for 30s");
  ASSERT_EQ(length.size(), 1u);
  EXPECT_NE(length[0].find("whole minutes from 1m to 31d"), std::string::npos) << length[0];
  EXPECT_EQ(bad("0 2 * * * for 32d").size(), 1u);
  EXPECT_EQ(bad("0 2 * * * for soon").size(), 1u);
}

TEST(notify_config, an_item_that_is_not_a_mapping_does_not_shift_the_names) {
  // Found by fuzz_config: the duplicate-name check looked up the item by its position in the
  // YAML list, which counts the scalar, past the end of the notifiers read (heap overflow).
  const auto e = errors_of(checks +
                           "notify:\n  - {name: a, type: command, command: [x]}\n  - oops\n"
                           "  - {name: a, type: command, command: [y]}\n"
                           "  - {name: b, type: command, command: [z]}\n");
  ASSERT_EQ(e.size(), 2u) << ::testing::PrintToString(e);
  EXPECT_NE(e[0].find("notify[1]: expected a mapping"), std::string::npos) << e[0];
  EXPECT_NE(e[1].find("notify[2].name: duplicate name \"a\" (first at line 4)"), std::string::npos)
      << e[1];
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
  ::setenv("SMTP_PASSWORD", "smtp-pw", 1);
  const auto cfg = vitals::config::load_string(text.substr(start + 8, end - start - 8), "doc");
  ASSERT_EQ(cfg.notify.size(), 5u);
  EXPECT_EQ(cfg.notify[4].type, "email");
  EXPECT_EQ(cfg.notify[4].password, "smtp-pw");
  EXPECT_EQ(cfg.notify[0].maintenance.size(), 2u);
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
