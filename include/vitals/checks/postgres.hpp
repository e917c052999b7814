#pragma once

#include <memory>
#include <string>

#include "vitals/check.hpp"

namespace vitals::checks {

/// Options of the PostgreSQL check (libpq). Set exactly one of `url` and `conninfo`; both
/// accept either form libpq understands (a `postgres://` / `postgresql://` URL or a
/// `host=... user=... password=...` keyword string), the two names exist for readability.
///
///     reg.add("db", vitals::checks::postgres({.url = "postgres://app:pw@127.0.0.1:5432/app"}),
///             {.timeout = 2s});
struct postgres_options {
  /// `postgres://user:password@host:port/dbname?sslmode=require`.
  std::string url{};
  /// `host=127.0.0.1 port=5432 user=app password=pw dbname=app` (alternative to `url`).
  std::string conninfo{};
  /// Overrides the connection string's sslmode: "disable", "allow", "prefer", "require",
  /// "verify-ca" or "verify-full". Empty = as in the connection string (libpq default: prefer).
  std::string sslmode{};
  /// CA bundle for verify-ca / verify-full. Empty = as in the connection string.
  std::string sslrootcert{};
  /// Run on every check; success is the check passing. Empty = an empty query: one round trip
  /// to the server without touching any table.
  std::string query = "SELECT 1";
  /// Keep one connection between runs (reconnecting on failure). False = a new connection per
  /// run, for servers behind poolers that kill idle sessions.
  bool keep_connection = true;
  /// Shown in pg_stat_activity. A value in the connection string wins.
  std::string application_name = "vitals";
};

/// Connects (once, then keeps the connection), authenticates and runs `query`, all bounded by
/// the run's deadline (libpq non-blocking API). Reports the latency in ms (measurement
/// "responseTime") and the server version as detail `server_version`. Throws
/// std::invalid_argument for an unparsable connection string or an unknown sslmode; the message
/// never contains the password.
[[nodiscard]] std::shared_ptr<vitals::check> postgres(postgres_options options);

}  // namespace vitals::checks
