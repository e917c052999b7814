// The JSON bodies of the HTTP channels: a generic webhook, Slack incoming webhooks (text +
// Block Kit), Microsoft Teams (MessageCard) and PagerDuty Events API v2; and the RFC 5322
// message of the email channel.

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "base/text.hpp"
#include "notify/state_file.hpp"
#include "vitals/notify.hpp"

namespace vitals::notify {

namespace {

using nlohmann::json;

// Output is any bytes a check produced: invalid UTF-8 becomes U+FFFD instead of throwing.
std::string text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Cuts at a UTF-8 boundary so the JSON stays valid text.
std::string clip(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max > 3 ? max - 3 : 0;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s + "...";
}

std::string line(const alert& a) {
  std::string s = a.resolved() ? "resolved" : a.reminder ? "still failing" : "failing";
  s = (a.subject == subject_kind::probe ? "probe " : "") + a.name + ": " + s + " (" +
      std::string(to_string(a.from)) + " -> " + std::string(to_string(a.to));
  if (a.kind != failure_kind::none && !a.resolved()) s += ", " + std::string(to_string(a.kind));
  s += ")";
  if (!a.resolved() && !a.output.empty()) s += " " + a.output;
  if (a.removed) s += " removed from the configuration";
  return s;
}

std::string webhook(const message& m) {
  json j = {{"schema", "vitals.notify/v1"}, {"summary", m.summary()}, {"alerts", json::array()}};
  bool any_failing = false;
  for (const auto& a : m.alerts) {
    j["alerts"].push_back(alert_json(a));
    any_failing = any_failing || !a.resolved();
  }
  j["status"] = any_failing ? "failing" : "resolved";
  if (!m.alerts.empty()) {
    // The first alert's fields at the top level: a receiver of single alerts reads them there.
    const json first = alert_json(m.alerts.front());
    for (auto it = first.begin(); it != first.end(); ++it) {
      if (!j.contains(it.key())) j[it.key()] = it.value();
    }
  }
  return text(j);
}

std::string slack(const message& m) {
  json blocks = json::array();
  blocks.push_back(
      {{"type", "header"},
       {"text", {{"type", "plain_text"}, {"text", clip(m.summary(), 150)}, {"emoji", false}}}});
  for (const auto& a : m.alerts) {
    blocks.push_back(
        {{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", clip(line(a), 3000)}}}});
  }
  if (!m.alerts.empty()) {
    const alert& a = m.alerts.front();
    std::string ctx = "service " + (a.service_id.empty() ? "-" : a.service_id);
    if (!a.version.empty()) ctx += " " + a.version;
    if (!a.link.empty()) ctx += " | " + a.link;
    blocks.push_back(
        {{"type", "context"},
         {"elements", json::array({{{"type", "mrkdwn"}, {"text", clip(ctx, 3000)}}})}});
  }
  return text(json{{"text", m.summary()}, {"blocks", std::move(blocks)}});
}

std::string teams(const message& m) {
  bool any_failing = false;
  json sections = json::array();
  for (const auto& a : m.alerts) {
    any_failing = any_failing || !a.resolved();
    json facts = json::array({{{"name", "status"}, {"value", std::string(to_string(a.to))}},
                              {{"name", "from"}, {"value", std::string(to_string(a.from))}}});
    if (!a.resolved()) {
      facts.push_back({{"name", "failure kind"}, {"value", std::string(to_string(a.kind))}});
      if (!a.output.empty()) facts.push_back({{"name", "output"}, {"value", a.output}});
    }
    if (!a.group.empty()) facts.push_back({{"name", "group"}, {"value", a.group}});
    if (!a.service_id.empty()) facts.push_back({{"name", "service"}, {"value", a.service_id}});
    if (!a.version.empty()) facts.push_back({{"name", "version"}, {"value", a.version}});
    sections.push_back({{"activityTitle", line(a)}, {"facts", std::move(facts)}});
  }
  json card = {{"@type", "MessageCard"},
               {"@context", "https://schema.org/extensions"},
               {"summary", m.summary()},
               {"title", m.summary()},
               {"themeColor", any_failing ? "D70000" : "2EB886"},
               {"sections", std::move(sections)}};
  if (!m.alerts.empty() && !m.alerts.front().link.empty()) {
    card["potentialAction"] = json::array(
        {{{"@type", "OpenUri"},
          {"name", "Open"},
          {"targets", json::array({{{"os", "default"}, {"uri", m.alerts.front().link}}})}}});
  }
  return text(card);
}

std::string pagerduty(const alert& a, std::string_view routing_key) {
  const std::string source = a.service_id.empty() ? "vitals" : a.service_id;
  json j = {{"routing_key", std::string(routing_key)},
            {"event_action", a.resolved() ? "resolve" : "trigger"},
            // Stable per check (and service): trigger and resolve meet on the same incident.
            {"dedup_key", clip("vitals/" + source + "/" + a.key(), 255)}};
  if (!a.resolved()) {
    message one{.alerts = {a}};
    j["payload"] = {{"summary", clip(one.summary(), 1024)},
                    {"source", source},
                    {"severity", a.critical ? "critical" : "warning"},
                    {"timestamp", alert_json(a)["time"]},
                    {"component", a.name},
                    {"class", std::string(to_string(a.kind))},
                    {"custom_details", alert_json(a)}};
  }
  if (!a.link.empty()) j["links"] = json::array({{{"href", a.link}, {"text", "health"}}});
  j["client"] = "vitals";
  return text(j);
}

// --- email -----------------------------------------------------------------------------------

bool ascii(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// A header value: no line break or control character can reach the header block.
std::string header_text(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  return out;
}

// RFC 2047 encoded words of at most 75 characters (45 bytes of UTF-8 each, cut at character
// boundaries), folded onto continuation lines.
std::string encoded_words(std::string_view s) {
  std::string out;
  while (!s.empty()) {
    std::size_t n = std::min<std::size_t>(45, s.size());
    while (n < s.size() && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    if (n == 0) n = std::min<std::size_t>(45, s.size());
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base::base64(s.substr(0, n)) + "?=";
    s.remove_prefix(n);
  }
  return out;
}

// "Wed, 02 Dec 2026 08:30:00 +0000" (RFC 5322 3.3), independent of the locale.
std::string rfc5322_date(wall_time t) {
  static constexpr std::array<const char*, 7> days = {"Sun", "Mon", "Tue", "Wed",
                                                      "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "%s, %02d %s %04d %02d:%02d:%02d +0000",
                days.at(static_cast<std::size_t>(tm.tm_wday)), tm.tm_mday,
                months.at(static_cast<std::size_t>(tm.tm_mon)), tm.tm_year + 1900, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  return buf.data();
}

std::string email_body(const message& m) {
  std::string b = m.summary() + "\n";
  for (const auto& a : m.alerts) {
    b += "\n" + line(a) + "\n";
    b += "  time: " + alert_json(a)["time"].get<std::string>() + "\n";
    if (a.subject == subject_kind::check) {
      b += std::string("  severity: ") + (a.critical ? "critical" : "non-critical") + "\n";
    }
    if (!a.group.empty()) b += "  group: " + a.group + "\n";
  }
  if (!m.alerts.empty()) {
    const alert& a = m.alerts.front();
    b += "\nService: " + (a.service_id.empty() ? std::string{"-"} : a.service_id);
    if (!a.version.empty()) b += " " + a.version;
    b += "\n";
    if (!a.link.empty()) b += "Link: " + a.link + "\n";
  }
  b += "\n-- \nSent by vitals\n";
  // CRLF line ends; a lone CR (from a check's output) is dropped.
  std::string out;
  for (const char c : b) {
    if (c == '\n') {
      out += "\r\n";
    } else if (c != '\r') {
      out.push_back(c);
    }
  }
  return out;
}

// Base64 in lines of 76 characters (RFC 2045 6.8).
std::string base64_lines(std::string_view s) {
  const std::string all = base::base64(s);
  std::string out;
  for (std::size_t i = 0; i < all.size(); i += 76) out += all.substr(i, 76) + "\r\n";
  return out;
}

bool long_line(std::string_view body) {
  std::size_t run = 0;
  for (const char c : body) {
    run = c == '\n' ? 0 : run + 1;
    if (run > 998) return true;
  }
  return false;
}

}  // namespace

std::string render_email(const message& m, std::string_view from,
                         const std::vector<std::string>& to, wall_time now,
                         std::string_view message_id) {
  const std::string subject = clip(header_text(m.summary()), 200);
  std::string to_line;
  for (const auto& a : to) to_line += (to_line.empty() ? "" : ", ") + header_text(a);
  std::string out = "From: " + header_text(from) + "\r\n";
  out += "To: " + to_line + "\r\n";
  out += "Subject: " + (ascii(subject) ? subject : encoded_words(subject)) + "\r\n";
  out += "Date: " + rfc5322_date(now) + "\r\n";
  out += "Message-ID: " + header_text(message_id) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Auto-Submitted: auto-generated\r\n";
  out += "X-Mailer: vitals\r\n";
  const std::string body = email_body(m);
  if (ascii(body) && !long_line(body)) {
    out += "Content-Transfer-Encoding: 7bit\r\n\r\n" + body;
  } else {
    out += "Content-Transfer-Encoding: base64\r\n\r\n" + base64_lines(body);
  }
  return out;
}

std::vector<std::string> render_payloads(http_format f, const message& m,
                                         std::string_view routing_key) {
  switch (f) {
    case http_format::slack:
      return {slack(m)};
    case http_format::teams:
      return {teams(m)};
    case http_format::pagerduty: {
      std::vector<std::string> out;
      for (const auto& a : m.alerts) out.push_back(pagerduty(a, routing_key));
      return out;
    }
    case http_format::webhook:
      break;
  }
  return {webhook(m)};
}

}  // namespace vitals::notify
