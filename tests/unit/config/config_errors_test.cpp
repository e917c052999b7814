// Invalid configurations and their exact diagnostics: what an operator sees must be precise.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "errors_of.hpp"
#include "vitals/config.hpp"

namespace {

using vitals_test::errors_of;

using list = std::vector<std::string>;

TEST(config_errors, unknown_check_key_suggests_the_closest) {
  EXPECT_EQ(errors_of("checks:\n"
                      "  - name: disk\n"
                      "    type: disk\n"
                      "    intervall: 5s\n"),
            list{"t.yaml:4:5: checks[0].intervall: unknown key \"intervall\" (did you mean "
                 "\"interval\"?)"});
}

TEST(config_errors, unknown_type_key_suggests_from_the_type_schema) {
  EXPECT_EQ(errors_of("checks:\n"
                      "  - name: disk\n"
                      "    type: disk\n"
                      "    warn_free_precent: 20\n"),
            list{"t.yaml:4:5: checks[0].warn_free_precent: unknown key \"warn_free_precent\" "
                 "(did you mean \"warn_free_percent\"?)"});
}

TEST(config_errors, unknown_top_level_key) {
  EXPECT_EQ(errors_of("listn: 127.0.0.1:9000\n"),
            list{"t.yaml:1:1: listn: unknown key \"listn\" (did you mean \"listen\"?)"});
}

TEST(config_errors, unknown_key_without_close_match_has_no_suggestion) {
  EXPECT_EQ(errors_of("log:\n  colour: true\n"),
            list{"t.yaml:2:3: log.colour: unknown key \"colour\""});
}

TEST(config_errors, unknown_check_type) {
  EXPECT_EQ(errors_of("checks:\n  - name: m\n    type: memroy\n"),
            list{"t.yaml:3:11: checks[0].type: unknown check type \"memroy\" (did you mean "
                 "\"memory\"?)"});
}

TEST(config_errors, duplicate_check_names) {
  EXPECT_EQ(errors_of("checks:\n"
                      "  - name: m\n"
                      "    type: memory\n"
                      "  - name: m\n"
                      "    type: load\n"),
            list{"t.yaml:4:11: checks[1].name: duplicate check name \"m\" (first defined at "
                 "line 2)"});
}

TEST(config_errors, timeout_not_shorter_than_interval) {
  EXPECT_EQ(errors_of("checks:\n"
                      "  - name: m\n"
                      "    type: memory\n"
                      "    interval: 5s\n"
                      "    timeout: 5s\n"),
            list{"t.yaml:5:14: checks[0].timeout: timeout (5s) must be shorter than interval "
                 "(5s)"});
}

TEST(config_errors, timeout_from_defaults_points_at_defaults) {
  EXPECT_EQ(errors_of("defaults:\n"
                      "  timeout: 1m\n"
                      "checks:\n"
                      "  - name: m\n"
                      "    type: memory\n"),
            list{"t.yaml:2:12: defaults.timeout: timeout (1m) must be shorter than interval "
                 "(10s)"});
}

TEST(config_errors, thresholds_below_one) {
  EXPECT_EQ(errors_of("checks:\n"
                      "  - name: m\n"
                      "    type: memory\n"
                      "    failure_threshold: 0\n"
                      "    success_threshold: -2\n"),
            (list{"t.yaml:4:24: checks[0].failure_threshold: must be at least 1 (got \"0\")",
                  "t.yaml:5:24: checks[0].success_threshold: must be at least 1 (got \"-2\")"}));
}

TEST(config_errors, dependency_check_in_live_without_allow_in_live) {
  EXPECT_EQ(errors_of("checks:\n"
                      "  - name: script\n"
                      "    type: exec\n"
                      "    command: /bin/true\n"
                      "    probes: [live, ready]\n"),
            list{"t.yaml:5:13: checks[0].probes: a exec check depends on something outside the "
                 "process and is refused in the live probe (a dead dependency would restart "
                 "every replica); set allow_in_live: true to insist"});
  EXPECT_TRUE(errors_of("checks:\n"
                        "  - name: script\n"
                        "    type: exec\n"
                        "    command: /bin/true\n"
                        "    probes: [live, ready]\n"
                        "    allow_in_live: true\n")
                  .empty());
}

TEST(config_errors, wrong_types) {
  EXPECT_EQ(errors_of("checks:\n"
                      "  - name: m\n"
                      "    type: memory\n"
                      "    critical: maybe\n"
                      "    interval: 5\n"
                      "    jitter: lots\n"
                      "    probes: {live: true}\n"),
            (list{"t.yaml:4:15: checks[0].critical: expected true or false (got \"maybe\")",
                  "t.yaml:5:15: checks[0].interval: expected a duration like \"5s\", \"250ms\" or "
                  "\"1m30s\" (got \"5\")",
                  "t.yaml:6:13: checks[0].jitter: expected a number (got \"lots\")",
                  "t.yaml:7:13: checks[0].probes: expected a list of strings, got a mapping"}));
}

TEST(config_errors, missing_name_and_type) {
  EXPECT_EQ(errors_of("checks:\n  - interval: 5s\n"),
            (list{"t.yaml:2:5: checks[0]: missing required key \"name\"",
                  "t.yaml:2:5: checks[0]: missing required key \"type\""}));
}

TEST(config_errors, missing_required_type_key) {
  EXPECT_EQ(errors_of("checks:\n  - name: hb\n    type: file\n"),
            list{"t.yaml:2:5: checks[0]: missing required key \"path\""});
}

TEST(config_errors, unset_environment_variable) {
  ::unsetenv("VITALS_TEST_NOT_SET");
  EXPECT_EQ(errors_of("auth:\n  token: ${VITALS_TEST_NOT_SET}\n"),
            list{"t.yaml:2:10: auth.token: environment variable VITALS_TEST_NOT_SET is not set "
                 "(write ${VITALS_TEST_NOT_SET:-default} to give a default)"});
}

TEST(config_errors, unreadable_secret_file) {
  EXPECT_EQ(errors_of("auth:\n  token_file: /nonexistent/vitals/token\n"),
            list{"t.yaml:2:15: auth.token_file: cannot read secret file "
                 "\"/nonexistent/vitals/token\": No such file or directory"});
}

TEST(config_errors, secret_and_secret_file_together) {
  EXPECT_EQ(errors_of("auth:\n  token: abc\n  token_file: /dev/null\n"),
            list{"t.yaml:3:3: auth.token_file: both \"token\" and \"token_file\" are set; use "
                 "one"});
}

TEST(config_errors, malformed_listen) {
  EXPECT_EQ(errors_of("listen: localhost\n"),
            list{"t.yaml:1:9: listen: expected \"address:port\", e.g. \"127.0.0.1:8081\" or "
                 "\"[::1]:8081\" (got \"localhost\")"});
  EXPECT_EQ(errors_of("listen: 127.0.0.1:70000\n"),
            list{"t.yaml:1:9: listen: port 70000 is out of range (0-65535)"});
}

TEST(config_errors, bad_choice_suggests) {
  EXPECT_EQ(errors_of("log:\n  format: jsn\n"),
            list{"t.yaml:2:11: log.format: must be one of text, json (got \"jsn\"); did you mean "
                 "\"json\"?"});
}

TEST(config_errors, bad_probe_name) {
  EXPECT_EQ(errors_of("checks:\n  - name: m\n    type: memory\n    probes: [ready, startp]\n"),
            list{"t.yaml:4:21: checks[0].probes: must be one of live, ready, startup (got "
                 "\"startp\"); did you mean \"startup\"?"});
}

// An empty list is a monitored target, in no probe; but an on_demand check would never run.
TEST(config_errors, empty_probe_list) {
  EXPECT_TRUE(errors_of("checks:\n  - name: m\n    type: memory\n    probes: []\n").empty());
  EXPECT_EQ(
      errors_of("checks:\n  - name: m\n    type: memory\n    probes: []\n    mode: on_demand\n"),
      list{"t.yaml:4:13: checks[0].probes: an on_demand check must list at least one of live, "
           "ready, startup"});
}

TEST(config_errors, drain_delay_not_shorter_than_grace_period) {
  EXPECT_EQ(errors_of("shutdown:\n  drain_delay: 30s\n  grace_period: 10s\n"),
            list{"t.yaml:2:16: shutdown.drain_delay: drain_delay (30s) must be shorter than "
                 "grace_period (10s)"});
}

TEST(config_errors, tls_keys_that_only_make_sense_together) {
  EXPECT_EQ(errors_of("server:\n  tls:\n    cert_file: /tls/tls.crt\n"),
            list{"t.yaml:2:3: server.tls: tls.cert_file is set but tls.key_file is not"});
  EXPECT_EQ(errors_of("server:\n  tls:\n    cert_file: /c\n    key_file: /k\n"
                      "    require_client_cert: true\n"),
            list{"t.yaml:2:3: server.tls: tls.require_client_cert needs tls.client_ca_file"});
  EXPECT_EQ(errors_of("server:\n  tls:\n    min_version: \"1.3\"\n"),
            list{"t.yaml:2:3: server.tls: tls needs cert_file (and key_file) to turn HTTPS on"});
  EXPECT_EQ(errors_of("server:\n  tls:\n    min_version: \"1.1\"\n").size(), 1U);
}

TEST(config_errors, event_heartbeat_between_a_second_and_an_hour) {
  EXPECT_EQ(errors_of("server:\n  event_heartbeat: 100ms\n"),
            list{"t.yaml:2:20: server.event_heartbeat: event_heartbeat must be between 1s and 1h"});
  EXPECT_EQ(errors_of("server:\n  event_heartbeat: 2h\n").size(), 1U);
  EXPECT_TRUE(errors_of("server:\n  event_heartbeat: 5s\n  max_event_streams: 8\n").empty());
  EXPECT_EQ(errors_of("server:\n  max_event_streams: 0\n").size(), 1U);
}

TEST(config_errors, duplicate_yaml_key) {
  EXPECT_EQ(errors_of("checks:\n"
                      "  - name: m\n"
                      "    type: memory\n"
                      "    interval: 5s\n"
                      "    interval: 6s\n"),
            list{"t.yaml:5:5: checks[0].interval: duplicate key (first set at line 4)"});
}

TEST(config_errors, invalid_check_name) {
  EXPECT_EQ(errors_of("checks:\n  - name: my check\n    type: memory\n"),
            list{"t.yaml:2:11: checks[0].name: invalid check name \"my check\" (1 to 64 "
                 "characters among A-Z a-z 0-9 _ . -)"});
}

TEST(config_errors, out_of_range_integer) {
  EXPECT_EQ(errors_of("http:\n  status_codes: {fail: 99}\n"),
            list{"t.yaml:2:24: http.status_codes.fail: must be at least 100 (got \"99\")"});
}

TEST(config_errors, factory_rejection_is_reported_at_the_check) {
  const auto errs = errors_of(
      "checks:\n"
      "  - name: d\n"
      "    type: disk\n"
      "    warn_free_percent: 5\n"
      "    fail_free_percent: 20\n");
  ASSERT_EQ(errs.size(), 1U);
  EXPECT_EQ(errs[0].rfind("t.yaml:2:5: checks[0]: ", 0), 0U) << errs[0];
}

TEST(config_errors, syntax_error_has_a_position) {
  EXPECT_EQ(errors_of("checks:\n  - name: [unclosed\n"),
            list{"t.yaml:3:1: (document): end of sequence flow not found"});
}

TEST(config_errors, every_error_is_collected_in_line_order) {
  const auto errs = errors_of(
      "listen: nowhere\n"
      "checks:\n"
      "  - name: a\n"
      "    type: memory\n"
      "    timout: 1s\n"
      "  - name: b\n"
      "    type: nosuch\n"
      "log:\n"
      "  level: loud\n");
  ASSERT_EQ(errs.size(), 4U);
  EXPECT_NE(errs[0].find("t.yaml:1:9: listen:"), std::string::npos);
  EXPECT_EQ(errs[1],
            "t.yaml:5:5: checks[0].timout: unknown key \"timout\" (did you mean \"timeout\"?)");
  EXPECT_NE(errs[2].find("t.yaml:7:11: checks[1].type: unknown check type \"nosuch\" (known "
                         "types: "),
            std::string::npos);
  EXPECT_EQ(errs[3],
            "t.yaml:9:10: log.level: must be one of trace, debug, info, warn, error, critical, off "
            "(got \"loud\")");
}

TEST(config_errors, values_from_the_environment_are_not_echoed) {
  ::setenv("VITALS_TEST_SECRETISH", "hunter2hunter2", 1);
  const auto errs = errors_of(
      "checks:\n  - name: m\n    type: memory\n"
      "    interval: ${VITALS_TEST_SECRETISH}\n");
  ASSERT_EQ(errs.size(), 1U);
  EXPECT_EQ(errs[0].find("hunter2"), std::string::npos) << errs[0];
  EXPECT_NE(errs[0].find("${VITALS_TEST_SECRETISH}"), std::string::npos) << errs[0];
}

TEST(config_errors, secret_values_are_never_echoed) {
  const auto errs = errors_of(
      "checks:\n  - name: r\n    type: redis\n"
      "    url: redis://127.0.0.1:6379\n"
      "    password: [hunter2hunter2]\n");
  ASSERT_EQ(errs.size(), 1U);
  EXPECT_EQ(errs[0], "t.yaml:5:15: checks[0].password: expected a string, got a list");
}

TEST(config_errors, empty_document) {
  EXPECT_EQ(errors_of(""), list{"t.yaml:1:1: (document): the configuration is empty (expected a "
                                "mapping with listen, checks, ...)"});
  EXPECT_EQ(errors_of("- a\n- b\n"),
            list{"t.yaml:1:1: (document): expected a mapping, got a list"});
}

// ---- hostile input ---------------------------------------------------------------------------

TEST(config_hostile, file_larger_than_four_mib_is_refused_before_parsing) {
  std::string big = "# ";
  big.append(std::size_t{4} * 1024 * 1024, 'x');
  EXPECT_EQ(errors_of(big),
            list{"t.yaml:0:0: (document): file is 4194306 bytes; the limit is 4 MiB"});
}

TEST(config_hostile, alias_bomb_is_refused) {
  // "Billion laughs": 10^9 nodes once expanded, a few hundred bytes of text.
  std::string y = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    y += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) y += (j == 0 ? "*a" : ", *a") + std::to_string(i - 1);
    y += "]\n";
  }
  const auto errs = errors_of(y);
  ASSERT_EQ(errs.size(), 1U);
  EXPECT_NE(errs[0].find("(document): the document expands to more than 2000000 nodes (alias "
                         "bomb?); refused"),
            std::string::npos)
      << errs[0];
}

