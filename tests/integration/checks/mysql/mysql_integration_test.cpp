// The mysql check against the real MariaDB of scripts/test-servers.sh (VITALS_TEST_MYSQL_URL).
// All tests of this binary hold the ctest RESOURCE_LOCK of that server, so the user's
// connections seen in the processlist are the check's.
#include <gtest/gtest.h>
#include <mysql.h>

#include <string>

#include "db_support.hpp"
#include "vitals/checks/mysql.hpp"

namespace {

using namespace std::chrono_literals;
using vitals::failure_kind;
using vitals::status;
using vitals::test::detail_of;
using vitals::test::run_once;

// Test-side admin connection (blocking Connector/C), same credentials as the check.
class admin {
 public:
  explicit admin(const std::string& url) : m_(mysql_init(nullptr)) {
    // mysql://vitals:PW@127.0.0.1:PORT/vitals
    const auto pw = vitals::test::password_of(url);
    const auto hp = url.substr(url.find('@') + 1, url.rfind('/') - url.find('@') - 1);
    const auto port = static_cast<unsigned>(std::stoi(hp.substr(hp.find(':') + 1)));
    ok_ = mysql_real_connect(m_, hp.substr(0, hp.find(':')).c_str(), "vitals", pw.c_str(), "vitals",
                             port, nullptr, 0) != nullptr;
  }
  ~admin() { mysql_close(m_); }
  admin(const admin&) = delete;
  admin& operator=(const admin&) = delete;
  [[nodiscard]] bool ok() const { return ok_; }
  std::string scalar(const std::string& sql) {
    if (mysql_query(m_, sql.c_str()) != 0) return "<error>";
    MYSQL_RES* r = mysql_store_result(m_);
    std::string out;
    if (r != nullptr) {
      if (MYSQL_ROW row = mysql_fetch_row(r); row != nullptr && row[0] != nullptr) out = row[0];
      mysql_free_result(r);
    }
    return out;
  }
  // Connection ids of the vitals user other than this admin connection.
  std::string others() {
    return scalar(
        "SELECT coalesce(group_concat(ID ORDER BY ID), '') FROM information_schema.PROCESSLIST "
        "WHERE USER = 'vitals' AND ID <> CONNECTION_ID()");
  }

 private:
  MYSQL* m_;
  bool ok_ = false;
};

TEST(mysql_check, ping_passes_and_reports_version) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_MYSQL_URL");
  const auto r = run_once(*vitals::checks::mysql({.url = url}));
  ASSERT_EQ(r.status, status::pass) << r.output;
  EXPECT_EQ(r.observed->unit, "ms");
  EXPECT_NE(detail_of(r, "server_version").find("MariaDB"), std::string::npos);
}

TEST(mysql_check, query_passes_over_one_kept_connection) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_MYSQL_URL");
  auto c = vitals::checks::mysql({.url = url, .query = "SELECT 1"});
  admin a{url};
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(run_once(*c).status, status::pass);
  const auto first = a.others();
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first.find(','), std::string::npos) << first;
  for (int i = 0; i < 20; ++i) ASSERT_EQ(run_once(*c).status, status::pass);
  EXPECT_EQ(a.others(), first);
}

TEST(mysql_check, reconnects_in_the_same_run_after_its_connection_was_killed) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_MYSQL_URL");
  auto c = vitals::checks::mysql({.url = url});
  admin a{url};
  ASSERT_EQ(run_once(*c).status, status::pass);
  const auto before = a.others();
  ASSERT_FALSE(before.empty());
  a.scalar("KILL " + before);
  const auto r = run_once(*c);
  EXPECT_EQ(r.status, status::pass) << r.output;
  EXPECT_NE(a.others(), before);
}

TEST(mysql_check, wrong_password_is_auth_and_never_shown) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_MYSQL_URL");
  const std::string bad = "wrong-pw-8d1f0c";
  const auto r = run_once(*vitals::checks::mysql({.url = vitals::test::with_password(url, bad)}));
  EXPECT_EQ(r.kind, failure_kind::auth) << r.output;
  EXPECT_NE(r.output.find("Access denied for user 'vitals'"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(bad), std::string::npos);
}

TEST(mysql_check, failing_query_is_an_assertion) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_MYSQL_URL");
  auto c = vitals::checks::mysql({.url = url, .query = "SELECT * FROM no_such_table"});
  const auto r = run_once(*c);
  EXPECT_EQ(r.kind, failure_kind::assertion) << r.output;
  EXPECT_NE(r.output.find("no_such_table"), std::string::npos) << r.output;
}

TEST(mysql_check, tls_required_against_a_server_without_tls_is_tls) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_MYSQL_URL");
  const auto r = run_once(*vitals::checks::mysql({.url = url, .ssl_mode = "required"}));
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::tls) << r.output;
}

TEST(mysql_check, closed_port_is_refused_at_once) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_MYSQL_URL");
  const auto port = std::to_string(vitals::test::closed_port());
  const auto t0 = std::chrono::steady_clock::now();
  const auto r =
      run_once(*vitals::checks::mysql({.url = "mysql://vitals:pw@127.0.0.1:" + port + "/x"}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 200ms);
  EXPECT_EQ(r.kind, failure_kind::refused) << r.output;
  EXPECT_EQ(r.output, "connection refused (127.0.0.1:" + port + ")");
}

}  // namespace
