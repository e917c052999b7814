#include "target.hpp"

#include <array>
#include <charconv>
#include <string>

#include "base/duration_scan.hpp"
#include "base/url_split.hpp"

namespace vitals::http::detail {

namespace {

bool is_false_word(std::string_view v) noexcept {
  return v == "0" || v == "false" || v == "no" || v == "off";
}

}  // namespace

std::optional<std::string_view> decode_escapes(std::string_view in, std::string& storage,
                                               bool plus_is_space) {
  if (!base::percent_decode_into(in, storage, plus_is_space)) return std::nullopt;
  return std::string_view{storage};
}

namespace {

/// Calls `on(key, value, has_value)` for each `key[=value]` of a query, decoded ('+' as a space);
/// false on a malformed escape or when `on` refuses a parameter.
template <class F>
bool each_parameter(std::string_view query, F&& on) {
  std::string key_storage;
  std::string value_storage;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    const auto key = percent_decode(part.substr(0, eq), key_storage, true);
    if (!key) return false;
    const bool has_value = eq != std::string_view::npos;
    const auto value =
        has_value ? percent_decode(part.substr(eq + 1), value_storage, true) : std::string_view{};
    if (!value || !on(*key, *value, has_value)) return false;
  }
  return true;
}

}  // namespace

std::optional<query_options> parse_query(std::string_view query) {
  query_options q;
  const bool ok =
      each_parameter(query, [&q](std::string_view key, std::string_view value, bool has_value) {
        if (key == "verbose") {
          q.verbose = !has_value || !is_false_word(value);
        } else if (key == "exclude" && !value.empty()) {
          q.exclude.emplace_back(value);
        }
        return true;
      });
  if (!ok) return std::nullopt;
  return q;
}

std::optional<push_query> parse_push_query(std::string_view query) {
  push_query q;
  const bool ok = each_parameter(query, [&q](std::string_view key, std::string_view v, bool) {
    if (key == "status") {
      if (v == "pass" || v == "up" || v == "ok") {
        q.reported = status::pass;
      } else if (v == "warn") {
        q.reported = status::warn;
      } else if (v == "fail" || v == "down" || v == "error") {
        q.reported = status::fail;
      } else {
        return false;
      }
    } else if (key == "msg" || key == "message") {
      q.message.assign(v);
    }
    return true;
  });
  if (!ok) return std::nullopt;
  return q;
}

namespace {

// A window of the history API: "<number><unit>..." (s, m, h, d), at least 1 s, at most `most`.
std::optional<std::chrono::seconds> window_of(std::string_view text, std::chrono::hours most) {
  const auto scan =
      base::scan_duration(text, base::unit_s | base::unit_m | base::unit_h | base::unit_d, 1e9);
  if (scan.error != base::duration_scan_error::none || scan.bare || !(scan.total >= 1) ||
      scan.total > static_cast<double>(std::chrono::seconds{most}.count())) {
    return std::nullopt;
  }
  return std::chrono::seconds{static_cast<std::int64_t>(scan.total)};
}

}  // namespace

std::optional<history_query> parse_history_query(std::string_view query) {
  using std::chrono::hours;
  history_query q;
  std::string window;
  const bool ok = each_parameter(query, [&](std::string_view key, std::string_view v, bool) {
    if (key == "resolution") {
      if (v == "minute") {
        q.resolution = history_resolution::minute;
      } else if (v == "hour") {
        q.resolution = history_resolution::hour;
      } else if (v == "day") {
        q.resolution = history_resolution::day;
      } else {
        return false;
      }
    } else if (key == "window") {
      window.assign(v);
    }
    return true;
  });
  if (!ok) return std::nullopt;
  constexpr std::array<std::pair<hours, hours>, 3> bounds{
      {{hours{1}, hours{48}}, {hours{24 * 7}, hours{24 * 90}}, {hours{24 * 90}, hours{24 * 730}}}};
  const auto [fallback, most] = bounds[static_cast<std::size_t>(q.resolution)];
  if (window.empty()) {
    q.window = fallback;
    return q;
  }
  const auto w = window_of(window, most);
  if (!w) return std::nullopt;
  q.window = *w;
  return q;
}

std::optional<badge_query> parse_badge_query(std::string_view query) {
  badge_query q;
  const bool ok = each_parameter(query, [&](std::string_view key, std::string_view v, bool) {
    if (key == "show") {
      if (v == "status") {
        q.show = badge_query::shown::status;
      } else if (v == "uptime") {
        q.show = badge_query::shown::uptime;
      } else if (v == "response_time") {
        q.show = badge_query::shown::response_time;
      } else {
        return false;
      }
    } else if (key == "window") {
      if (v != "1h" && v != "24h" && v != "7d" && v != "30d" && v != "365d") return false;
      q.window.assign(v);
    } else if (key == "label") {
      if (v.size() > 64) return false;
      q.label.assign(v);
    }
    return true;
  });
  if (!ok) return std::nullopt;
  return q;
}

std::optional<status_page_query> parse_status_page_query(std::string_view query) {
  status_page_query q;
  const bool ok = each_parameter(query, [&](std::string_view key, std::string_view v, bool) {
    if (key == "q") {
      if (v.size() > 128) return false;
      q.text.assign(v);
    } else if (key == "group") {
      if (v.size() > 128) return false;
      q.group.assign(v);
    } else if (key == "status") {
      if (v.empty()) {
        q.only.reset();
      } else if (v == "pass") {
        q.only = status::pass;
      } else if (v == "warn") {
        q.only = status::warn;
      } else if (v == "fail") {
        q.only = status::fail;
      } else if (v == "unknown") {
        q.only = status::unknown;
      } else {
        return false;
      }
    } else if (key == "page") {
      if (v.empty() || v.size() > 7 ||
          v.find_first_not_of("0123456789") != std::string_view::npos) {
        return false;
      }
      q.page = static_cast<std::size_t>(std::stoul(std::string{v}));
      if (q.page == 0) return false;
    }
    return true;
  });
  if (!ok) return std::nullopt;
  return q;
}

std::optional<incident_query> parse_incident_query(std::string_view query) {
  incident_query q;
  std::string window;
  const bool ok = each_parameter(query, [&](std::string_view key, std::string_view v, bool) {
    if (key == "window") window.assign(v);
    if (key == "target") q.target.assign(v);
    return true;
  });
  if (!ok) return std::nullopt;
  if (!window.empty()) {
    const auto w = window_of(window, std::chrono::hours{24 * 730});
    if (!w) return std::nullopt;
    q.window = *w;
  }
  return q;
}

std::optional<std::uint64_t> parse_event_id(std::string_view text) noexcept {
  std::uint64_t v = 0;
  if (text.empty() || text.size() > 20) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<event_query> parse_event_query(std::string_view query) {
  event_query q;
  const bool ok = each_parameter(query, [&q](std::string_view key, std::string_view v, bool) {
    if (key != "last_event_id") return true;
    q.last_event_id = parse_event_id(v);
    return q.last_event_id.has_value();
  });
  if (!ok) return std::nullopt;
  return q;
}

}  // namespace vitals::http::detail
