// The redis check against the real Redis of scripts/test-servers.sh (VITALS_TEST_REDIS_URL:
// ACL user, VITALS_TEST_REDIS_PASSWORD_URL: requirepass). Holds that server's RESOURCE_LOCK.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <string>

#include "db_support.hpp"
#include "vitals/checks/redis.hpp"

namespace {

using namespace std::chrono_literals;
using vitals::failure_kind;
using vitals::status;
using vitals::test::detail_of;
using vitals::test::run_once;

// Test-side admin client (blocking hiredis) logged in with the requirepass URL.
class admin {
 public:
  explicit admin(const std::string& password_url) {
    const auto hp = password_url.substr(password_url.find('@') + 1,
                                        password_url.rfind('/') - password_url.find('@') - 1);
    c_ = redisConnect(hp.substr(0, hp.find(':')).c_str(), std::stoi(hp.substr(hp.find(':') + 1)));
    const struct timeval tv { 2, 0 };
    if (c_ != nullptr && c_->err == 0) redisSetTimeout(c_, tv);
    const auto pw = vitals::test::password_of(password_url);
    ok_ = c_ != nullptr && c_->err == 0 && command("AUTH " + pw) == "OK";
  }
  ~admin() {
    if (c_ != nullptr) redisFree(c_);
  }
  admin(const admin&) = delete;
  admin& operator=(const admin&) = delete;
  [[nodiscard]] bool ok() const { return ok_; }
  std::string command(const std::string& cmd) {
    auto* r = static_cast<redisReply*>(redisCommand(c_, cmd.c_str()));
    if (r == nullptr) return "<error>";
    std::string out = r->str != nullptr ? std::string(r->str, r->len) : std::to_string(r->integer);
    freeReplyObject(r);
    return out;
  }
  long long total_connections() {
    const auto info = command("INFO stats");
    const auto at = info.find("total_connections_received:");
    return at == std::string::npos ? -1 : std::stoll(info.substr(at + 27));
  }

 private:
  redisContext* c_ = nullptr;
  bool ok_ = false;
};

TEST(redis_check, acl_user_passes_with_version) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_REDIS_URL");
  const auto r = run_once(*vitals::checks::redis({.url = url}));
  ASSERT_EQ(r.status, status::pass) << r.output;
  EXPECT_EQ(r.observed->unit, "ms");
  EXPECT_FALSE(detail_of(r, "server_version").empty());
}

TEST(redis_check, requirepass_and_select_and_role) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_REDIS_PASSWORD_URL");
  const auto db3 = url.substr(0, url.rfind('/')) + "/3";
  const auto r = run_once(*vitals::checks::redis({.url = db3, .expect_role = "master"}));
  ASSERT_EQ(r.status, status::pass) << r.output;
  EXPECT_EQ(detail_of(r, "role"), "master");
  const auto replica = run_once(*vitals::checks::redis({.url = url, .expect_role = "replica"}));
  EXPECT_EQ(replica.kind, failure_kind::assertion);
  EXPECT_EQ(replica.output, "role is master, expected replica");
  const auto bad_db =
      run_once(*vitals::checks::redis({.url = url.substr(0, url.rfind('/')) + "/999"}));
  EXPECT_EQ(bad_db.kind, failure_kind::assertion) << bad_db.output;
  EXPECT_NE(bad_db.output.find("SELECT 999 failed"), std::string::npos) << bad_db.output;
}

TEST(redis_check, keeps_one_connection_between_runs) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_REDIS_URL");
  VITALS_SERVER_ENV(admin_url, "VITALS_TEST_REDIS_PASSWORD_URL");
  admin a{admin_url};
  ASSERT_TRUE(a.ok());
  auto c = vitals::checks::redis({.url = url});
  ASSERT_EQ(run_once(*c).status, status::pass);
  const auto before = a.total_connections();
  for (int i = 0; i < 50; ++i) ASSERT_EQ(run_once(*c).status, status::pass);
  EXPECT_EQ(a.total_connections(), before);
}

TEST(redis_check, reconnects_in_the_same_run_after_its_connection_was_killed) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_REDIS_URL");
  VITALS_SERVER_ENV(admin_url, "VITALS_TEST_REDIS_PASSWORD_URL");
  admin a{admin_url};
  auto c = vitals::checks::redis({.url = url});
  ASSERT_EQ(run_once(*c).status, status::pass);
  EXPECT_EQ(a.command("CLIENT KILL USER vitals"), "1");
  const auto r = run_once(*c);
  EXPECT_EQ(r.status, status::pass) << r.output;
}

TEST(redis_check, wrong_password_is_auth_and_never_shown) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_REDIS_URL");
  VITALS_SERVER_ENV(pw_url, "VITALS_TEST_REDIS_PASSWORD_URL");
  const std::string bad = "wrong-pw-8d1f0c";
  for (const auto& u : {url, pw_url}) {
    const auto r = run_once(*vitals::checks::redis({.url = vitals::test::with_password(u, bad)}));
    EXPECT_EQ(r.kind, failure_kind::auth) << r.output;
    EXPECT_EQ(r.output.find(bad), std::string::npos) << r.output;
  }
  // No AUTH at all against a server that requires it: NOAUTH on PING.
  const auto host = pw_url.substr(pw_url.find('@') + 1);
  const auto r = run_once(*vitals::checks::redis({.url = "redis://" + host}));
  EXPECT_EQ(r.kind, failure_kind::auth) << r.output;
}

TEST(redis_check, closed_port_is_refused_at_once) {
  const auto port = std::to_string(vitals::test::closed_port());
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_once(*vitals::checks::redis({.url = "redis://:pw@127.0.0.1:" + port}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 200ms);
  EXPECT_EQ(r.kind, failure_kind::refused);
  EXPECT_EQ(r.output, "connection refused (127.0.0.1:" + port + ")");
}

}  // namespace
