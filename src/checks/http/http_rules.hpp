#pragma once
// The pure parts of the HTTP check (no sockets), kept apart so unit tests reach them directly.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/url.hpp"

namespace vitals::checks::detail {

/// Accepted status codes: "200-299,301" → {{200,299},{301,301}}.
class status_ranges {
 public:
  /// Throws std::invalid_argument for anything but comma-separated codes/ranges in 100-599.
  static status_ranges parse(std::string_view text);
  [[nodiscard]] bool contains(int status) const noexcept;
  [[nodiscard]] const std::string& text() const noexcept { return text_; }

 private:
  std::vector<std::pair<int, int>> ranges_{};
  std::string text_{};
};

/// The URL a `Location` header points to, resolved against `base` (absolute, scheme-relative
/// "//host/x", absolute-path "/x" and relative "x" forms). Throws std::invalid_argument if it
/// does not parse.
[[nodiscard]] url resolve_location(const url& base, std::string_view location);

/// Same host name (case-insensitive); scheme and port may differ (http → https upgrades).
[[nodiscard]] bool same_host(const url& a, const url& b) noexcept;

/// "Basic " + base64(user:password).
[[nodiscard]] std::string basic_credentials(std::string_view user, std::string_view password);

/// True for request headers whose value is a credential (Authorization, Cookie, X-Api-Key,
/// anything naming a token, secret, key or password).
[[nodiscard]] bool is_credential_header(std::string_view name) noexcept;

/// Evaluates the JSON condition on `body`: nullopt if it holds, else a failure with its kind
/// (protocol: body is not JSON; assertion: pointer missing or value differs).
struct json_verdict {
  bool protocol_error = false;
  std::string message;
};
[[nodiscard]] std::optional<json_verdict> check_json(std::string_view body,
                                                     const std::string& pointer,
                                                     const std::string& expected_json);

/// Throws std::invalid_argument if `pointer` is not an RFC 6901 pointer.
void validate_json_pointer(const std::string& pointer);

/// The expected value as JSON text: `expected` itself if it parses as JSON, else the JSON string
/// holding it ("UP" → "\"UP\"").
[[nodiscard]] std::string normalize_json_expected(const std::string& expected);

}  // namespace vitals::checks::detail
