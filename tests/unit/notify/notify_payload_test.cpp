// The HTTP channels' bodies against the documented shapes (required fields and their types):
// Slack incoming webhooks (text + Block Kit), Teams MessageCard, PagerDuty Events API v2.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "vitals/notify.hpp"

namespace {

using nlohmann::json;
using vitals::status;
using namespace vitals::notify;

alert sample(std::string name, status to) {
  return {.subject = subject_kind::check,
          .name = std::move(name),
          .from = to == status::fail ? status::pass : status::fail,
          .to = to,
          .kind = to == status::fail ? vitals::failure_kind::timeout : vitals::failure_kind::none,
          .output = to == status::fail ? "timed out after 2s" : "",
          .critical = true,
          .time = std::chrono::system_clock::time_point{std::chrono::seconds{1'767'225'600}},
          .service_id = "billing",
          .version = "1.2.3",
          .link = "http://billing:8081/health"};
}

json one(http_format f, const message& m, std::string_view key = {}) {
  auto bodies = render_payloads(f, m, key);
  EXPECT_EQ(bodies.size(), 1u);
  return json::parse(bodies.at(0));
}

TEST(notify_payload, webhook_has_the_alert_fields_at_the_top_and_in_alerts) {
  const auto j = one(http_format::webhook, {.alerts = {sample("db", status::fail)}});
  EXPECT_EQ(j["check"], "db");
  EXPECT_EQ(j["group"], "");  // not a target of a group
  EXPECT_EQ(j["from"], "pass");
  EXPECT_EQ(j["to"], "fail");
  EXPECT_EQ(j["failure_kind"], "timeout");
  EXPECT_EQ(j["output"], "timed out after 2s");
  EXPECT_EQ(j["time"], "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(j["service_id"], "billing");
  EXPECT_EQ(j["version"], "1.2.3");
  EXPECT_EQ(j["link"], "http://billing:8081/health");
  EXPECT_EQ(j["status"], "failing");
  EXPECT_TRUE(j["summary"].is_string());
  ASSERT_TRUE(j["alerts"].is_array());
  EXPECT_EQ(j["alerts"].size(), 1u);
  const auto r = one(http_format::webhook, {.alerts = {sample("db", status::pass)}});
  EXPECT_EQ(r["status"], "resolved");
  EXPECT_EQ(r["resolved"], true);
}

TEST(notify_payload, slack_has_text_and_valid_blocks) {
  const auto j = one(http_format::slack,
                     {.alerts = {sample("db", status::fail), sample("cache", status::fail)}});
  ASSERT_TRUE(j["text"].is_string());
  EXPECT_NE(j["text"].get<std::string>().find("db, cache"), std::string::npos);
  ASSERT_TRUE(j["blocks"].is_array());
  ASSERT_GE(j["blocks"].size(), 3u);
  for (const auto& b : j["blocks"]) {
    ASSERT_TRUE(b["type"].is_string());
    const auto type = b["type"].get<std::string>();
    if (type == "header") {
      EXPECT_EQ(b["text"]["type"], "plain_text");  // headers take plain_text only
      EXPECT_LE(b["text"]["text"].get<std::string>().size(), 150u);
    } else if (type == "section") {
      EXPECT_EQ(b["text"]["type"], "mrkdwn");
      EXPECT_LE(b["text"]["text"].get<std::string>().size(), 3000u);
    } else {
      EXPECT_EQ(type, "context");
      ASSERT_TRUE(b["elements"].is_array());
      EXPECT_EQ(b["elements"][0]["type"], "mrkdwn");
    }
  }
}

TEST(notify_payload, long_text_and_invalid_utf8_give_valid_json) {
  alert a = sample(std::string(200, 'x'), status::fail);
  a.output = std::string(200, static_cast<char>(0xc3));
  const auto body = render_payloads(http_format::slack, {.alerts = {a}}).at(0);
  const auto j = json::parse(body);
  EXPECT_LE(j["blocks"][0]["text"]["text"].get<std::string>().size(), 150u);
}

TEST(notify_payload, teams_is_a_message_card) {
  const auto j = one(http_format::teams, {.alerts = {sample("db", status::fail)}});
  EXPECT_EQ(j["@type"], "MessageCard");
  EXPECT_EQ(j["@context"], "https://schema.org/extensions");
  ASSERT_TRUE(j["summary"].is_string());  // required when there is no text
  ASSERT_TRUE(j["themeColor"].is_string());
  ASSERT_TRUE(j["sections"].is_array());
  for (const auto& f : j["sections"][0]["facts"]) {
    EXPECT_TRUE(f["name"].is_string());
    EXPECT_TRUE(f["value"].is_string());
  }
  EXPECT_EQ(j["potentialAction"][0]["@type"], "OpenUri");
  EXPECT_EQ(j["potentialAction"][0]["targets"][0]["uri"], "http://billing:8081/health");
}

TEST(notify_payload, pagerduty_trigger_and_resolve_share_a_stable_dedup_key) {
  const auto t = one(http_format::pagerduty, {.alerts = {sample("db", status::fail)}}, "R0UT1NG");
  EXPECT_EQ(t["routing_key"], "R0UT1NG");
  EXPECT_EQ(t["event_action"], "trigger");
  ASSERT_TRUE(t["dedup_key"].is_string());
  EXPECT_LE(t["dedup_key"].get<std::string>().size(), 255u);
  const auto& p = t["payload"];
  ASSERT_TRUE(p["summary"].is_string());
  EXPECT_LE(p["summary"].get<std::string>().size(), 1024u);
  EXPECT_EQ(p["source"], "billing");
  EXPECT_EQ(p["severity"], "critical");  // one of critical, error, warning, info
  EXPECT_EQ(p["timestamp"], "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(t["links"][0]["href"], "http://billing:8081/health");

  const auto r = one(http_format::pagerduty, {.alerts = {sample("db", status::pass)}}, "R0UT1NG");
  EXPECT_EQ(r["event_action"], "resolve");
  EXPECT_EQ(r["dedup_key"], t["dedup_key"]);
  EXPECT_FALSE(r.contains("payload"));

  alert other = sample("cache", status::fail);
  other.critical = false;
  const auto o = one(http_format::pagerduty, {.alerts = {other}}, "R0UT1NG");
  EXPECT_NE(o["dedup_key"], t["dedup_key"]);
  EXPECT_EQ(o["payload"]["severity"], "warning");
}

TEST(notify_payload, pagerduty_sends_one_event_per_grouped_alert) {
  auto bodies =
      render_payloads(http_format::pagerduty,
                      {.alerts = {sample("a", status::fail), sample("b", status::pass)}}, "k");
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(json::parse(bodies[0])["event_action"], "trigger");
  EXPECT_EQ(json::parse(bodies[1])["event_action"], "resolve");
}

TEST(notify_payload, http_notifier_refuses_bad_urls_without_showing_them) {
  try {
    static_cast<void>(make_http_notifier({.url = "ftp://user:hunter2@x/"}));
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos);
  }
  EXPECT_THROW(static_cast<void>(make_http_notifier({.format = http_format::pagerduty})),
               std::invalid_argument);
  auto n = make_http_notifier({.format = http_format::pagerduty, .routing_key = "k3y-123"});
  const auto s = n->secrets();
  EXPECT_NE(std::find(s.begin(), s.end(), "k3y-123"), s.end());
}

// --- email ------------------------------------------------------------------------------------

std::string header(const std::string& mail, const std::string& name) {
  const auto at = mail.find("\r\n" + name + ": ");
  if (at == std::string::npos) return {};
  const auto start = at + 4 + name.size();
  return mail.substr(start, mail.find("\r\n", start) - start);
}

std::string body_of(const std::string& mail) { return mail.substr(mail.find("\r\n\r\n") + 4); }

const wall_time dec_2 =
    std::chrono::sys_days{std::chrono::year{2026} / 12 / 2} + std::chrono::hours{8};

TEST(notify_email, is_an_rfc5322_message_with_crlf_lines) {
  const message m{.alerts = {sample("db", status::fail)}};
  const std::string mail = render_email(m, "Vitals <alerts@example.com>",
                                        {"a@example.com", "b@example.com"}, dec_2, "<1@host>");
  EXPECT_TRUE(mail.starts_with("From: Vitals <alerts@example.com>\r\n")) << mail;
  EXPECT_EQ(header(mail, "To"), "a@example.com, b@example.com");
  EXPECT_EQ(header(mail, "Subject"), "[FAIL] db (billing): timed out after 2s");
  EXPECT_EQ(header(mail, "Date"), "Wed, 02 Dec 2026 08:00:00 +0000");
  EXPECT_EQ(header(mail, "Message-ID"), "<1@host>");
  EXPECT_EQ(header(mail, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(header(mail, "Content-Transfer-Encoding"), "7bit");
  EXPECT_EQ(header(mail, "Auto-Submitted"), "auto-generated");
  for (std::size_t i = 0; i < mail.size(); ++i) {
    if (mail[i] == '\n') {
      ASSERT_TRUE(i > 0 && mail[i - 1] == '\r') << "bare LF at " << i;
    }
  }
  const std::string body = body_of(mail);
  EXPECT_NE(body.find("db: failing (pass -> fail, timeout) timed out after 2s\r\n"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("  time: 2026-01-01T00:00:00.000Z\r\n"), std::string::npos) << body;
  EXPECT_NE(body.find("Service: billing 1.2.3\r\n"), std::string::npos);
  EXPECT_NE(body.find("Link: http://billing:8081/health\r\n"), std::string::npos);
  const std::string resolved =
      render_email({.alerts = {sample("db", status::pass)}}, "a@b", {"c@d"}, dec_2, "<2@h>");
  EXPECT_EQ(header(resolved, "Subject"), "[RESOLVED] db (billing)");
}

TEST(notify_email, a_line_break_in_the_output_cannot_add_a_header) {
  auto a = sample("db", status::fail);
  a.output = "refused\r\nBcc: victim@example.com\nX-Evil: 1";
  const std::string mail = render_email({.alerts = {a}}, "a@b", {"c@d"}, dec_2, "<3@h>");
  const std::string head = mail.substr(0, mail.find("\r\n\r\n"));
  EXPECT_EQ(head.find("\r\nBcc:"), std::string::npos) << head;
  EXPECT_EQ(head.find("\r\nX-Evil:"), std::string::npos) << head;
  EXPECT_NE(header(mail, "Subject").find("refused  Bcc: victim@example.com X-Evil: 1"),
            std::string::npos)
      << header(mail, "Subject");
}

TEST(notify_email, non_ascii_is_encoded_and_long_lines_are_base64) {
  auto a = sample("données", status::fail);
  a.output = "délai dépassé " + std::string(1500, 'x');
  const std::string mail = render_email({.alerts = {a}}, "a@b", {"c@d"}, dec_2, "<4@h>");
  const std::string head = mail.substr(0, mail.find("\r\n\r\n"));
  for (char c : head) ASSERT_LT(static_cast<unsigned char>(c), 0x80) << head;
  const auto subject_at = head.find("Subject: ");
  const auto subject_end = head.find("\r\nDate:");
  const std::string subject = head.substr(subject_at + 9, subject_end - subject_at - 9);
  EXPECT_TRUE(subject.starts_with("=?UTF-8?B?")) << subject;
  // Each encoded word is at most 75 characters (RFC 2047), folded onto continuation lines.
  std::size_t from = 0;
  while (from < subject.size()) {
    auto end = subject.find("\r\n ", from);
    if (end == std::string::npos) end = subject.size();
    EXPECT_LE(end - from, 75u);
    from = end + 3;
  }
  EXPECT_EQ(header(mail, "Content-Transfer-Encoding"), "base64");
  const std::string body = body_of(mail);
  std::size_t run = 0;
  for (char c : body) {
    run = c == '\n' ? 0 : run + 1;
    ASSERT_LE(run, 78u);
  }
}

TEST(notify_email, the_notifier_refuses_bad_addresses_and_never_shows_the_password) {
  const auto error_of = [](email_notifier_options o) {
    try {
      (void)make_email_notifier(std::move(o));
    } catch (const std::invalid_argument& e) {
      return std::string{e.what()};
    }
    return std::string{};
  };
  EXPECT_NE(error_of({.url = "smtp://m", .from = "nobody", .to = {"c@d"}}).find("from"),
            std::string::npos);
  EXPECT_NE(error_of({.url = "smtp://m", .from = "a@b"}).find("to is empty"), std::string::npos);
  EXPECT_NE(error_of({.url = "smtp://m", .from = "a@b", .to = {"c d@e"}}).find("recipient"),
            std::string::npos);
  EXPECT_NE(error_of({.url = "http://m", .from = "a@b", .to = {"c@d"}}).find("smtp://"),
            std::string::npos);
  // Judged by the client at the first message (vitalsd's loader refuses it before that).
  auto in_clear = make_email_notifier({.url = "smtp://m",
                                       .username = "u",
                                       .password = "PW-in-clear",
                                       .tls = "none",
                                       .from = "a@b",
                                       .to = {"c@d"}});
  const delivery d = in_clear->send({.alerts = {sample("db", status::fail)}},
                                    std::chrono::steady_clock::now() + std::chrono::seconds{1});
  EXPECT_FALSE(d.ok);
  EXPECT_TRUE(d.permanent);
  EXPECT_NE(d.error.find("in the clear"), std::string::npos) << d.error;
  EXPECT_EQ(d.error.find("PW-in-clear"), std::string::npos);
  auto n = make_email_notifier(
      {.url = "smtp://m:587", .username = "u", .password = "PW-1", .from = "a@b", .to = {"c@d"}});
  EXPECT_EQ(n->secrets(), (std::vector<std::string>{"PW-1"}));
}

}  // namespace
