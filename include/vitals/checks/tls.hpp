#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "vitals/check.hpp"

namespace vitals::checks {

/// A TLS endpoint's certificate: connect and handshake, chain valid against the system CAs (or
/// `ca_file`), name matches (`sni`, or `host`), and expiry: `warn` when the earliest expiry in
/// the chain is closer than `warn_before`, `fail` closer than `fail_before`. Observed value: days
/// left (measurement "certificate"). A dependency.
///
///     reg.add("api-cert", vitals::checks::tls({.host = "api.example.com", .port = 443}),
///             {.interval = 1h, .timeout = 5s});
struct tls_options {
  std::string host{};
  std::uint16_t port = 443;
  /// Server name to send (SNI) and verify; empty = `host` (IP literals are verified as IPs and
  /// no SNI is sent).
  std::string sni{};
  /// PEM file of CAs to trust instead of the system ones.
  std::string ca_file{};
  std::chrono::days warn_before{14};
  std::chrono::days fail_before{3};
};

/// Builds a TLS check. Throws std::invalid_argument for an empty host, port 0, an unreadable
/// CA file, or fail_before > warn_before.
[[nodiscard]] std::shared_ptr<vitals::check> tls(tls_options options);

}  // namespace vitals::checks
