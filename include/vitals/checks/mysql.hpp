#pragma once

#include <memory>
#include <string>

#include "vitals/check.hpp"

namespace vitals::checks {

/// Options of the MySQL / MariaDB check (libmariadb).
///
///     reg.add("mysql", vitals::checks::mysql({.url = "mysql://app:pw@127.0.0.1:3306/app"}));
///     reg.add("mysql-tls", vitals::checks::mysql({.url = "mysql://app:pw@db:3306/app",
///                                                  .ssl_mode = "verify_identity",
///                                                  .ssl_ca = "/etc/ssl/db-ca.pem"}));
struct mysql_options {
  /// `mysql://user:password@host:port/database` (also `mariadb://`). Port defaults to 3306.
  /// Query parameters `ssl-mode=` and `ssl-ca=` are accepted as alternatives to the fields below.
  std::string url{};
  /// "disabled", "preferred" (default when empty: TLS only if the server offers it),
  /// "required", "verify_ca" or "verify_identity" (CA and host name checked).
  std::string ssl_mode{};
  /// CA bundle used by verify_ca / verify_identity.
  std::string ssl_ca{};
  /// Run on every check. Empty = COM_PING (no SQL parsing, no table touched).
  std::string query{};
  /// Keep one connection between runs (reconnecting on failure).
  bool keep_connection = true;
};

/// Connects (once, then keeps the connection), authenticates and pings or runs `query`, bounded
/// by the run's deadline (libmariadb non-blocking API, so no second-granularity timeouts).
/// Reports the latency in ms ("responseTime") and the server version as detail
/// `server_version`. Throws std::invalid_argument for a bad URL or ssl_mode (password masked).
[[nodiscard]] std::shared_ptr<vitals::check> mysql(mysql_options options);

}  // namespace vitals::checks
