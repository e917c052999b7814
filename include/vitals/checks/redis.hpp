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
struct redis_options {
  /// `redis://[user[:password]@]host[:port][/db]`. A password without user (`redis://:pw@h`)
  /// uses `AUTH password` (requirepass); with a user, `AUTH user password` (Redis 6 ACL).
  /// `rediss://` (TLS) is refused with std::invalid_argument: not supported yet.
  std::string url{};
  /// Override the URL's user / password (e.g. from a secret store). Empty = as in the URL.
  std::string username{};
  std::string password{};
  /// "" (any role), "master" or "replica" ("slave" is accepted as an alias): checked with
  /// `ROLE`; a mismatch is an `assertion` failure.
  std::string expect_role{};
};

/// Keeps one connection (reconnecting on failure): `AUTH` and `SELECT db` once per connection,
/// then `PING` → `PONG` (plus `ROLE` if asked) on every run, each bounded by the run's deadline
/// (non-blocking socket + poll; hiredis' reply parser). Reports the latency in ms
/// ("responseTime") and the role as detail `role`. Throws std::invalid_argument for a bad URL,
/// a `rediss://` URL or an unknown role (password masked).
[[nodiscard]] std::shared_ptr<vitals::check> redis(redis_options options);

}  // namespace vitals::checks
