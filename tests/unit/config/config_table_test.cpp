// The section table is data, and the registry is the one judge of a check: its errors are
// pointed at the key they name.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "config/sections.hpp"
#include "errors_of.hpp"
#include "vitals/config.hpp"

namespace {

namespace detail = vitals::config::detail;

using vitals_test::errors_of;

using list = std::vector<std::string>;

TEST(config_table, every_row_is_complete_and_named_once) {
  std::set<std::string> names;
  vitals::config::daemon_config cfg;
  detail::document doc{.cfg = cfg};
  for (const auto& row : detail::top_level()) {
    EXPECT_TRUE(names.insert(row.name).second) << row.name;
    EXPECT_FALSE(row.doc.empty()) << row.name;
    switch (row.shape) {
      case detail::section_shape::mapping:
        ASSERT_NE(row.section, nullptr) << row.name;
        EXPECT_EQ(row.section->name, row.name);
        ASSERT_TRUE(row.bind) << row.name;
        EXPECT_NE(row.bind(doc), nullptr) << row.name;
        break;
      case detail::section_shape::scalar:
        EXPECT_TRUE(row.parse) << row.name;
        EXPECT_FALSE(row.expects.empty()) << row.name;
        break;
      case detail::section_shape::check_list:
      case detail::section_shape::target_groups:
        EXPECT_EQ(row.section, nullptr) << row.name;
        break;
      case detail::section_shape::mapping_list:
        ASSERT_NE(row.section, nullptr) << row.name;
        EXPECT_EQ(row.section->name, row.name);
        ASSERT_TRUE(row.append) << row.name;
        EXPECT_NE(row.append(doc, 1), nullptr) << row.name;
        break;
    }
  }
  EXPECT_TRUE(names.contains("checks"));
  EXPECT_TRUE(names.contains("listen"));
}

TEST(config_table, rows_fill_what_they_configure) {
  const auto cfg = vitals::config::load_string(
      "listen: \"[::1]:9001\"\n"
      "server: {io_threads: 2}\n"
      "http: {prefix: /_h, status_codes: {warn: 299}}\n"
      "auth: {token: abc}\n"
      "engine: {max_threads: 3}\n"
      "shutdown: {drain_delay: 1s}\n"
      "log: {level: debug}\n"
      "service: {id: orders}\n");
  EXPECT_EQ(cfg.server.address, "::1");
  EXPECT_EQ(cfg.server.port, 9001);
  EXPECT_EQ(cfg.server.io_threads, 2U);
  EXPECT_EQ(cfg.http.prefix, "/_h");
  EXPECT_EQ(cfg.http.codes.warn, 299);
  EXPECT_EQ(cfg.http.codes.fail, 503);
  EXPECT_EQ(cfg.http.token, "abc");
  EXPECT_EQ(cfg.max_threads, 3U);
  EXPECT_EQ(cfg.shutdown.drain_delay, std::chrono::seconds{1});
  EXPECT_EQ(cfg.log.level, "debug");
  EXPECT_EQ(cfg.info.service_id, "orders");
}

TEST(config_table, engine_self_check_keys_and_its_reserved_name) {
  const auto cfg = vitals::config::load_string("engine: {self_check: true, lag_warn: 250ms}\n");
  EXPECT_TRUE(cfg.self_check);
  EXPECT_EQ(cfg.lag_warn, std::chrono::milliseconds{250});
  const auto off = vitals::config::load_string("checks: [{name: engine, type: memory}]\n");
  EXPECT_FALSE(off.self_check);  // without it the name is free
  EXPECT_EQ(off.lag_warn, std::chrono::milliseconds{100});
  EXPECT_EQ(errors_of("engine: {self_check: true}\nchecks:\n  - {name: engine, type: memory}\n"),
            list{"t.yaml:3:1: checks[0].name: the name \"engine\" is the engine's own check "
                 "(engine.self_check: true); rename this check"});
}

TEST(config_table, registry_errors_point_at_their_key) {
  // jitter 1 passes the schema's bounds ([0, 1]) and is refused by the registry ([0, 1)).
  EXPECT_EQ(errors_of("checks:\n  - name: m\n    type: memory\n    jitter: 1\n"),
            list{"t.yaml:4:13: checks[0].jitter: jitter must be in [0, 1) (got 1.000000)"});
  EXPECT_EQ(errors_of("checks:\n  - name: m\n    type: memory\n    interval: 0\n"),
            (list{"t.yaml:2:5: checks[0]: timeout (2s) must be shorter than interval (0ms)",
                  "t.yaml:4:15: checks[0].interval: interval must be positive (got 0ms)"}));
  EXPECT_EQ(errors_of("defaults:\n  probes: [live]\nchecks:\n"
                      "  - {name: x, type: exec, command: /bin/true}\n"),
            list{"t.yaml:2:11: defaults.probes: a exec check depends on something outside the "
                 "process and is refused in the live probe (a dead dependency would restart "
                 "every replica); set allow_in_live: true to insist"});
}

TEST(config_table, duplicate_names_point_at_the_first_name) {
  EXPECT_EQ(errors_of("checks:\n"
                      "  - type: memory\n"
                      "    name: m\n"
                      "  - {name: m, type: load}\n"),
            list{"t.yaml:4:12: checks[1].name: duplicate check name \"m\" (first defined at "
                 "line 3)"});
}

TEST(config_table, equal_options_compare_equal) {
  const auto a = vitals::config::load_string("listen: 127.0.0.1:9000\nhttp: {prefix: /x}\n");
  auto b = vitals::config::load_string("http: {prefix: /x}\nlisten: 127.0.0.1:9000\n");
  EXPECT_EQ(a.server, b.server);
  EXPECT_EQ(a.http, b.http);
  b.http.codes.unknown = 200;
  EXPECT_NE(a.http, b.http);
}

}  // namespace
