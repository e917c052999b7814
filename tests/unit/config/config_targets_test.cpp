// `targets:` groups: lists of URLs, host:ports or mappings expanding into checks of one type,
// with shared keys and labels, and their diagnostics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "errors_of.hpp"
#include "vitals/config.hpp"
#include "vitals/status.hpp"

namespace {

using namespace std::chrono_literals;
using list = std::vector<std::string>;
using testing::HasSubstr;
using testing::Not;
using vitals::config::daemon_config;

using vitals_test::errors_of;

std::vector<std::string> names_of(const daemon_config& cfg) {
  std::vector<std::string> out;
  for (const auto& c : cfg.checks) out.push_back(c.name);
  return out;
}

TEST(config_targets, strings_expand_into_checks_of_the_group_type_with_its_keys) {
  const auto cfg = vitals::config::load_string(
      "defaults: {interval: 20s}\n"
      "targets:\n"
      "  - group: web\n"
      "    type: http\n"
      "    labels: {team: edge, env: prod}\n"
      "    timeout: 3s\n"
      "    expected_status: 200-399\n"
      "    targets:\n"
      "      - http://a.example.com/\n"
      "      - https://b.example.com:8443/api/v1/health\n"
      "      - {name: c-special, url: http://c.example.com/, timeout: 1s, probes: [ready]}\n"
      "  - group: db\n"
      "    type: tcp\n"
      "    targets: [10.0.0.5:5432, \"[::1]:6379\"]\n"
      "  - group: certs\n"
      "    type: tls\n"
      "    targets: [example.com, example.org:8443]\n",
      "t.yaml");
  EXPECT_EQ(names_of(cfg), (list{"web.a.example.com", "web.b.example.com_8443_api_v1_health",
                                 "web.c-special", "db.10.0.0.5_5432", "db.__1_6379",
                                 "certs.example.com", "certs.example.org_8443"}));
  const auto& a = cfg.checks[0];
  EXPECT_EQ(a.type, "http");
  EXPECT_EQ(a.group, "web");
  EXPECT_EQ(a.labels,
            (std::vector<std::pair<std::string, std::string>>{{"env", "prod"}, {"team", "edge"}}));
  EXPECT_EQ(a.options.interval, 20s);  // defaults still apply
  EXPECT_EQ(a.options.timeout, 3s);    // the group's keys apply to each target
  EXPECT_EQ(a.options.probes, vitals::probe_set{}) << "targets are monitored, not probes";
  const auto& c = cfg.checks[2];
  EXPECT_EQ(c.options.timeout, 1s);  // a target's own keys override the group's
  EXPECT_EQ(c.options.probes, vitals::probe_set{vitals::probe::ready});
  EXPECT_EQ(cfg.checks[3].group, "db");
  EXPECT_TRUE(cfg.checks[3].labels.empty());
  // Different targets, different settings: told apart on reload.
  EXPECT_NE(cfg.checks[0].fingerprint, cfg.checks[1].fingerprint);
}

TEST(config_targets, names_never_carry_a_urls_password) {
  const auto cfg = vitals::config::load_string(
      "targets:\n"
      "  - {group: cache, type: redis, targets: [\"redis://:hunter2secret@10.1.1.1:6379/0\"]}\n",
      "t.yaml");
  ASSERT_EQ(cfg.checks.size(), 1U);
  EXPECT_EQ(cfg.checks[0].name, "cache.10.1.1.1_6379_0");
  EXPECT_THAT(cfg.checks[0].name, Not(HasSubstr("hunter2")));
}

TEST(config_targets, a_label_change_is_not_a_check_change) {
  const auto one = vitals::config::load_string(
      "targets: [{group: g, type: tcp, labels: {team: a}, targets: [h:1]}]\n", "t.yaml");
  const auto two = vitals::config::load_string(
      "targets: [{group: g, type: tcp, labels: {team: b}, targets: [h:1]}]\n", "t.yaml");
  EXPECT_TRUE(one.checks[0].same_check(two.checks[0]));
  EXPECT_NE(one.checks[0].labels, two.checks[0].labels);
}

TEST(config_targets, mistakes_are_pointed_at) {
  EXPECT_EQ(errors_of("targets:\n"
                      "  - group: web\n"
                      "    type: http\n"
                      "    targets: [http://a/, http://a/]\n"),
            list{"t.yaml:4:26: targets[0].targets[1]: duplicate check name \"web.a\" (first "
                 "defined at line 4)"});
}

TEST(config_targets, group_level_diagnostics) {
  EXPECT_THAT(errors_of("targets: [{type: tcp, targets: [h:1]}]\n"),
              testing::ElementsAre(HasSubstr("missing required key \"group\"")));
  EXPECT_THAT(errors_of("targets: [{group: a.b, type: tcp, targets: [h:1]}]\n"),
              testing::ElementsAre(HasSubstr("invalid group name \"a.b\"")));
  EXPECT_THAT(
      errors_of("targets: [{group: g, type: tpc, targets: [h:1]}]\n"),
      testing::ElementsAre(HasSubstr("unknown check type \"tpc\" (did you mean \"tcp\"?)")));
  EXPECT_THAT(errors_of("targets: [{group: g, type: tcp}]\n"),
              testing::ElementsAre(HasSubstr("missing required key \"targets\"")));
  EXPECT_THAT(errors_of("targets: [{group: g, type: tcp, targets: []}]\n"),
              testing::ElementsAre(HasSubstr("got an empty list")));
  EXPECT_THAT(errors_of("targets: [{group: g, type: tcp, targets: [h:1]},\n"
                        "          {group: g, type: tcp, targets: [i:1]}]\n"),
              testing::ElementsAre(HasSubstr("duplicate group \"g\" (first at line 1)")));
  EXPECT_THAT(errors_of("targets: [{group: g, type: tcp, labels: {check: x}, targets: [h:1]}]\n"),
              testing::ElementsAre(HasSubstr("invalid label name \"check\"")));
  EXPECT_THAT(errors_of("targets: [{group: g, type: tcp, labels: {9lives: x}, targets: [h:1]}]\n"),
              testing::ElementsAre(HasSubstr("invalid label name \"9lives\"")));
  EXPECT_THAT(
      errors_of("targets: [{group: g, type: tcp, intervall: 5s, targets: [h:1]}]\n"),
      testing::ElementsAre(HasSubstr("unknown key \"intervall\" (did you mean \"interval\"?)")));
}

TEST(config_targets, target_level_diagnostics) {
  EXPECT_EQ(errors_of("targets:\n"
                      "  - group: g\n"
                      "    type: tcp\n"
                      "    targets: [nohost]\n"),
            list{"t.yaml:4:15: targets[0].targets[0]: missing required key \"port\""});
  EXPECT_THAT(errors_of("targets: [{group: g, type: tcp, targets: [\"h:99999\"]}]\n"),
              testing::ElementsAre(HasSubstr("expected host:port or [v6]:port")));
  EXPECT_THAT(errors_of("targets: [{group: g, type: http, targets: [not-a-url]}]\n"),
              testing::ElementsAre(HasSubstr("expected a URL")));
  EXPECT_THAT(errors_of("targets: [{group: g, type: memory, targets: [x]}]\n"),
              testing::ElementsAre(HasSubstr("are written as mappings")));
  EXPECT_THAT(errors_of("targets: [{group: g, type: tcp, targets: [{type: udp, host: h}]}]\n"),
              testing::ElementsAre(HasSubstr("a target's type is its group's (tcp)")));
  EXPECT_THAT(errors_of("targets: [{group: g, type: tcp, targets: [{port: 1}]}]\n"),
              testing::ElementsAre(HasSubstr("missing key \"name\"")));
  EXPECT_THAT(errors_of("targets: [{group: g, type: http, targets: [\"http://" +
                        std::string(70, 'a') + "/\"]}]\n"),
              testing::ElementsAre(HasSubstr("would be over 64 characters")));
  // Paths lose their slashes at the ends.
  const auto disks = vitals::config::load_string(
      "targets: [{group: disks, type: disk, targets: [/, /var/lib/app/]}]\n", "t.yaml");
  EXPECT_EQ(names_of(disks), (list{"disks.root", "disks.var_lib_app"}));
  // A target as a mapping names itself after its host and port when it has no name.
  const auto cfg = vitals::config::load_string(
      "targets: [{group: g, type: tcp, targets: [{host: h, port: 22, send: x}]}]\n", "t.yaml");
  EXPECT_EQ(names_of(cfg), list{"g.h_22"});
}

TEST(config_targets, names_collide_with_checks_like_any_other) {
  EXPECT_THAT(errors_of("checks: [{name: g.h_1, type: tcp, host: h, port: 1}]\n"
                        "targets: [{group: g, type: tcp, targets: [h:1]}]\n"),
              testing::ElementsAre(HasSubstr("duplicate check name \"g.h_1\"")));
}

}  // namespace
