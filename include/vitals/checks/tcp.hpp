#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "vitals/check.hpp"

namespace vitals::checks {

/// A TCP connect, optionally followed by sending a few bytes and expecting a substring in what
/// the peer sends back (e.g. an SMTP or SSH banner). A dependency. Measurement "connections",
/// observed value: connect (and exchange) time in ms.
///
///     reg.add("smtp", vitals::checks::tcp({.host = "mail.internal", .port = 25,
///                                          .expect = "220 "}));
///     reg.add("redis-port", vitals::checks::tcp({.host = "127.0.0.1", .port = 6379,
///                                                .send = "PING\r\n", .expect = "+PONG"}));
struct tcp_options {
  /// Host name or IP literal (IPv6 with or without brackets).
  std::string host{};
  std::uint16_t port = 0;
  /// Sent right after connecting (empty = send nothing).
  std::string send{};
  /// Must appear in the first bytes read (empty = don't read at all).
  std::string expect{};
  /// Bytes read at most while looking for `expect`.
  std::size_t max_read_bytes = 4096;
};

/// Builds a TCP check. Throws std::invalid_argument for an empty host or port 0.
[[nodiscard]] std::shared_ptr<vitals::check> tcp(tcp_options options);

}  // namespace vitals::checks
