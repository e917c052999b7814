#include "http/http_rules.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "base/text.hpp"
#include "vitals/redact.hpp"

namespace vitals::checks::detail {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

using base::iequals;

int parse_code(std::string_view s, std::string_view whole) {
  s = trim(s);
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v < 100 || v > 599) {
    throw std::invalid_argument("invalid expected_status \"" + std::string(whole) +
                                "\": use codes and ranges in 100-599, e.g. \"200-299,301\"");
  }
  return v;
}

std::string shorten(std::string s) {
  constexpr std::size_t max = 80;
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

}  // namespace

status_ranges status_ranges::parse(std::string_view text) {
  status_ranges out;
  out.text_ = std::string(trim(text));
  std::string_view rest = text;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    const auto dash = item.find('-');
    const int lo = parse_code(item.substr(0, dash), text);
    const int hi = dash == std::string_view::npos ? lo : parse_code(item.substr(dash + 1), text);
    if (hi < lo) {
      throw std::invalid_argument("invalid expected_status \"" + std::string(text) + "\": range " +
                                  std::string(trim(item)) + " is reversed");
    }
    out.ranges_.emplace_back(lo, hi);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

bool status_ranges::contains(int status) const noexcept {
  return std::any_of(ranges_.begin(), ranges_.end(),
                     [&](const auto& r) { return status >= r.first && status <= r.second; });
}

url resolve_location(const url& base, std::string_view location) {
  location = trim(location);
  if (location.find("://") != std::string_view::npos &&
      location.find("://") < location.find_first_of("/?#")) {
    return parse_url(location);
  }
  if (location.starts_with("//")) return parse_url(base.scheme + ":" + std::string(location));
  std::string origin = base.scheme + "://" + base.authority();
  if (location.starts_with("/")) return parse_url(origin + std::string(location));
  if (location.starts_with("?")) {
    return parse_url(origin + (base.path.empty() ? "/" : base.path) + std::string(location));
  }
  // Relative reference: replace the last segment of the base path. Dot segments are left to the
  // server, which is what a health endpoint redirecting to "./ready" expects.
  std::string dir = base.path.empty() ? "/" : base.path.substr(0, base.path.rfind('/') + 1);
  return parse_url(origin + dir + std::string(location));
}

bool same_host(const url& a, const url& b) noexcept { return iequals(a.host, b.host); }

std::string basic_credentials(std::string_view user, std::string_view password) {
  return "Basic " + base::base64(std::string(user) + ":" + std::string(password));
}

bool is_credential_header(std::string_view name) noexcept {
  return iequals(name, "authorization") || iequals(name, "proxy-authorization") ||
         iequals(name, "cookie") || vitals::redactor::is_secret_key(name);
}

void validate_json_pointer(const std::string& pointer) {
  try {
    [[maybe_unused]] nlohmann::json::json_pointer p(pointer);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument("invalid json_pointer \"" + pointer + "\": " + e.what());
  }
}

std::string normalize_json_expected(const std::string& expected) {
  auto j = nlohmann::json::parse(expected, nullptr, false);
  if (j.is_discarded()) j = expected;
  return j.dump();
}

std::optional<json_verdict> check_json(std::string_view body, const std::string& pointer,
                                       const std::string& expected_json) {
  const auto doc = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_discarded()) return json_verdict{true, "response body is not valid JSON"};
  const nlohmann::json::json_pointer ptr(pointer);
  const nlohmann::json* actual_ptr = nullptr;
  try {
    // at() throws for a missing member or an array index that is not a number or out of range.
    actual_ptr = &doc.at(ptr);
  } catch (const nlohmann::json::exception&) {
    return json_verdict{false, "JSON pointer " + pointer + " not found"};
  }
  if (expected_json.empty()) return std::nullopt;
  const auto expected = nlohmann::json::parse(expected_json);
  const auto& actual = *actual_ptr;
  if (actual == expected) return std::nullopt;
  return json_verdict{false, "JSON " + pointer + " is " + shorten(actual.dump()) + ", expected " +
                                 shorten(expected.dump())};
}

}  // namespace vitals::checks::detail
