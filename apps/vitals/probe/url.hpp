#pragma once

#include <cstdint>
#include <string_view>

namespace vitals::cli {

/// The parts of an `http://` or `https://` URL the probe needs. Views into the parsed text.
///
///     url_parts u;
///     parse_http_url("http://[::1]:8081/readyz?verbose", u);
///     // u.host == "::1", u.port == 8081, u.target == "/readyz?verbose"
struct url_parts {
  bool tls = false;
  std::string_view userinfo;  ///< "user:password" or empty
  std::string_view host;      ///< without brackets for IPv6 literals
  std::uint16_t port = 0;
  bool explicit_port = false;
  std::string_view target;  ///< path and query; "/" if absent; fragment dropped
};

/// Parses an http(s) URL. On failure returns false and sets `error` to a static message.
[[nodiscard]] bool parse_http_url(std::string_view text, url_parts& out,
                                  const char*& error) noexcept;

/// The parts of a `grpc://host:port[/service]` URL. Views into the parsed text.
///
///     grpc_url_parts g;
///     parse_grpc_url("grpc://[::1]:50051/my.pkg.Orders", g, err);
///     // g.host == "::1", g.port == 50051, g.service == "my.pkg.Orders"
struct grpc_url_parts {
  std::string_view host;  ///< without brackets for IPv6 literals
  std::uint16_t port = 0;
  bool bracketed = false;
  std::string_view service;  ///< the path without its leading '/'; "" for the whole server
};

/// Parses a grpc URL; the port is required (gRPC has no default port). On failure returns false
/// and sets `error` to a static message.
[[nodiscard]] bool parse_grpc_url(std::string_view text, grpc_url_parts& out,
                                  const char*& error) noexcept;

/// True if `text` starts with "grpc://" (any case).
[[nodiscard]] bool is_grpc_url(std::string_view text) noexcept;

/// Writes `text` into `buf` with the password of URL userinfo replaced by `***`, so that error
/// messages never print a credential. Returns the length written (truncated to `cap - 1`, NUL
/// terminated).
std::size_t redact_url_into(std::string_view text, char* buf, std::size_t cap) noexcept;

}  // namespace vitals::cli
