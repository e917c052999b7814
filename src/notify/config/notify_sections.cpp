// The configuration rows of notifications: `notify:` (a list of notifiers) and `notify_state:`,
// bound to vitals::config::notifier_config. Compiled into vitals::config (which owns the file
// format); vitalsd turns the entries into vitals::notify notifiers.
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/cron.hpp"
#include "base/duration_scan.hpp"
#include "config/sections.hpp"

namespace vitals::config {

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text) {
  const std::string t{text};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, used = 0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) != 6 ||
      used != 19 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return std::nullopt;
  }
  std::size_t i = 19;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;  // sub-second digits: ignored
  }
  long offset = 0;
  if (i < t.size() && (t[i] == 'Z' || t[i] == 'z')) {
    ++i;
  } else if (i + 6 == t.size() && (t[i] == '+' || t[i] == '-') && t[i + 3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(t.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (t[i] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != t.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  const std::time_t secs = ::timegm(&tm);
  return std::chrono::system_clock::from_time_t(secs - offset);
}

std::optional<maintenance_spec> parse_maintenance(std::string_view text, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<maintenance_spec> {
    if (error != nullptr) *error = std::move(why);
    return std::nullopt;
  };
  const std::string examples =
      "expected \"START/END\" in RFC 3339 (\"2026-12-02T01:00:00Z/2026-12-02T03:00:00Z\") or "
      "\"<cron> for <duration>\" (\"0 2 * * SUN for 2h\")";
  if (const auto f = text.rfind(" for "); f != std::string_view::npos) {
    std::string why;
    const auto schedule = base::cron_schedule::parse(text.substr(0, f), &why);
    if (!schedule) return fail("maintenance \"" + std::string(text) + "\": " + why);
    const auto length_text = text.substr(f + 5);
    const auto scan =
        base::scan_duration(length_text, base::unit_m | base::unit_h | base::unit_d, 60e9);
    const double minutes = scan.total;
    if (scan.error != base::duration_scan_error::none || scan.bare || minutes < 1 ||
        minutes > 31 * 24 * 60 || minutes != static_cast<double>(static_cast<long>(minutes))) {
      return fail("maintenance \"" + std::string(text) +
                  "\": the length must be whole minutes from 1m to 31d (e.g. 90m, 2h, 1d)");
    }
    return maintenance_spec{.every = std::string(text.substr(0, f)),
                            .length = std::chrono::minutes{static_cast<long>(minutes)}};
  }
  const auto slash = text.find('/');
  const auto start =
      slash == std::string_view::npos ? std::nullopt : parse_rfc3339(text.substr(0, slash));
  const auto end =
      slash == std::string_view::npos ? std::nullopt : parse_rfc3339(text.substr(slash + 1));
  if (!start || !end) return fail(examples + " (got \"" + std::string(text) + "\")");
  if (*end <= *start) {
    return fail("maintenance window \"" + std::string(text) + "\" ends before it starts");
  }
  return maintenance_spec{.start = *start, .end = *end};
}

namespace detail {
namespace {

using nc = notifier_config;

const section_spec& notifier_section() {
  static const section_spec s = [] {
    section_builder<nc> b{"notify", "A notifier: where transitions are sent, and when."};
    b.key("name", &nc::name, "Name in logs and in the notifier label of the metrics.",
          {.required = true});
    b.custom("type", value_kind::string,
             "Channel: webhook, slack, teams, pagerduty, email, command.",
             [](nc& o, const value& v) { assign(o.type, v); }, std::nullopt, {.required = true},
             {"webhook", "slack", "teams", "pagerduty", "email", "command"});
    b.key("url", &nc::url,
          "http:// or https:// URL to POST to (a secret: never shown). PagerDuty: default "
          "https://events.pagerduty.com/v2/enqueue. email: smtp://host:587 (STARTTLS) or "
          "smtps://host:465.",
          {.secret = true});
    b.key("routing_key", &nc::routing_key, "PagerDuty Events v2 integration key (a secret).",
          {.secret = true});
    b.key("ca_file", &nc::ca_file,
          "PEM CAs to trust for an https or SMTP TLS connection (empty: the system's).");
    b.key("username", &nc::username, "email: SMTP AUTH user.");
    b.key("password", &nc::password, "email: SMTP AUTH password (a secret).", {.secret = true});
    b.custom("tls", value_kind::string,
             "email, smtp:// only: starttls (required, the default) or none (plain text).",
             [](nc& o, const value& v) { assign(o.tls, v); }, value{std::string{"starttls"}}, {},
             {"starttls", "none"});
    b.key("from", &nc::from, "email: sender, e.g. alerts@example.com or \"Vitals <alerts@...>\".");
    b.key("to", &nc::to, "email: recipients.");
    b.key("link", &nc::link,
          "A URL shown in the messages (a status page, the service's /health); not a secret.");
    b.key("command", &nc::command,
          "command: program and arguments, run without a shell; the alert JSON on stdin.");
    b.key("checks", &nc::checks, "Check names or globs (*, ?) to notify about; empty: all.");
    b.key("groups", &nc::groups,
          "Target groups (names or globs) whose checks are notified about; empty: any check. "
          "With checks too, a check must match both.");
    b.custom("probes", value_kind::string_list, "Probes whose transitions are sent.",
             [](nc& o, const value& v) { assign(o.probes, v); }, value{std::vector<std::string>{}},
             {}, {"live", "ready", "startup"});
    b.custom("severity", value_kind::string,
             "critical: only critical checks and probes; all: every routed check.",
             [](nc& o, const value& v) { assign(o.severity, v); }, value{std::string{"all"}}, {},
             {"critical", "all"});
    b.key("for", &nc::for_duration,
          "A failure must last this long before it is sent; a recovery within it sends nothing.");
    b.key("repeat_every", &nc::repeat_every, "Remind this often while still failing (0: never).");
    b.key("send_on_resolved", &nc::send_on_resolved, "Send a message when a failure recovers.");
    b.key("group_wait", &nc::group_wait,
          "Alerts within this window of the first are sent as one message.");
    b.custom("group_by", value_kind::string,
             "none: one grouping window for all alerts; group: one per target group, so each "
             "group's outage is a message of its own.",
             [](nc& o, const value& v) { assign(o.group_by, v); }, value{std::string{"none"}}, {},
             {"none", "group"});
    b.key("rate_limit", &nc::rate_limit,
          "At most this many messages per rate_window (0: no limit); the rest are dropped.",
          {.min = 0.0});
    b.key("rate_window", &nc::rate_window, "The window of rate_limit.");
    b.key("maintenance", &nc::maintenance,
          "Silent windows: \"START/END\" in RFC 3339 "
          "(\"2026-12-02T01:00:00Z/2026-12-02T03:00:00Z\"), or recurring \"<cron> for "
          "<duration>\" in UTC (\"0 2 * * SUN for 2h\").");
    b.key("timeout", &nc::timeout, "Deadline of one delivery attempt.");
    b.key("retries", &nc::retries, "Attempts after the first, with exponential backoff.",
          {.min = 0.0, .max = 20.0});
    b.key("backoff", &nc::backoff, "Wait before the first retry (doubled each time, jittered).");
    b.key("queue", &nc::queue, "Messages waiting for this notifier; past it they are dropped.",
          {.min = 1.0, .max = 100000.0});
    return b.section();
  }();
  return s;
}

std::optional<key_problem> email_rule(const nc& n) {
  if (n.url.empty()) {
    return key_problem{.key = "type", .message = "an email notifier needs url: smtp://host:587"};
  }
  const bool smtps = n.url.rfind("smtps://", 0) == 0;
  if (!smtps && n.url.rfind("smtp://", 0) != 0) {
    return key_problem{.key = "url", .message = "url must start with smtp:// or smtps://"};
  }
  if (n.from.empty()) {
    return key_problem{.key = "type", .message = "an email notifier needs from: an address"};
  }
  if (n.to.empty()) {
    return key_problem{.key = "type", .message = "an email notifier needs to: [addresses]"};
  }
  if (n.username.empty() != n.password.empty()) {
    // Point at the key that is there (it has a line).
    return key_problem{.key = n.username.empty() ? "password" : "username",
                       .message = "username and password go together"};
  }
  if (n.tls == "none" && (smtps || !n.password.empty())) {
    return key_problem{.key = "tls",
                       .message = smtps ? "tls: none contradicts an smtps:// URL"
                                        : "tls: none would send the password in the clear"};
  }
  return std::nullopt;
}

std::optional<key_problem> notifier_rule(const void* item) {
  const auto& n = *static_cast<const nc*>(item);
  const bool email = n.type == "email";
  if (!email) {
    const std::pair<const char*, bool> email_keys[] = {{"username", !n.username.empty()},
                                                       {"password", !n.password.empty()},
                                                       {"tls", n.tls != "starttls"},
                                                       {"from", !n.from.empty()},
                                                       {"to", !n.to.empty()}};
    for (const auto& [key, set] : email_keys) {
      if (set) return key_problem{.key = key, .message = std::string(key) + " is for email only"};
    }
  } else if (auto p = email_rule(n)) {
    return p;
  }
  const bool http = n.type != "command" && !email;
  if (n.type == "command" && n.command.empty()) {
    return key_problem{.key = "command", .message = "a command notifier needs command: [argv...]"};
  }
  if (n.type == "command" && !n.url.empty()) {
    return key_problem{.key = "url", .message = "url is for the HTTP notifiers, not command"};
  }
  if (http && n.type != "pagerduty" && n.url.empty()) {
    return key_problem{.key = "type",
                       .message = "a " + n.type + " notifier needs url (or url_file)"};
  }
  if (http && !n.url.empty()) {
    // The URL is a secret: say what is wrong without it.
    const bool https = n.url.rfind("https://", 0) == 0;
    if (!https && n.url.rfind("http://", 0) != 0) {
      return key_problem{.key = "url", .message = "url must start with http:// or https://"};
    }
    const auto host = n.url.find_first_not_of('/', https ? 8 : 7);
    if (host != (https ? 8U : 7U) || n.url.find_first_of("/?#", host) == host) {
      return key_problem{.key = "url", .message = "url has no host"};
    }
  }
  if (n.type == "pagerduty" && n.routing_key.empty()) {
    return key_problem{.key = "type",
                       .message = "a pagerduty notifier needs routing_key (or routing_key_file)"};
  }
  if (n.type != "pagerduty" && !n.routing_key.empty()) {
    return key_problem{.key = "routing_key", .message = "routing_key is for pagerduty only"};
  }
  if (n.type != "command" && !n.command.empty()) {
    return key_problem{.key = "command", .message = "command is for the command notifier only"};
  }
  for (const auto& w : n.maintenance) {
    std::string why;
    if (!parse_maintenance(w, &why)) return key_problem{.key = "maintenance", .message = why};
  }
  return std::nullopt;
}

std::optional<std::string> parse_notify_state(const std::string& v, const std::string&,
                                              document& d) {
  if (v.empty()) return std::string{"expected a file path"};
  d.cfg.notify_state = v;
  return std::nullopt;
}

}  // namespace

top_level_key notify_key() {
  return {.name = "notify",
          .doc =
              "Notifiers: where transitions of checks and probes are sent "
              "(docs/notifications.md).",
          .section = &notifier_section(),
          .shape = section_shape::mapping_list,
          .append = [](document& d, int line) -> void* {
            d.cfg.notify.emplace_back();
            d.cfg.notify.back().line = line;
            return &d.cfg.notify.back();
          },
          .item_rule = notifier_rule,
          .unique_name = [](const document& d, std::size_t i) -> const std::string& {
            return d.cfg.notify[i].name;
          }};
}

top_level_key notify_state_key() {
  return {.name = "notify_state",
          .doc =
              "File keeping which alerts were sent, so a restart neither repeats a failure "
              "nor forgets a recovery (written atomically), e.g. /var/lib/vitalsd/notify.json.",
          .shape = section_shape::scalar,
          .expects = "a file path",
          .parse = parse_notify_state};
}

}  // namespace detail
}  // namespace vitals::config
