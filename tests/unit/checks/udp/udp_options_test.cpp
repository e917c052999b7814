// The udp type without a network: option validation, traits, its descriptor (URL form, keys)
// and a `type: udp` check in a configuration file.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "checks/types.hpp"
#include "vitals/checks/udp.hpp"
#include "vitals/config.hpp"

namespace vitals::checks {
namespace {

using namespace std::chrono_literals;

TEST(udp_options, validation) {
  EXPECT_THROW((void)udp({.port = 53}), std::invalid_argument);
  EXPECT_THROW((void)udp({.host = "h"}), std::invalid_argument);
  EXPECT_THROW((void)udp({.host = "h", .port = 1, .icmp_wait = -1ms}), std::invalid_argument);
  EXPECT_THROW((void)udp({.host = "[]", .port = 1}), std::invalid_argument);
  EXPECT_NO_THROW((void)udp({.host = "[::1]", .port = 1}));
  EXPECT_NO_THROW((void)udp({.host = "h", .port = 1, .icmp_wait = 0ms}));
}

TEST(udp_options, traits) {
  const auto t = udp({.host = "h", .port = 1})->traits();
  EXPECT_EQ(t.type, "udp");
  EXPECT_EQ(t.component_type, "component");
  EXPECT_EQ(t.measurement, "responseTime");
  EXPECT_TRUE(t.dependency);
  EXPECT_TRUE(t.secrets.empty());
}

TEST(udp_descriptor, url_form) {
  const auto* t = type_for_scheme("udp");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->name(), "udp");
  EXPECT_FALSE(t->process_local);
  EXPECT_EQ(t->loading, schema::loading::lazy);
  ASSERT_TRUE(t->from_url);
  EXPECT_EQ(t->from_url("udp://127.0.0.1:8125")->traits().type, "udp");
  EXPECT_EQ(t->from_url("udp://[::1]:53")->traits().type, "udp");
  try {
    (void)t->from_url("udp://127.0.0.1");
    ADD_FAILURE() << "a URL without a port was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string{e.what()}.find("expected udp://host:port"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW((void)t->from_url("udp://:53"), std::invalid_argument);
}

TEST(udp_descriptor, keys) {
  const auto* t = type_for_scheme("udp");
  ASSERT_NE(t, nullptr);
  const auto& s = t->spec.section;
  for (const char* key : {"host", "port", "send", "expect", "icmp_wait"}) {
    EXPECT_NE(s.find(key), nullptr) << key;
  }
  EXPECT_TRUE(s.find("host")->flags.required);
  EXPECT_TRUE(s.find("port")->flags.required);
  ASSERT_TRUE(s.find("icmp_wait")->default_value.has_value());
  EXPECT_EQ(std::get<std::chrono::milliseconds>(*s.find("icmp_wait")->default_value), 100ms);
}

TEST(udp_config, a_udp_check_loads) {
  const auto cfg = vitals::config::load_string(R"(
checks:
  - name: statsd
    type: udp
    host: 127.0.0.1
    port: 8125
    send: "vitals:1|c"
    icmp_wait: 50ms
    probes: [ready]
)",
                                               "udp.yaml");
  ASSERT_EQ(cfg.checks.size(), 1U);
  EXPECT_EQ(cfg.checks[0].type, "udp");
  ASSERT_NE(cfg.checks[0].impl, nullptr);
  EXPECT_EQ(cfg.checks[0].impl->traits().type, "udp");
}

TEST(udp_config, a_bad_udp_check_is_refused_with_its_line) {
  try {
    (void)vitals::config::load_string("checks:\n  - {name: u, type: udp, host: h, port: 0}\n",
                                      "udp.yaml");
    ADD_FAILURE() << "port 0 was accepted";
  } catch (const vitals::config::error& e) {
    EXPECT_NE(std::string{e.what()}.find("udp.yaml:2:"), std::string::npos) << e.what();
  }
  // A dependency: refused in `live` without allow_in_live.
  EXPECT_THROW((void)vitals::config::load_string(
                   "checks:\n  - {name: u, type: udp, host: h, port: 1, probes: [live]}\n"),
               vitals::config::error);
}

}  // namespace
}  // namespace vitals::checks
