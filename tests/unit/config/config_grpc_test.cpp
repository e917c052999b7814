// The `grpc:` section (vitalsd's grpc.health.v1 server): what it fills and what it refuses.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "errors_of.hpp"
#include "vitals/config.hpp"

namespace {

using vitals_test::errors_of;
using list = std::vector<std::string>;

const std::string checks = "checks:\n  - {name: db, type: memory}\n";

TEST(config_grpc, absent_means_no_grpc_server) {
  const auto cfg = vitals::config::load_string(checks, "t.yaml");
  EXPECT_TRUE(cfg.grpc.listen.empty());
  EXPECT_EQ(cfg.grpc, vitals::config::grpc_config{});
}

TEST(config_grpc, every_key_is_read) {
  const auto cfg = vitals::config::load_string(checks +
                                                   "grpc:\n"
                                                   "  listen: \"[::1]:9090\"\n"
                                                   "  aliases: {my.pkg.Orders: readiness, "
                                                   "my.pkg.Db: db, root: \"\"}\n"
                                                   "  list_limit: 500\n"
                                                   "  tls:\n"
                                                   "    cert_file: /etc/vitals/cert.pem\n"
                                                   "    key_file: /etc/vitals/key.pem\n"
                                                   "    client_ca_file: /etc/vitals/ca.pem\n",
                                               "t.yaml");
  EXPECT_EQ(cfg.grpc.listen, "[::1]:9090");
  ASSERT_EQ(cfg.grpc.aliases.size(), 3U);
  EXPECT_EQ(cfg.grpc.aliases[0],
            (std::pair<std::string, std::string>{"my.pkg.Orders", "readiness"}));
  EXPECT_EQ(cfg.grpc.aliases[1], (std::pair<std::string, std::string>{"my.pkg.Db", "db"}));
  EXPECT_EQ(cfg.grpc.aliases[2], (std::pair<std::string, std::string>{"root", ""}));
  EXPECT_EQ(cfg.grpc.list_limit, 500);
  EXPECT_EQ(cfg.grpc.cert_file, "/etc/vitals/cert.pem");
  EXPECT_EQ(cfg.grpc.key_file, "/etc/vitals/key.pem");
  EXPECT_EQ(cfg.grpc.client_ca_file, "/etc/vitals/ca.pem");
}

TEST(config_grpc, a_listen_address_must_be_host_and_port) {
  for (const char* bad : {"9090", "localhost", ":9090", "host:99999", "[::1]9090", "a:b:9090"}) {
    SCOPED_TRACE(bad);
    const auto errors = errors_of(checks + "grpc:\n  listen: \"" + bad + "\"\n");
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_NE(errors[0].find("grpc.listen: expected \"address:port\""), std::string::npos)
        << errors[0];
  }
}

TEST(config_grpc, tls_and_aliases_need_a_listen_address) {
  const auto errors = errors_of(checks + "grpc:\n  aliases: {a: readiness}\n");
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_NE(errors[0].find("grpc needs listen"), std::string::npos) << errors[0];
}

TEST(config_grpc, tls_files_go_together) {
  auto errors =
      errors_of(checks + "grpc:\n  listen: \"0.0.0.0:9090\"\n  tls: {cert_file: /c.pem}\n");
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_NE(errors[0].find("tls.cert_file and tls.key_file go together"), std::string::npos)
      << errors[0];
  errors = errors_of(checks + "grpc:\n  listen: \"0.0.0.0:9090\"\n  tls: {client_ca_file: /a}\n");
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_NE(errors[0].find("tls.client_ca_file needs tls.cert_file"), std::string::npos)
      << errors[0];
}

TEST(config_grpc, an_alias_names_a_probe_or_a_check_and_takes_no_existing_name) {
  auto errors = errors_of(checks + "grpc:\n  listen: \"0.0.0.0:9090\"\n  aliases: {a: cache}\n");
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_NE(errors[0].find("alias \"a\" names \"cache\": neither"), std::string::npos) << errors[0];
  for (const char* taken : {"liveness", "readiness", "startup", "db"}) {
    SCOPED_TRACE(taken);
    errors = errors_of(checks + "grpc:\n  listen: \"0.0.0.0:9090\"\n  aliases: {" + taken +
                       ": readiness}\n");
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_NE(errors[0].find("is already a service name"), std::string::npos) << errors[0];
  }
}

TEST(config_grpc, list_limit_is_bounded) {
  const auto errors = errors_of(checks + "grpc:\n  listen: \"0.0.0.0:9090\"\n  list_limit: 0\n");
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_NE(errors[0].find("grpc.list_limit"), std::string::npos) << errors[0];
}

}  // namespace
