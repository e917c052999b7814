#pragma once
// Pieces of the memcached check that are pure functions, exposed for unit tests. Private.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vitals::checks::detail {

/// A memcached address: "host:port", "[::1]:port", "host" or "memcached://host:port".
struct memcached_address {
  std::string host;
  std::uint16_t port = 11211;
};

/// Parses an address; throws std::invalid_argument with a clear message.
[[nodiscard]] memcached_address parse_memcached_address(std::string_view text);

/// The version in a `VERSION 1.6.18` line (without CRLF), or nullopt if the line is anything
/// else (ERROR, garbage).
[[nodiscard]] std::optional<std::string> parse_version_line(std::string_view line);

/// Bytes from a peer made safe and short for an output text: printable ASCII kept, the rest as
/// \xNN, cut at `max` characters with "...".
[[nodiscard]] std::string printable_excerpt(std::string_view bytes, std::size_t max = 32);

}  // namespace vitals::checks::detail
