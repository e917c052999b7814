#pragma once

#include <memory>
#include <string>

#include "vitals/check.hpp"

namespace vitals::checks {

/// Options of the memcached check.
///
///     reg.add("sessions", vitals::checks::memcached({.address = "127.0.0.1:11211"}),
///             {.critical = false});
struct memcached_options {
  /// `host:port`, `[v6addr]:port` or `memcached://host:port`. Port defaults to 11211.
  std::string address{};
};

/// Sends the text-protocol `version` command over one kept TCP connection (reconnecting on
/// failure) and expects `VERSION <x>`, bounded by the run's deadline. Reports the latency in ms
/// ("responseTime") and the server version as detail `server_version`. Throws
/// std::invalid_argument for an empty or unparsable address.
[[nodiscard]] std::shared_ptr<vitals::check> memcached(memcached_options options);

}  // namespace vitals::checks