TEST(config_hostile, deep_nesting_is_refused) {
  const std::string y = "checks: " + std::string(100, '[') + std::string(100, ']') + "\n";
  const auto errs = errors_of(y);
  ASSERT_EQ(errs.size(), 1U);
  EXPECT_NE(errs[0].find("(document): nesting deeper than 32 levels; refused"), std::string::npos)
      << errs[0];
}

TEST(config_hostile, very_deep_nesting_does_not_overflow_the_stack) {
  const std::string y = "a: " + std::string(200'000, '[') + "\n";
  const auto errs = errors_of(y);
  ASSERT_EQ(errs.size(), 1U);
  EXPECT_NE(errs[0].find("(document): "), std::string::npos) << errs[0];
}

// storage: the history's own rules, pointed at the section.
TEST(config_errors, storage_rules) {
  EXPECT_EQ(errors_of("storage: {sqlite: {raw_per_target: 5}}\n"),
            list{"t.yaml:1:10: storage.sqlite: a path is required (the SQLite file, e.g. "
                 "/var/lib/vitalsd/history.db)"});
  EXPECT_EQ(errors_of("storage: {sqlite: {path: /x.db, keep_minutes: 30m}}\n"),
            list{"t.yaml:1:10: storage.sqlite.keep_minutes: keep_minutes must be at least 1h"});
  EXPECT_EQ(errors_of("storage: {sqlite: {path: /x.db, keep_minutes: 100d}}\n"),
            list{"t.yaml:1:10: storage.sqlite: retention must grow with the bucket: "
                 "keep_minutes <= keep_hours <= keep_days"});
  EXPECT_EQ(errors_of("storage: {sqlite: {path: /x.db, flush_interval: 5ms}}\n"),
            list{"t.yaml:1:10: storage.sqlite.flush_interval: flush_interval must be between "
                 "10ms and 1m"});
  EXPECT_EQ(errors_of("storage: {sqlte: {path: /x.db}}\n"),
            list{"t.yaml:1:11: storage.sqlte: unknown key \"sqlte\" (did you mean \"sqlite\"?)"});
  EXPECT_EQ(errors_of("storage: {sqlite: {path: /x.db}}\n"
                      "checks:\n"
                      "  - {name: storage, type: memory}\n"),
            list{"t.yaml:1:10: storage.sqlite: with storage, the check name \"storage\" is "
                 "vitalsd's own (the history's health in readiness): rename that check"});
  // PostgreSQL: one store at a time, a url, a schema that is an identifier; the url (a
  // secret) is never echoed.
  EXPECT_EQ(errors_of("storage:\n  sqlite: {path: /x.db}\n"
                      "  postgres: {url: \"postgresql://u:hunter2@db/m\"}\n"),
            list{"t.yaml:2:3: storage.postgres: one store at a time: sqlite or postgres, not "
                 "both"});
  EXPECT_EQ(errors_of("storage: {postgres: {schema: hist}}\n"),
            list{"t.yaml:1:10: storage.postgres: a url is required "
                 "(postgresql://user@host:5432/db)"});
  EXPECT_EQ(errors_of("storage: {postgres: {url: \"postgresql://u:hunter2@db/m\", "
                      "schema: \"Bad-Name\"}}\n"),
            list{"t.yaml:1:10: storage.postgres.schema: schema must be a lower-case identifier "
                 "(letters, digits, _; at most 63, not starting with a digit)"});
  EXPECT_EQ(errors_of("storage: {postgres: {url: \"postgresql://u:hunter2@db/m\", "
                      "keep_days: 30m}}\n"),
            list{"t.yaml:1:10: storage.postgres.keep_days: keep_days must be at least 1h"});
  for (const auto& e :
       errors_of("storage: {postgres: {url: [\"postgresql://u:hunter2@db/m\"]}}\n")) {
    EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  }
}

}  // namespace
