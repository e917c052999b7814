#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/service.hpp"

namespace vitals::http {

/// One request header as seen by the framework (name compared case-insensitively).
struct header {
  std::string_view name;
  std::string_view value;
};

/// A transport-agnostic request: what any HTTP framework can fill in.
///
///     auto r = h.handle({.method = "GET", .target = "/readyz?verbose", .headers = hdrs});
struct request {
  std::string_view method;
  /// Origin-form target as sent: path plus optional query ("/readyz?verbose&exclude=db").
  std::string_view target;
  /// Request headers; only `Authorization` is used.
  std::span<const header> headers;
};

/// A complete response: copy status, headers and body into the framework's response object.
struct response {
  int status = 200;
  /// All headers to send except Content-Length (Content-Type, Cache-Control, Allow, ...).
  std::vector<std::pair<std::string, std::string>> headers{};
  /// Empty for HEAD; `content_length` still tells the length a GET would have.
  std::string body{};
  std::size_t content_length = 0;
};

/// HTTP status code for each aggregated status.
struct status_codes {
  int pass = 200;
  int warn = 200;
  int fail = 503;
  int unknown = 503;
};

/// Who may see `output`, observed values and details (statuses are always visible).
enum class detail_policy : std::uint8_t {
  authorized,  ///< only callers presenting the bearer token (default)
  everyone,    ///< anonymous callers too (explicit opt-in; redaction still applies)
  nobody,      ///< never, not even with a token
};

struct handler_options {
  /// Bearer token that unlocks details (`Authorization: Bearer <token>`); compared in constant
  /// time. Empty = no caller is authorized.
  std::string token{};
  detail_policy details = detail_policy::authorized;
  status_codes codes{};
  /// Paths are served under this prefix (e.g. "/_health"); empty = at the root.
  std::string prefix{};
};

/// Serves /livez, /readyz, /startupz (Kubernetes style), /health (IETF application/health+json),
/// their per-check forms, from the service's latest snapshot. Knows nothing of sockets.
/// Thread-safe; cheap per request: bodies are rendered once per snapshot change.
///
///     vitals::http::handler h{svc};
///     vitals::http::response r = h.handle({.method = "GET", .target = "/readyz"});
class handler {
 public:
  explicit handler(service& svc, handler_options options = {});
  ~handler();
  handler(const handler&) = delete;
  handler& operator=(const handler&) = delete;

  [[nodiscard]] response handle(const request& req) const;

  /// The service this handler reads from.
  [[nodiscard]] service& source() const noexcept;

  class impl;
  /// For the built-in server's zero-copy path (not part of the stable API).
  [[nodiscard]] const impl& internals() const noexcept { return *impl_; }

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::http
