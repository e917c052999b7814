#include "vitals/checks/postgres.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "postgres/postgres_detail.hpp"

namespace {

using vitals::failure_kind;
using vitals::checks::detail::classify_pg_connect_error;
using vitals::checks::detail::kind_of_sqlstate;

std::string construction_error(vitals::checks::postgres_options o) {
  try {
    (void)vitals::checks::postgres(std::move(o));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception>";
}

TEST(postgres_options, requires_exactly_one_connection_string) {
  EXPECT_NE(construction_error({}).find("url (or conninfo) is required"), std::string::npos);
  EXPECT_NE(construction_error({.url = "postgres://a@h/db", .conninfo = "host=h"}).find("not both"),
            std::string::npos);
}

TEST(postgres_options, rejects_unknown_sslmode) {
  const auto e = construction_error({.url = "postgres://a:pw1234@h/db", .sslmode = "maybe"});
  EXPECT_NE(e.find("unknown sslmode \"maybe\""), std::string::npos) << e;
}

TEST(postgres_options, unparsable_string_never_echoes_the_password) {
  for (const std::string s :
       {"postgres://app:hunter2pw@[::1/db", "host=h password=hunter2pw bogus",
        "host=h password=hunter2pw nosuchkey=1", "postgres://app:hunter2pw@h/db?nosuchparam=1"}) {
    const auto e = construction_error({.conninfo = s});
    EXPECT_NE(e, "<no exception>") << s;
    EXPECT_EQ(e.find("hunter2pw"), std::string::npos) << e;
    EXPECT_NE(e.find("postgres:"), std::string::npos) << e;
  }
}

TEST(postgres_options, accepts_url_and_keyword_forms) {
  EXPECT_NO_THROW((void)vitals::checks::postgres({.url = "postgres://app:pw@127.0.0.1:5432/app"}));
  EXPECT_NO_THROW((void)vitals::checks::postgres(
      {.conninfo = "host=127.0.0.1 port=5432 user=app password=pw dbname=app",
       .sslmode = "disable"}));
}

TEST(postgres_traits, declares_a_datastore_dependency_and_its_secrets) {
  const std::string url = "postgres://app:s3cret-pw@db.internal:5432/app";
  const auto t = vitals::checks::postgres({.url = url})->traits();
  EXPECT_EQ(t.type, "postgres");
  EXPECT_EQ(t.component_type, "datastore");
  EXPECT_EQ(t.measurement, "responseTime");
  EXPECT_TRUE(t.dependency);
  EXPECT_NE(std::find(t.secrets.begin(), t.secrets.end(), url), t.secrets.end());
  EXPECT_NE(std::find(t.secrets.begin(), t.secrets.end(), "s3cret-pw"), t.secrets.end());
}

TEST(postgres_classify, real_libpq_messages) {
  const std::string where = "127.0.0.1:5432";
  auto refused = classify_pg_connect_error(
      "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused\n\tIs the "
      "server running on that host and accepting TCP/IP connections?\n",
      where);
  EXPECT_EQ(refused.kind, failure_kind::refused);
  EXPECT_EQ(refused.text, "connection refused (127.0.0.1:5432)");

  auto auth = classify_pg_connect_error(
      "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication "
      "failed for user \"app\"\n",
      where);
  EXPECT_EQ(auth.kind, failure_kind::auth);
  EXPECT_EQ(auth.text, "password authentication failed for user \"app\"");

  EXPECT_EQ(classify_pg_connect_error("fe_sendauth: no password supplied\n", where).kind,
            failure_kind::auth);
  EXPECT_EQ(classify_pg_connect_error(
                "connection to server at \"h\", port 5432 failed: FATAL:  no pg_hba.conf entry for "
                "host \"10.0.0.1\", user \"app\", database \"app\", no encryption\n",
                where)
                .kind,
            failure_kind::auth);
  EXPECT_EQ(classify_pg_connect_error(
                "could not translate host name \"nope.invalid\" to address: Name or service not "
                "known\n",
                where)
                .kind,
            failure_kind::dns);
  EXPECT_EQ(classify_pg_connect_error(
                "connection to server at \"h\", port 5432 failed: server does not support SSL, "
                "but SSL was required\n",
                where)
                .kind,
            failure_kind::tls);
  EXPECT_EQ(classify_pg_connect_error(
                "connection to server at \"h\", port 5432 failed: FATAL:  the database system is "
                "starting up\n",
                where)
                .kind,
            failure_kind::refused);
  EXPECT_EQ(classify_pg_connect_error("server closed the connection unexpectedly\n\tThis "
                                      "probably means the server terminated abnormally\n",
                                      where)
                .kind,
            failure_kind::refused);
  const auto garbage = classify_pg_connect_error(
      "connection to server at \"h\", port 5432 failed: received invalid response to SSL "
      "negotiation: x\n",
      where);
  EXPECT_EQ(garbage.kind, failure_kind::protocol);
  EXPECT_EQ(garbage.text, "received invalid response to SSL negotiation: x (127.0.0.1:5432)");
  EXPECT_EQ(classify_pg_connect_error("expected authentication request from server, but received "
                                      "H\n",
                                      where)
                .kind,
            failure_kind::protocol);
  EXPECT_EQ(classify_pg_connect_error(
                "connection to server at \"h\", port 5432 failed: FATAL:  database \"nope\" does "
                "not exist\n",
                where)
                .kind,
            failure_kind::assertion);
}

TEST(postgres_classify, sqlstates) {
  EXPECT_EQ(kind_of_sqlstate("28P01"), failure_kind::auth);
  EXPECT_EQ(kind_of_sqlstate("28000"), failure_kind::auth);
  EXPECT_EQ(kind_of_sqlstate("08006"), failure_kind::refused);
  EXPECT_EQ(kind_of_sqlstate("57P01"), failure_kind::refused);
  EXPECT_EQ(kind_of_sqlstate("57014"), failure_kind::assertion);  // query_canceled
  EXPECT_EQ(kind_of_sqlstate("42601"), failure_kind::assertion);  // syntax error
  EXPECT_EQ(kind_of_sqlstate(""), failure_kind::assertion);
}

}  // namespace
