#pragma once
// Private: bearer-token handling for the HTTP handler. Not installed.

#include <string_view>

namespace vitals::http::detail {

/// Compares a presented secret with the expected one in time that depends only on the length
/// of `expected` (never on where the first difference is, nor on the presented length).
///
///     constant_time_equal(bearer_token(header), options.token)
[[nodiscard]] bool constant_time_equal(std::string_view presented,
                                       std::string_view expected) noexcept;

/// The token of an `Authorization: Bearer <token>` header value, or "" when the header is absent,
/// uses another scheme, or carries no token. The scheme is matched case-insensitively (RFC 9110).
///
///     bearer_token("Bearer abc") == "abc"
[[nodiscard]] std::string_view bearer_token(std::string_view authorization) noexcept;

/// True if `authorization` carries exactly `token` as a bearer token. An empty `token` never
/// matches: "no token configured" must not mean "everyone is authorized".
[[nodiscard]] bool bearer_matches(std::string_view authorization, std::string_view token) noexcept;

}  // namespace vitals::http::detail
