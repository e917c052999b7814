// The smtp check against the real SMTP server of scripts/test-servers.sh (aiosmtpd: STARTTLS +
// AUTH, implicit TLS + AUTH, plain, STARTTLS without AUTH). Holds that server's RESOURCE_LOCK
// (one test freezes it).
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "smtp_support.hpp"
#include "vitals/checks/smtp.hpp"

namespace {

using namespace std::chrono_literals;
using vitals::failure_kind;
using vitals::status;
using vitals::test::detail_of;
using vitals::test::run_once;

using vitals::test::delivered_to;

std::string unique(const std::string& local) { return vitals::test::unique_address(local); }

TEST(smtp_check, passes_over_starttls_with_auth) {
  VITALS_SMTP_SERVER(e);
  auto c = vitals::checks::smtp(
      {.url = e.starttls, .username = e.user, .password = e.password, .ca_file = e.ca});
  const auto r = run_once(*c);
  ASSERT_EQ(r.status, status::pass) << r.output;
  EXPECT_EQ(r.observed->unit, "ms");
  EXPECT_EQ(c->traits().type, "smtp");
  EXPECT_TRUE(c->traits().dependency);
  // A second run is a fresh session that passes the same way.
  EXPECT_EQ(run_once(*c).status, status::pass);
}

TEST(smtp_check, passes_over_implicit_tls) {
  VITALS_SMTP_SERVER(e);
  const auto r = run_once(*vitals::checks::smtp(
      {.url = e.smtps, .username = e.user, .password = e.password, .ca_file = e.ca}));
  EXPECT_EQ(r.status, status::pass) << r.output;
}

TEST(smtp_check, plain_text_passes_only_when_asked_for) {
  VITALS_SMTP_SERVER(e);
  const auto required = run_once(*vitals::checks::smtp({.url = e.plain}));
  EXPECT_EQ(required.status, status::fail);
  EXPECT_EQ(required.kind, failure_kind::tls);
  EXPECT_NE(required.output.find("does not offer STARTTLS"), std::string::npos) << required.output;
  const auto plain = run_once(*vitals::checks::smtp({.url = e.plain, .tls = "none"}));
  EXPECT_EQ(plain.status, status::pass) << plain.output;
}

TEST(smtp_check, wrong_password_is_auth_and_never_shown) {
  VITALS_SMTP_SERVER(e);
  const std::string wrong = "not-the-password-" + std::to_string(::getpid());
  const auto r = run_once(*vitals::checks::smtp(
      {.url = e.starttls, .username = e.user, .password = wrong, .ca_file = e.ca}));
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::auth);
  EXPECT_NE(r.output.find("535"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(wrong), std::string::npos) << r.output;
  EXPECT_EQ(detail_of(r, "smtp_code"), "535");
}

TEST(smtp_check, credentials_and_no_auth_offered_is_not_a_pass) {
  VITALS_SMTP_SERVER(e);
  const auto r = run_once(*vitals::checks::smtp(
      {.url = e.noauth, .username = e.user, .password = e.password, .ca_file = e.ca}));
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::auth);
  EXPECT_NE(r.output.find("offers no AUTH mechanism over TLS"), std::string::npos) << r.output;
  // Without credentials the same server passes.
  EXPECT_EQ(run_once(*vitals::checks::smtp({.url = e.noauth, .ca_file = e.ca})).status,
            status::pass);
}

TEST(smtp_check, untrusted_certificate_is_tls) {
  VITALS_SMTP_SERVER(e);
  const auto r = run_once(*vitals::checks::smtp({.url = e.starttls}));  // system CAs only
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::tls);
  EXPECT_NE(r.output.find("certificate"), std::string::npos) << r.output;
  // insecure skips verification (testing only).
  EXPECT_EQ(run_once(*vitals::checks::smtp({.url = e.smtps, .insecure = true})).kind,
            failure_kind::none);
}

TEST(smtp_check, closed_port_is_refused) {
  const auto port = vitals::test::closed_port();
  const auto r =
      run_once(*vitals::checks::smtp({.url = "smtp://127.0.0.1:" + std::to_string(port)}));
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::refused);
  EXPECT_NE(r.output.find("connection refused"), std::string::npos) << r.output;
}

TEST(smtp_check, a_frozen_server_times_out_at_the_deadline) {
  VITALS_SMTP_SERVER(e);
  ASSERT_GT(e.pid, 0);
  auto c = vitals::checks::smtp(
      {.url = e.starttls, .username = e.user, .password = e.password, .ca_file = e.ca});
  const auto started = std::chrono::steady_clock::now();
  vitals::result r;
  {
    vitals::test::frozen f({e.pid});
    r = run_once(*c, 400ms);
  }
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::timeout);
  EXPECT_NE(r.output.find("timed out after 400ms waiting for the greeting from 127.0.0.1:"),
            std::string::npos)
      << r.output;
  EXPECT_LT(took, 1500ms);
  // Thawed, it answers again.
  EXPECT_EQ(run_once(*c, 5s).status, status::pass);
}

TEST(smtp_check, garbage_is_not_a_pass) {
  vitals::test::garbage_server g;
  const auto r =
      run_once(*vitals::checks::smtp({.url = "smtp://127.0.0.1:" + std::to_string(g.port())}));
  EXPECT_EQ(r.status, status::fail);
  EXPECT_NE(r.kind, failure_kind::none);
}

TEST(smtp_check, sends_a_message_over_tls_with_auth) {
  VITALS_SMTP_SERVER(e);
  const std::string rcpt = unique("oncall");
  const std::string msg = "From: alerts@example.test\r\nTo: " + rcpt +
                          "\r\nSubject: test\r\n\r\nline one\r\n.leading dot survives\r\n";
  const auto r = run_once(*vitals::checks::smtp({.url = e.starttls,
                                                 .username = e.user,
                                                 .password = e.password,
                                                 .ca_file = e.ca,
                                                 .from = "alerts@example.test",
                                                 .to = {rcpt},
                                                 .message = msg}));
  ASSERT_EQ(r.status, status::pass) << r.output;
  const auto got = delivered_to(e.maildir, rcpt);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_NE(got[0].find("X-Test-Envelope-From: alerts@example.test\r\n"), std::string::npos);
  EXPECT_NE(got[0].find("X-Test-Auth: " + e.user + "\r\n"), std::string::npos) << got[0];
  EXPECT_NE(got[0].find("X-Test-TLS: yes\r\n"), std::string::npos);
  EXPECT_NE(got[0].find("\r\n.leading dot survives\r\n"), std::string::npos) << got[0];
}

TEST(smtp_check, a_refused_recipient_is_protocol_with_its_code) {
  VITALS_SMTP_SERVER(e);
  auto send_to = [&](const std::string& rcpt) {
    return run_once(*vitals::checks::smtp({.url = e.starttls,
                                           .username = e.user,
                                           .password = e.password,
                                           .ca_file = e.ca,
                                           .from = "alerts@example.test",
                                           .to = {rcpt},
                                           .message = "Subject: x\r\n\r\nx\r\n"}));
  };
  const auto rejected = send_to(unique("reject"));
  EXPECT_EQ(rejected.kind, failure_kind::protocol);
  EXPECT_EQ(detail_of(rejected, "smtp_code"), "550");
  EXPECT_NE(rejected.output.find("refused RCPT: 550"), std::string::npos) << rejected.output;
  const auto later = send_to(unique("tempfail"));
  EXPECT_EQ(later.kind, failure_kind::protocol);
  EXPECT_EQ(detail_of(later, "smtp_code"), "451");
}

}  // namespace
