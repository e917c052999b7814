#pragma once
// Pure pieces of the redis check, exposed for unit tests. Private.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/status.hpp"

namespace vitals::checks::detail {

/// What the redis check needs from its URL and option overrides.
struct redis_target {
  std::string host;
  std::uint16_t port = 6379;
  std::string username;  ///< empty: `AUTH password` (requirepass)
  std::string password;  ///< empty: no AUTH
  bool has_password = false;
  int db = 0;
  std::string expect_role;  ///< "", "master" or "slave" (the wire name of a replica)
};

/// Parses `redis://[user[:password]@]host[:port][/db]` and applies overrides. Throws
/// std::invalid_argument (password masked) for a bad URL, `rediss://`, a bad db or role.
[[nodiscard]] redis_target parse_redis_target(std::string_view url, std::string_view username,
                                              std::string_view password,
                                              std::string_view expect_role);

/// RESP encoding of one command: `*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n`.
[[nodiscard]] std::string resp_command(const std::vector<std::string_view>& args);

/// The kind of a Redis error reply: NOAUTH / WRONGPASS / "invalid password" → auth, LOADING /
/// BUSY / MASTERDOWN → refused (alive but not serving), anything else → assertion.
[[nodiscard]] failure_kind kind_of_redis_error(std::string_view error_reply);

/// `redis_version:7.0.15` out of an `INFO server` reply; empty if absent.
[[nodiscard]] std::string redis_version_from_info(std::string_view info);

}  // namespace vitals::checks::detail
