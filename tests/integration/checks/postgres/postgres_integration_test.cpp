// The postgres check against the real PostgreSQL of scripts/test-servers.sh
// (VITALS_TEST_PG_URL).
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "db_support.hpp"
#include "vitals/checks/postgres.hpp"

namespace {

using namespace std::chrono_literals;
using vitals::failure_kind;
using vitals::status;
using vitals::test::detail_of;
using vitals::test::run_once;

// An admin connection of the test itself (plain blocking libpq).
class admin {
 public:
  explicit admin(const std::string& url) : c_(PQconnectdb(url.c_str())) {}
  ~admin() { PQfinish(c_); }
  admin(const admin&) = delete;
  admin& operator=(const admin&) = delete;
  [[nodiscard]] bool ok() const { return PQstatus(c_) == CONNECTION_OK; }
  // First column of the first row, or "<error>".
  std::string scalar(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    std::string out = "<error>";
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
    PQclear(r);
    return out;
  }

 private:
  PGconn* c_;
};

std::string app_name(const char* what) {
  return std::string("vitals-it-") + what + "-" + std::to_string(::getpid());
}

std::string backend_pids(admin& a, const std::string& app) {
  return a.scalar(
      "SELECT coalesce(string_agg(pid::text, ','), '') FROM pg_stat_activity WHERE "
      "application_name = '" +
      app + "'");
}

TEST(postgres_check, passes_and_reports_latency_and_version) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  auto c = vitals::checks::postgres({.url = url});
  const auto r = run_once(*c);
  ASSERT_EQ(r.status, status::pass) << r.output;
  ASSERT_TRUE(r.observed.has_value());
  EXPECT_EQ(r.observed->unit, "ms");
  EXPECT_GT(std::get<double>(r.observed->value), 0.0);
  EXPECT_TRUE(detail_of(r, "server_version").starts_with("1")) << detail_of(r, "server_version");
}

TEST(postgres_check, keeps_one_connection_between_runs) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  const auto app = app_name("keep");
  auto c = vitals::checks::postgres({.url = url, .application_name = app});
  admin a{url};
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(run_once(*c).status, status::pass);
  const auto first = backend_pids(a, app);
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first.find(','), std::string::npos) << first;
  for (int i = 0; i < 20; ++i) ASSERT_EQ(run_once(*c).status, status::pass);
  EXPECT_EQ(backend_pids(a, app), first);
}

TEST(postgres_check, reconnects_in_the_same_run_after_its_connection_was_killed) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  const auto app = app_name("kill");
  auto c = vitals::checks::postgres({.url = url, .application_name = app});
  admin a{url};
  ASSERT_EQ(run_once(*c).status, status::pass);
  const auto before = backend_pids(a, app);
  ASSERT_EQ(a.scalar("SELECT pg_terminate_backend(" + before + ")"), "t");
  const auto r = run_once(*c);
  EXPECT_EQ(r.status, status::pass) << r.output;
  const auto after = backend_pids(a, app);
  EXPECT_FALSE(after.empty());
  EXPECT_NE(after, before);
}

TEST(postgres_check, wrong_password_is_auth_and_never_shown) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  const std::string bad = "wrong-pw-8d1f0c";
  auto c = vitals::checks::postgres({.url = vitals::test::with_password(url, bad)});
  const auto r = run_once(*c);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::auth) << r.output;
  EXPECT_NE(r.output.find("authentication failed for user \"vitals\""), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find(bad), std::string::npos);
  for (const auto& [k, v] : r.details) EXPECT_EQ(v.find(bad), std::string::npos) << k;
}

TEST(postgres_check, unknown_database_is_an_assertion) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  const auto no_db = url.substr(0, url.rfind('/')) + "/no_such_db";
  const auto r = run_once(*vitals::checks::postgres({.url = no_db}));
  EXPECT_EQ(r.kind, failure_kind::assertion) << r.output;
  EXPECT_NE(r.output.find("\"no_such_db\" does not exist"), std::string::npos) << r.output;
}

TEST(postgres_check, failing_query_is_an_assertion_and_keeps_the_connection) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  const auto app = app_name("query");
  auto c = vitals::checks::postgres({.url = url, .query = "SELECT 1/0", .application_name = app});
  admin a{url};
  const auto r = run_once(*c);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::assertion);
  EXPECT_EQ(detail_of(r, "sqlstate"), "22012");
  EXPECT_NE(r.output.find("division by zero"), std::string::npos) << r.output;
  const auto pid = backend_pids(a, app);
  ASSERT_EQ(run_once(*c).kind, failure_kind::assertion);
  EXPECT_EQ(backend_pids(a, app), pid);
}

TEST(postgres_check, keyword_conninfo_empty_query_and_no_kept_connection) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  // postgres://vitals:PW@127.0.0.1:PORT/vitals → keyword form.
  const auto pw = vitals::test::password_of(url);
  const auto hostport = url.substr(url.find('@') + 1, url.rfind('/') - url.find('@') - 1);
  const auto host = hostport.substr(0, hostport.find(':'));
  const auto port = hostport.substr(hostport.find(':') + 1);
  const auto app = app_name("kw");
  auto c = vitals::checks::postgres({.conninfo = "host=" + host + " port=" + port +
                                                 " user=vitals password=" + pw + " dbname=vitals",
                                     .sslmode = "disable",
                                     .query = "",
                                     .keep_connection = false,
                                     .application_name = app});
  admin a{url};
  for (int i = 0; i < 3; ++i) {
    const auto r = run_once(*c);
    ASSERT_EQ(r.status, status::pass) << r.output;
  }
  // Disconnected after each run; the backend may take a moment to leave pg_stat_activity.
  std::string left = backend_pids(a, app);
  for (int i = 0; i < 100 && !left.empty(); ++i) {
    std::this_thread::sleep_for(10ms);
    left = backend_pids(a, app);
  }
  EXPECT_EQ(left, "");
}

TEST(postgres_check, closed_port_is_refused_at_once) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  const auto port = std::to_string(vitals::test::closed_port());
  const auto c = vitals::checks::postgres({.url = "postgres://vitals:pw@127.0.0.1:" + port + "/x"});
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_once(*c);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 200ms);
  EXPECT_EQ(r.kind, failure_kind::refused);
  EXPECT_EQ(r.output, "connection refused (127.0.0.1:" + port + ")");
}

}  // namespace
