// The email notifier against the real SMTP server of scripts/test-servers.sh (aiosmtpd with
// STARTTLS and AUTH): what arrives, a server that refuses then accepts (451), one that rejects
// (550), one that is frozen (SIGSTOP) and one that is not there. Holds the SMTP server's
// RESOURCE_LOCK (one test freezes it).

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "notify_support.hpp"
#include "smtp_support.hpp"
#include "vitals/notify.hpp"

namespace {

using namespace std::chrono_literals;
using vitals::status;
using namespace vitals::notify;

using vitals::test::delivered_to;
using vitals::test::smtp_server;
using vitals::test::unique_address;
using namespace vitals::notify::test;

std::string unique(const std::string& local) { return unique_address(local); }

std::shared_ptr<notifier> mailer(const smtp_server& s, const std::string& rcpt,
                                 std::string password = {}) {
  return make_email_notifier({.url = s.starttls,
                              .username = s.user,
                              .password = password.empty() ? s.password : password,
                              .ca_file = s.ca,
                              .from = "Vitals <alerts@example.test>",
                              .to = {rcpt}});
}

TEST(notify_email_smtp, failing_and_resolved_arrive_over_starttls_with_auth) {
  VITALS_SMTP_SERVER(s);
  const std::string rcpt = unique("oncall");
  dispatcher d{base({{.name = "mail", .channel = mailer(s, rcpt)}})};
  fail(d, "db");
  recover(d, "db");
  d.flush();
  const auto got = delivered_to(s.maildir, rcpt);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[0].find("X-Test-Envelope-From: alerts@example.test\r\n"), std::string::npos);
  EXPECT_NE(got[0].find("X-Test-Auth: " + s.user + "\r\n"), std::string::npos) << got[0];
  EXPECT_NE(got[0].find("X-Test-TLS: yes\r\n"), std::string::npos);
  EXPECT_NE(got[0].find("\r\nFrom: Vitals <alerts@example.test>\r\n"), std::string::npos);
  EXPECT_NE(got[0].find("\r\nSubject: [FAIL] db (billing): connection refused\r\n"),
            std::string::npos)
      << got[0];
  EXPECT_NE(got[0].find("db: failing (pass -> fail, refused) connection refused"),
            std::string::npos);
  EXPECT_NE(got[0].find("Link: http://billing:8081/health"), std::string::npos);
  EXPECT_NE(got[1].find("\r\nSubject: [RESOLVED] db (billing)\r\n"), std::string::npos) << got[1];
  for (const auto& m : got) EXPECT_EQ(m.find(s.password), std::string::npos);
  EXPECT_EQ(d.stats()[0].sent_ok, 2u);
}

TEST(notify_email_smtp, a_451_is_retried_and_delivered_once) {
  VITALS_SMTP_SERVER(s);
  const std::string rcpt = unique("tempfail");  // refused twice with 451, then accepted
  dispatcher d{base(
      {{.name = "mail", .channel = mailer(s, rcpt), .delivery = {.retries = 3, .backoff = 10ms}}})};
  fail(d, "db");
  d.flush();
  EXPECT_EQ(delivered_to(s.maildir, rcpt).size(), 1u);
  const auto st = d.stats()[0];
  EXPECT_EQ(st.sent_error, 2u);
  EXPECT_EQ(st.sent_ok, 1u);
  EXPECT_EQ(st.dropped, 0u);
}

TEST(notify_email_smtp, a_550_is_permanent_and_not_retried) {
  VITALS_SMTP_SERVER(s);
  log_capture logs;
  auto o = base({{.name = "mail",
                  .channel = mailer(s, unique("reject")),
                  .delivery = {.retries = 3, .backoff = 10ms}}});
  o.log = logs.sink();
  dispatcher d{std::move(o)};
  fail(d, "db");
  d.flush();
  const auto st = d.stats()[0];
  EXPECT_EQ(st.sent_error, 1u);
  EXPECT_EQ(st.dropped, 1u);
  const auto lines = logs.get();
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines[0].find("550"), std::string::npos) << lines[0];
}

TEST(notify_email_smtp, a_wrong_password_fails_without_ever_showing_it) {
  VITALS_SMTP_SERVER(s);
  const std::string wrong = "WRONG-pw-" + std::to_string(::getpid());
  log_capture logs;
  auto o = base({{.name = "mail",
                  .channel = mailer(s, unique("oncall"), wrong),
                  .delivery = {.retries = 1, .backoff = 10ms}}});
  o.log = logs.sink();
  dispatcher d{std::move(o)};
  fail(d, "db");
  d.flush();
  EXPECT_EQ(d.stats()[0].sent_ok, 0u);
  const auto lines = logs.get();
  ASSERT_EQ(lines.size(), 2u);  // a rejected login is retried (a rotation may be rolling out)
  for (const auto& l : lines) {
    EXPECT_NE(l.find("authentication"), std::string::npos) << l;
    EXPECT_EQ(l.find(wrong), std::string::npos) << l;
  }
}

TEST(notify_email_smtp, a_frozen_server_delays_no_other_notifier_and_is_retried_after) {
  VITALS_SMTP_SERVER(s);
  ASSERT_GT(s.pid, 0);
  // The other channel records when it was called.
  struct quick final : notifier {
    std::atomic<int> sent{0};
    delivery send(const message&, steady_time) override {
      ++sent;
      return {};
    }
  };
  auto other = std::make_shared<quick>();
  const std::string rcpt = unique("oncall");
  dispatcher d{base({{.name = "mail",
                      .channel = mailer(s, rcpt),
                      .delivery = {.timeout = 400ms, .retries = 3, .backoff = 50ms}},
                     {.name = "other", .channel = other}})};
  {
    vitals::test::frozen f({s.pid});
    const auto t0 = std::chrono::steady_clock::now();
    fail(d, "db");
    while (other->sent == 0 && std::chrono::steady_clock::now() - t0 < 5s) {
      std::this_thread::sleep_for(2ms);
    }
    EXPECT_EQ(other->sent, 1);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 300ms);
    std::this_thread::sleep_for(500ms);  // the first attempt times out while frozen
  }
  d.flush();  // thawed: a retry delivers
  EXPECT_EQ(delivered_to(s.maildir, rcpt).size(), 1u);
  const auto st = d.stats()[0];
  EXPECT_GE(st.sent_error, 1u);
  EXPECT_EQ(st.sent_ok, 1u);
}

TEST(notify_email_smtp, a_server_that_is_not_there_is_dropped_after_retries) {
  const auto port = vitals::test::closed_port();
  log_capture logs;
  auto o = base({{.name = "mail",
                  .channel = make_email_notifier({.url = "smtp://127.0.0.1:" + std::to_string(port),
                                                  .username = "u",
                                                  .password = "PW-never-shown",
                                                  .from = "alerts@example.test",
                                                  .to = {"oncall@example.test"}}),
                  .delivery = {.retries = 2, .backoff = 10ms}}});
  o.log = logs.sink();
  dispatcher d{std::move(o)};
  fail(d, "db");
  d.flush();
  const auto st = d.stats()[0];
  EXPECT_EQ(st.sent_error, 3u);
  EXPECT_EQ(st.dropped, 1u);
  const auto lines = logs.get();
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& l : lines) {
    EXPECT_NE(l.find("connection refused"), std::string::npos) << l;
    EXPECT_EQ(l.find("PW-never-shown"), std::string::npos) << l;
  }
}

}  // namespace
