#pragma once

#include <memory>
#include <string>

#include "vitals/check.hpp"

namespace vitals::checks {

/// Options of the Redis check.
///
///     reg.add("cache", vitals::checks::redis({.url = "redis://app:pw@127.0.0.1:6379/2"}),
///             {.critical = false});
///     reg.add("primary", vitals::checks::redis({.url = "redis://:pw@10.0.0.5:6379",
///                                               .expect_role = "master"}));
///     reg.add("managed", vitals::checks::redis({.url = "rediss://:pw@cache.internal:6380",
///                                               .ca_file = "/etc/ssl/redis-ca.pem"}));
struct redis_options {
  /// `redis[s]://[user[:password]@]host[:port][/db]`. A password without user (`redis://:pw@h`)
  /// uses `AUTH password` (requirepass); with a user, `AUTH user password` (Redis 6 ACL).
  /// `rediss://` speaks TLS (certificate and host name verified, see below).
  std::string url{};
  /// Override the URL's user / password (e.g. from a secret store). Empty = as in the URL.
  std::string username{};
  std::string password{};
  /// "" (any role), "master" or "replica" ("slave" is accepted as an alias): checked with
  /// `ROLE`; a mismatch is an `assertion` failure.
  std::string expect_role{};
  /// rediss:// only: PEM file of CAs to trust instead of the system ones.
  std::string ca_file{};
  /// rediss:// only: PEM client certificate (chain) and private key, for servers started with
  /// `tls-auth-clients yes`. Both or neither.
  std::string client_cert{};
  std::string client_key{};
  /// rediss:// only: name sent as SNI and verified against the certificate; empty = the URL's
  /// host (an IP literal is verified as an IP address and sends no SNI).
  std::string sni{};
  /// rediss:// only: skip certificate and host name verification (testing only).
  bool insecure = false;
};

/// Keeps one connection (reconnecting on failure; for rediss:// one TLS session): `AUTH` and
/// `SELECT db` once per connection, then `PING` → `PONG` (plus `ROLE` if asked) on every run,
/// each bounded by the run's deadline (non-blocking socket + poll, OpenSSL on the same socket;
/// hiredis' reply parser). Reports the latency in ms ("responseTime") and the role as detail
/// `role`. Throws std::invalid_argument for a bad URL, an unknown role, TLS options on a
/// redis:// URL or unreadable CA/certificate/key files (password masked).
[[nodiscard]] std::shared_ptr<vitals::check> redis(redis_options options);

}  // namespace vitals::checks
