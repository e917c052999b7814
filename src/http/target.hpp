#pragma once
// Private: the request target as the handler reads it (path, query, percent-decoding). Not
// installed.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/history.hpp"
#include "vitals/status.hpp"

namespace vitals::http::detail {

/// Targets longer than this are refused with 414 before any parsing.
inline constexpr std::size_t max_target = 2048;

/// What the probe endpoints read from the query (`?verbose`, `exclude=name`, repeatable).
struct query_options {
  bool verbose = false;
  std::vector<std::string> exclude{};
};

/// A request target cut into its (still encoded) path and query; a fragment is dropped. The
/// absolute form (RFC 9112 §3.2.2: "http://host:port/readyz?verbose", scheme http or https in
/// any case) is served as its origin form: the authority is ignored for routing and an empty
/// path is "/". Anything else that does not start with '/' is left as is (a 400).
///
///     split_target("/readyz?verbose#x") == {"/readyz", "verbose"}
///     split_target("http://10.0.0.1:8081/readyz") == {"/readyz", ""}
struct target_parts {
  std::string_view path;
  std::string_view query;
};
/// The target without "scheme://authority" if it is in absolute form (the path may be empty).
[[nodiscard]] inline std::string_view strip_absolute_form(std::string_view target) noexcept {
  const auto scheme_is = [&](std::string_view scheme) {
    if (target.size() <= scheme.size()) return false;
    for (std::size_t i = 0; i < scheme.size(); ++i) {
      const char c = target[i];
      if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != scheme[i]) return false;
    }
    return true;
  };
  std::size_t skip = 0;
  if (scheme_is("http://")) {
    skip = 7;
  } else if (scheme_is("https://")) {
    skip = 8;
  } else {
    return target;
  }
  const std::size_t end = target.find_first_of("/?#", skip);
  if (end == skip) return target;  // no host: not a valid absolute form
  return end == std::string_view::npos ? std::string_view{} : target.substr(end);
}
[[nodiscard]] inline target_parts split_target(std::string_view target) noexcept {
  bool absolute = false;
  if (!target.empty() && target.front() != '/') {
    const std::string_view origin = strip_absolute_form(target);
    absolute = origin.size() != target.size();
    target = origin;
  }
  target_parts t{target, {}};
  if (const std::size_t hash = t.path.find('#'); hash != std::string_view::npos) {
    t.path = t.path.substr(0, hash);
  }
  if (const std::size_t q = t.path.find('?'); q != std::string_view::npos) {
    t.query = t.path.substr(q + 1);
    t.path = t.path.substr(0, q);
  }
  // "http://host" and "http://host?q": the path of the origin form is "/".
  if (absolute && t.path.empty()) t.path = "/";
  return t;
}

/// Decodes %XX (and '+' as a space in queries, as browsers and Go's url.Query do). Returns the
/// input itself when there is nothing to decode, so the common target costs no allocation;
/// nullopt on a malformed escape.
[[nodiscard]] std::optional<std::string_view> decode_escapes(std::string_view in,
                                                             std::string& storage,
                                                             bool plus_is_space);
/// Inline: the common target has nothing to decode.
[[nodiscard]] inline std::optional<std::string_view> percent_decode(std::string_view in,
                                                                    std::string& storage,
                                                                    bool plus_is_space) {
  const bool needs = in.find('%') != std::string_view::npos ||
                     (plus_is_space && in.find('+') != std::string_view::npos);
  if (!needs) return in;
  return decode_escapes(in, storage, plus_is_space);
}

/// Unknown parameters are ignored; a malformed escape is nullopt (a 400).
[[nodiscard]] std::optional<query_options> parse_query(std::string_view query);

/// What a push (`/api/v1/push/<token>`) says: `status` (pass, up, ok; warn; fail, down, error;
/// default pass) and `msg` (or `message`), decoded.
struct push_query {
  status reported = status::pass;
  std::string message{};
};
/// Unknown parameters are ignored (Uptime Kuma's `ping=` among them); a malformed escape or an
/// unknown status word is nullopt (a 400).
[[nodiscard]] std::optional<push_query> parse_push_query(std::string_view query);

/// What `/api/v1/history/<target>` asks: `resolution` (minute, hour, day; default minute) and
/// `window` (a duration up to the resolution's retention bound: 48h, 90d, 730d; default 1h,
/// 7d, 90d). The window ends now.
struct history_query {
  history_resolution resolution = history_resolution::minute;
  std::chrono::seconds window{0};  ///< 0: the resolution's default
};
/// Unknown parameters are ignored; a malformed escape, an unknown resolution or a window that
/// is not a positive duration within its bound is nullopt (a 400).
[[nodiscard]] std::optional<history_query> parse_history_query(std::string_view query);

/// What `/api/v1/incidents` asks: `window` (a duration up to 730d, default 7d, ending now) and
/// `target` (one target's incidents only).
struct incident_query {
  std::chrono::seconds window{std::chrono::hours{24 * 7}};
  std::string target{};
};
/// Unknown parameters are ignored; a malformed escape or a window that is not a positive
/// duration within 730d is nullopt (a 400).
[[nodiscard]] std::optional<incident_query> parse_incident_query(std::string_view query);

/// What `/badge/<target>` asks: `show` (status, uptime, response_time; default status),
/// `window` for uptime (1h, 24h, 7d, 30d or 365d: the history's windows; default 30d) and
/// `label` (the left text; default the target's name).
struct badge_query {
  enum class shown : std::uint8_t { status, uptime, response_time };
  shown show = shown::status;
  std::string window = "30d";
  std::string label{};
};
/// Unknown parameters are ignored; a malformed escape, an unknown `show` or `window`, or a
/// label over 64 bytes is nullopt (a 400).
[[nodiscard]] std::optional<badge_query> parse_badge_query(std::string_view query);

/// What `/status` asks: `q` (a part of the name), `status` (pass, warn, fail, unknown; empty:
/// any), `group` (one target group) and `page` (from 1).
struct status_page_query {
  std::string text{};
  std::optional<status> only{};
  std::string group{};
  std::size_t page = 1;
};
/// Unknown parameters are ignored; a malformed escape, an unknown status, a page that is not a
/// number from 1, or a search or group over 128 bytes is nullopt (a 400).
[[nodiscard]] std::optional<status_page_query> parse_status_page_query(std::string_view query);

/// An event id as `Last-Event-ID` or `last_event_id=` carries it: decimal digits only (at most
/// 20); anything else is nullopt.
[[nodiscard]] std::optional<std::uint64_t> parse_event_id(std::string_view text) noexcept;

/// What `/api/v1/events` asks: `last_event_id` (resume after that id; the `Last-Event-ID`
/// header wins over it, since a browser's EventSource sends the header on reconnect).
struct event_query {
  std::optional<std::uint64_t> last_event_id{};
};
/// Unknown parameters are ignored; a malformed escape or a `last_event_id` that is not an id is
/// nullopt (a 400).
[[nodiscard]] std::optional<event_query> parse_event_query(std::string_view query);

}  // namespace vitals::http::detail
