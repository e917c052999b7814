#include "vitals/checks/mysql.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "mysql/mysql_detail.hpp"

namespace {

using vitals::failure_kind;
using vitals::checks::detail::kind_of_mysql_error;
using vitals::checks::detail::mysql_ssl;
using vitals::checks::detail::parse_mysql_target;

std::string construction_error(vitals::checks::mysql_options o) {
  try {
    (void)vitals::checks::mysql(std::move(o));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception>";
}

TEST(mysql_url, parses_every_part) {
  const auto t = parse_mysql_target("mysql://app:p%40ss@db.internal:3307/orders", "", "");
  EXPECT_EQ(t.host, "db.internal");
  EXPECT_EQ(t.port, 3307);
  EXPECT_EQ(t.user, "app");
  EXPECT_EQ(t.password, "p@ss");
  EXPECT_EQ(t.database, "orders");
  EXPECT_EQ(t.ssl, mysql_ssl::preferred);
}

TEST(mysql_url, defaults_and_ssl_parameters) {
  const auto t =
      parse_mysql_target("mariadb://app@[::1]?ssl-mode=VERIFY_IDENTITY&ssl-ca=/ca.pem", "", "");
  EXPECT_EQ(t.host, "::1");
  EXPECT_EQ(t.port, 3306);
  EXPECT_EQ(t.database, "");
  EXPECT_EQ(t.ssl, mysql_ssl::verify_identity);
  EXPECT_EQ(t.ssl_ca, "/ca.pem");
  // Options win over the URL.
  const auto o = parse_mysql_target("mysql://app@h/db?ssl-mode=required", "disabled", "/x.pem");
  EXPECT_EQ(o.ssl, mysql_ssl::disabled);
  EXPECT_EQ(o.ssl_ca, "/x.pem");
}

TEST(mysql_options, bad_input_is_rejected_without_the_password) {
  for (const auto& o : {vitals::checks::mysql_options{.url = "postgres://app:hunter2pw@h/db"},
                        vitals::checks::mysql_options{.url = "mysql://app:hunter2pw@/db"},
                        vitals::checks::mysql_options{.url = "mysql://:hunter2pw@h/db"},
                        vitals::checks::mysql_options{.url = "mysql://app:hunter2pw@h/db?x=1"},
                        vitals::checks::mysql_options{.url = "mysql://app:hunter2pw@h:99999/db"},
                        vitals::checks::mysql_options{.url = "mysql://app:hunter2pw@h/db",
                        .ssl_mode = "sometimes"}}) {
    const auto e = construction_error(o);
    EXPECT_NE(e, "<no exception>") << o.url;
    EXPECT_EQ(e.find("hunter2pw"), std::string::npos) << e;
  }
  EXPECT_NE(construction_error({.url = "mysql://a:b@h/d", .ssl_mode = "sometimes"})
                .find("unknown ssl_mode \"sometimes\""),
            std::string::npos);
}

TEST(mysql_traits, declares_a_datastore_dependency_and_its_secrets) {
  const std::string url = "mysql://app:s3cret-pw@127.0.0.1:3306/app";
  const auto t = vitals::checks::mysql({.url = url})->traits();
  EXPECT_EQ(t.type, "mysql");
  EXPECT_EQ(t.component_type, "datastore");
  EXPECT_TRUE(t.dependency);
  EXPECT_NE(std::find(t.secrets.begin(), t.secrets.end(), url), t.secrets.end());
  EXPECT_NE(std::find(t.secrets.begin(), t.secrets.end(), "s3cret-pw"), t.secrets.end());
}

TEST(mysql_classify, error_numbers) {
  EXPECT_EQ(kind_of_mysql_error(1045, "Access denied for user 'a'@'h' (using password: YES)", true),
            failure_kind::auth);
  EXPECT_EQ(kind_of_mysql_error(2002, "Can't connect to server on '127.0.0.1' (111)", true),
            failure_kind::refused);
  EXPECT_EQ(kind_of_mysql_error(2003, "Can't connect to server on '10.1.1.1' (110)", true),
            failure_kind::timeout);
  EXPECT_EQ(kind_of_mysql_error(2005, "Unknown server host 'x' (-2)", true), failure_kind::dns);
  EXPECT_EQ(
      kind_of_mysql_error(2026, "TLS/SSL error: unable to get local issuer certificate", true),
      failure_kind::tls);
  EXPECT_EQ(kind_of_mysql_error(2013, "Lost connection to server at 'handshake'", true),
            failure_kind::protocol);
  EXPECT_EQ(kind_of_mysql_error(2013, "Lost connection to server during query", false),
            failure_kind::refused);
  EXPECT_EQ(kind_of_mysql_error(2006, "Server has gone away", false), failure_kind::refused);
  EXPECT_EQ(kind_of_mysql_error(2027, "Malformed packet", true), failure_kind::protocol);
  EXPECT_EQ(kind_of_mysql_error(1040, "Too many connections", true), failure_kind::refused);
  EXPECT_EQ(kind_of_mysql_error(1049, "Unknown database 'x'", true), failure_kind::assertion);
  EXPECT_EQ(kind_of_mysql_error(1064, "You have an error in your SQL syntax", false),
            failure_kind::assertion);
}

}  // namespace
