#pragma once
// Pure pieces of the mysql check, exposed for unit tests. Private.

#include <cstdint>
#include <string>
#include <string_view>

#include "vitals/status.hpp"

namespace vitals::checks::detail {

enum class mysql_ssl : std::uint8_t { disabled, preferred, required, verify_ca, verify_identity };

/// What the mysql check needs from its URL and options.
struct mysql_target {
  std::string host;
  std::uint16_t port = 3306;
  std::string user;
  std::string password;
  std::string database;
  mysql_ssl ssl = mysql_ssl::preferred;
  std::string ssl_ca;
};

/// Parses `mysql://user:password@host:port/db?ssl-mode=required&ssl-ca=/path` (also
/// `mariadb://`); `ssl_mode` / `ssl_ca` override the query parameters when non-empty. Throws
/// std::invalid_argument (password masked).
[[nodiscard]] mysql_target parse_mysql_target(std::string_view url, std::string_view ssl_mode,
                                              std::string_view ssl_ca);

/// Classifies a client/server error number (mysql_errno). `connecting` tells whether it happened
/// during connect/handshake (a lost connection there means the peer is not a MySQL server).
/// `message` is used for errno-carrying client errors ("... (111)").
[[nodiscard]] failure_kind kind_of_mysql_error(unsigned code, std::string_view message,
                                               bool connecting) noexcept;

}  // namespace vitals::checks::detail
