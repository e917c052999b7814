#pragma once
// URL parsing shared by the built-in checks (http, postgres, redis, ...). Private to vitals_checks.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vitals::checks::detail {

/// A parsed `scheme://user:password@host:port/path?query#fragment`.
///
/// `user`, `password` and `host` are percent-decoded; `path`, `query` and `fragment` stay as
/// written (they go on the wire as is). IPv6 hosts are stored without brackets.
///
///     auto u = parse_url("postgres://app:p%40ss@[::1]:5432/app?sslmode=disable");
///     u.host == "::1"; u.port == 5432; u.password == "p@ss";
///     u.redacted() == "postgres://app:***@[::1]:5432/app?sslmode=disable";
struct url {
  std::string scheme{};  ///< lower-cased, e.g. "https"
  std::string user{};
  std::string password{};
  bool has_password = false;  ///< true even for an empty password ("user:@host")
  std::string host{};         ///< may be empty ("sqlite:///path", "postgres:///db")
  std::uint16_t port = 0;     ///< 0 = not given
  std::string path{};         ///< "" or starts with '/'
  std::string query{};        ///< without the '?'
  std::string fragment{};     ///< without the '#'

  /// `port` if given, else `fallback` (the scheme's default).
  [[nodiscard]] std::uint16_t port_or(std::uint16_t fallback) const noexcept {
    return port != 0 ? port : fallback;
  }
  /// True if `host` is an IPv6 literal.
  [[nodiscard]] bool host_is_ipv6() const noexcept;
  /// `host[:port]`, with brackets around IPv6 literals (for Host headers and messages).
  [[nodiscard]] std::string authority() const;
  /// Origin-form request target: `path` (or "/") plus `?query`.
  [[nodiscard]] std::string target() const;
  /// The URL with the password replaced by `***` and secret-looking query parameters
  /// (`password=`, `token=`, ...) masked: safe for output, logs and exceptions.
  [[nodiscard]] std::string redacted() const;
  /// Query parameters, percent-decoded ('+' is a space), in order.
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> query_params() const;
};

/// Parses an absolute URL. Throws std::invalid_argument with a message that shows the URL with
/// its userinfo masked (never the password).
[[nodiscard]] url parse_url(std::string_view text);

/// Decodes %XX escapes (and '+' as a space if `plus_is_space`). Throws std::invalid_argument on
/// a malformed escape.
[[nodiscard]] std::string percent_decode(std::string_view text, bool plus_is_space = false);

/// `host:port`, bracketing IPv6 literals: ("::1", 80) → "[::1]:80".
[[nodiscard]] std::string host_port(std::string_view host, std::uint16_t port);

/// Host and port of `scheme://host:port` (the URL form of the host/port checks, for `vitals
/// wait tcp://db:5432`); IPv6 hosts without brackets. Throws std::invalid_argument "<url masked>:
/// expected <scheme>://host:port (<why>)" without a host or a port.
[[nodiscard]] std::pair<std::string, std::uint16_t> host_port_of(std::string_view text,
                                                                 std::string_view scheme);

/// Masks everything between "://" and the last '@' of the authority of `text`, for messages
/// about text that may not even parse as a URL.
[[nodiscard]] std::string mask_userinfo(std::string_view text);

}  // namespace vitals::checks::detail
