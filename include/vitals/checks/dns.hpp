#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vitals/check.hpp"

namespace vitals::checks {

/// Address families a DNS check asks for.
enum class dns_family : std::uint8_t { any, ipv4, ipv6 };

/// A name resolves (through the system resolver: /etc/hosts, DNS, NSS), optionally to expected
/// addresses or to at least a minimum number of them. The timeout holds even when the resolver
/// hangs: lookups run on one dedicated thread per check and a hung lookup is abandoned, never
/// duplicated. A dependency. Measurement "responseTime" (ms); details list the addresses.
///
///     reg.add("dns", vitals::checks::dns({.name = "db.internal",
///                                         .expected_addresses = {"10.0.0.5"}}));
struct dns_options {
  /// The name to resolve.
  std::string name{};
  dns_family family = dns_family::any;
  /// Each of these must be among the answers (IPv4/IPv6 literals, compared numerically).
  std::vector<std::string> expected_addresses{};
  /// At least this many distinct addresses.
  std::size_t min_addresses = 1;
};

/// Builds a DNS check. Throws std::invalid_argument for an empty name or an expected address
/// that is not an IP literal.
[[nodiscard]] std::shared_ptr<vitals::check> dns(dns_options options);

}  // namespace vitals::checks
