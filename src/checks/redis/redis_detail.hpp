#pragma once
// Pure pieces of the redis check, exposed for unit tests. Private.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "vitals/status.hpp"

struct redisReader;

namespace vitals::checks::detail {

/// The most elements an array reply may declare, and the most bytes the replies of one run may
/// take. hiredis 0.14 (Debian 12) allocates an array's element table as soon as it reads the
/// header: `*666666666\r\n` from a broken or hostile server would cost 5 GB.
inline constexpr int max_reply_elements = 65536;
inline constexpr std::size_t max_reply_bytes = std::size_t{4} << 20;

/// hiredis' reply reader, refusing an array over max_reply_elements (the reader then fails
/// with REDIS_ERR_OOM, which reply_limit_error() words); null if out of memory. Free it with
/// redisReaderFree().
[[nodiscard]] ::redisReader* bounded_reader();
/// What a reader error means for a person: a refused array, or hiredis' own message.
[[nodiscard]] std::string reader_error_text(const ::redisReader& r);

/// What the redis check needs from its URL and option overrides.
struct redis_target {
  std::string host;
  std::uint16_t port = 6379;
  std::string username;  ///< empty: `AUTH password` (requirepass)
  std::string password;  ///< empty: no AUTH
  bool has_password = false;
  int db = 0;
  std::string expect_role;  ///< "", "master" or "slave" (the wire name of a replica)
  bool tls = false;         ///< rediss://
};

/// Parses `redis[s]://[user[:password]@]host[:port][/db]` and applies overrides. Throws
/// std::invalid_argument (password masked) for a bad URL, a bad db or role.
[[nodiscard]] redis_target parse_redis_target(std::string_view url, std::string_view username,
                                              std::string_view password,
                                              std::string_view expect_role);

/// RESP encoding of one command: `*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n`.
[[nodiscard]] std::string resp_command(const std::vector<std::string_view>& args);

/// The kind of a Redis error reply: NOAUTH / WRONGPASS / "invalid password" → auth, LOADING /
/// BUSY / MASTERDOWN → refused (alive but not serving), anything else → assertion.
[[nodiscard]] failure_kind kind_of_redis_error(std::string_view error_reply);

/// What a failed SSL_connect / SSL_read / SSL_write means: `ssl_error` from SSL_get_error(),
/// `queued` the first queued OpenSSL error (ERR_peek_error), `sys_errno` errno after the call,
/// `verify_result` SSL_get_verify_result(). The message is the reason only ("certificate verify
/// failed: self-signed certificate", "peer does not speak TLS (wrong version number)"); callers
/// add the peer. A reset connection → refused, a non-TLS peer → protocol, anything else → tls.
[[nodiscard]] net_error classify_tls_failure(int ssl_error, unsigned long queued, int sys_errno,
                                             long verify_result);

/// `redis_version:7.0.15` out of an `INFO server` reply; empty if absent.
[[nodiscard]] std::string redis_version_from_info(std::string_view info);

}  // namespace vitals::checks::detail
