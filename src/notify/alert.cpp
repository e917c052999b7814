#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "base/cron.hpp"
#include "notify/state_file.hpp"
#include "vitals/notify.hpp"

namespace vitals::notify {

namespace {

status status_from(std::string_view s) {
  for (auto st : {status::pass, status::warn, status::fail, status::unknown}) {
    if (to_string(st) == s) return st;
  }
  return status::unknown;
}

failure_kind kind_from(std::string_view s) {
  for (int i = 0; i <= static_cast<int>(failure_kind::stale); ++i) {
    if (to_string(static_cast<failure_kind>(i)) == s) return static_cast<failure_kind>(i);
  }
  return failure_kind::none;
}

std::string iso_time(wall_time t) {
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - secs).count();
  const std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

bool maintenance_window::contains(wall_time t) const {
  if (every.empty()) return t >= start && t < end;
  const auto schedule = base::cron_schedule::parse(every);
  return schedule && schedule->in_window(t, length);
}

std::string maintenance_window::error() const {
  std::string why;
  if (!every.empty() && !base::cron_schedule::parse(every, &why)) return why;
  if (!every.empty() && length.count() <= 0) return "a recurring window needs a length";
  return {};
}

std::string alert::key() const {
  return std::string(subject == subject_kind::check ? "check:" : "probe:") + name;
}

std::string message::summary() const {
  if (alerts.size() == 1) {
    const alert& a = alerts.front();
    std::string s = a.resolved() ? "[RESOLVED] " : a.reminder ? "[STILL FAILING] " : "[FAIL] ";
    if (a.subject == subject_kind::probe) s += "probe ";
    s += a.name;
    if (!a.service_id.empty()) s += " (" + a.service_id + ")";
    if (!a.resolved() && !a.output.empty()) s += ": " + a.output;
    if (a.removed) s += ": removed from the configuration";
    return s;
  }
  std::size_t failing = 0;
  bool one_group = !alerts.empty() && !alerts.front().group.empty();
  for (const auto& a : alerts) {
    failing += a.resolved() ? 0 : 1;
    one_group = one_group && a.group == alerts.front().group;
  }
  std::string s = std::to_string(alerts.size()) + " alerts";
  if (one_group) s += " in " + alerts.front().group;
  s += " (" + std::to_string(failing) + " failing, " + std::to_string(alerts.size() - failing) +
       " resolved): ";
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    if (i > 0) s += ", ";
    s += alerts[i].name;
  }
  return s;
}

std::string_view to_string(http_format f) noexcept {
  switch (f) {
    case http_format::webhook:
      return "webhook";
    case http_format::slack:
      return "slack";
    case http_format::teams:
      return "teams";
    case http_format::pagerduty:
      return "pagerduty";
  }
  return "webhook";
}

nlohmann::json alert_json(const alert& a) {
  return {
      {"subject", a.subject == subject_kind::check ? "check" : "probe"},
      {"check", a.name},
      {"group", a.group},
      {"from", to_string(a.from)},
      {"to", to_string(a.to)},
      {"failure_kind", to_string(a.kind)},
      {"output", a.output},
      {"critical", a.critical},
      {"resolved", a.resolved()},
      {"reminder", a.reminder},
      {"removed", a.removed},
      {"time", iso_time(a.time)},
      {"time_unix_ms",
       std::chrono::duration_cast<std::chrono::milliseconds>(a.time.time_since_epoch()).count()},
      {"service_id", a.service_id},
      {"version", a.version},
      {"link", a.link}};
}

std::string write_state_file(const std::string& path, const std::vector<saved_alert>& alerts) {
  nlohmann::json j = {{"version", 1}, {"announced", nlohmann::json::array()}};
  for (const auto& s : alerts) {
    auto item = alert_json(s.alert);
    item["notifier"] = s.notifier;
    j["announced"].push_back(std::move(item));
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    out.flush();
    if (!out) return "cannot write " + tmp;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return "cannot rename " + tmp + " to " + path;
  }
  return {};
}

std::vector<saved_alert> read_state_file(const std::string& path, std::string& error) {
  std::vector<saved_alert> out;
  std::ifstream in(path);
  if (!in) return out;
  try {
    const auto j = nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
    for (const auto& item : j.at("announced")) {
      saved_alert s;
      s.notifier = item.at("notifier").get<std::string>();
      s.alert.subject = item.at("subject").get<std::string>() == "probe" ? subject_kind::probe
                                                                         : subject_kind::check;
      s.alert.name = item.at("check").get<std::string>();
      s.alert.group = item.value("group", "");
      s.alert.from = status_from(item.at("from").get<std::string>());
      s.alert.to = status_from(item.at("to").get<std::string>());
      s.alert.kind = kind_from(item.value("failure_kind", "none"));
      s.alert.output = item.value("output", "");
      s.alert.critical = item.value("critical", true);
      s.alert.time = wall_time{std::chrono::milliseconds{item.value("time_unix_ms", 0LL)}};
      out.push_back(std::move(s));
    }
  } catch (const std::exception& e) {
    error = path + ": " + e.what();
    out.clear();
  }
  return out;
}

}  // namespace vitals::notify
