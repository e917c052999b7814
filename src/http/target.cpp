#include "target.hpp"

#include <string>

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

}  // namespace vitals::http::detail
