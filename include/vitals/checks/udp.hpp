#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "vitals/check.hpp"

namespace vitals::checks {

/// Sends one datagram to a UDP service (DNS, syslog, StatsD, NTP, a game server...) on a
/// connected socket and, with `expect`, waits for a reply containing it. A dependency.
/// Measurement "responseTime", observed value: time to the reply (or to the end of `icmp_wait`)
/// in ms. UDP has no handshake: an ICMP port-unreachable from the target is `fail/refused`; a
/// port that drops datagrams silently can only be told from one that listens by a reply, so
/// without `expect` a pass means "sent, and not refused within `icmp_wait`".
///
///     reg.add("statsd", vitals::checks::udp({.host = "127.0.0.1", .port = 8125,
///                                            .send = "vitals.health:1|c"}));
///     reg.add("echo", vitals::checks::udp({.host = "echo.internal", .port = 7,
///                                          .send = "ping", .expect = "ping"}));
struct udp_options {
  /// Host name or IP literal (IPv6 with or without brackets).
  std::string host{};
  std::uint16_t port = 0;
  /// The datagram sent (may be empty: a zero-length datagram).
  std::string send{};
  /// Must appear in the first reply datagram, within its first 8 KiB (empty = no reply expected).
  std::string expect{};
  /// Without `expect`: how long to listen after sending for an ICMP port-unreachable (at most
  /// half the time left before the run's deadline).
  std::chrono::milliseconds icmp_wait{100};
};

/// Builds a UDP check. Throws std::invalid_argument for an empty host, port 0 or a negative
/// icmp_wait.
[[nodiscard]] std::shared_ptr<vitals::check> udp(udp_options options);

}  // namespace vitals::checks
