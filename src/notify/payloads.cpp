// The JSON bodies of the HTTP channels: a generic webhook, Slack incoming webhooks (text +
// Block Kit), Microsoft Teams (MessageCard) and PagerDuty Events API v2.

#include <nlohmann/json.hpp>

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

}  // namespace

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
