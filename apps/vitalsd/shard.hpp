#pragma once
// Sharding (docs/monitor.md): `vitalsd --shard i/N` keeps only the checks whose name hashes into
// shard i of N, with the hash of Prometheus' `hashmod` relabeling (MD5 of the value, its last 8
// bytes as a big-endian integer, modulo N), so that N replicas of one configuration check every
// target exactly once, and a Prometheus relabeling `hashmod` over a label holding the check name
// agrees with vitalsd on who checks what. No cluster protocol: the shard is a start-up argument
// (in Kubernetes, the StatefulSet pod ordinal).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vitals/config.hpp"
#include "vitals/http/targets.hpp"

namespace vitalsd {

struct shard_spec {
  std::uint64_t index = 0;
  std::uint64_t count = 1;  ///< 1: no sharding
};

/// "i/N" with 0 <= i < N, 1 <= N <= 65536; nullopt and `error` set otherwise.
[[nodiscard]] std::optional<shard_spec> parse_shard(std::string_view text, std::string& error);

/// Prometheus' hashmod of `value`: MD5, the last 8 bytes of the digest as a big-endian integer,
/// modulo `modulus`. MD5 comes from the system's libcrypto (OpenSSL 3), loaded on first use so a
/// vitalsd that does not shard never maps it; throws std::runtime_error if it cannot be loaded.
[[nodiscard]] std::uint64_t hashmod(std::string_view value, std::uint64_t modulus);

/// Drops the checks of `cfg` outside the shard (no-op for count 1). Returns every check of the
/// configuration, of all shards, with its group and labels (empty for count 1): what the API
/// lists from a history that the shards share.
vitals::http::target_catalog::map keep_shard(vitals::config::daemon_config& cfg,
                                             const shard_spec& shard);

}  // namespace vitalsd
