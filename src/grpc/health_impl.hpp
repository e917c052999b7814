#pragma once
// Private: how a gRPC service name is resolved and judged. Not installed.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "vitals/grpc.hpp"
#include "vitals/snapshot.hpp"

namespace vitals::grpc::detail {

/// What a service name stands for.
struct target {
  enum kind_t : std::uint8_t {
    probe_kind,   ///< "", liveness, readiness, startup (or an alias of one)
    check_kind,   ///< one check, by name
    hidden_kind,  ///< a check name asked without the token: answered as an unknown name
  };
  kind_t kind = hidden_kind;
  probe which = probe::ready;
  std::string check{};
  /// Configured by the operator: public, and known even while its check is missing.
  bool alias = false;
};

/// The answer for a name: SERVING, NOT_SERVING, or unknown (NOT_FOUND / SERVICE_UNKNOWN).
enum class verdict : std::uint8_t { serving, not_serving, unknown };

/// The fixed names and the configured aliases.
class names {
 public:
  /// Throws std::invalid_argument for an alias of a fixed name, a duplicate alias, or a target
  /// that is neither a probe name, "" nor a valid check name.
  explicit names(const health_options& options);
  /// The fixed name, the alias, or else the check of that name.
  [[nodiscard]] target resolve(std::string_view name) const;
  [[nodiscard]] const std::map<std::string, target, std::less<>>& aliases() const noexcept {
    return aliases_;
  }

 private:
  std::map<std::string, target, std::less<>> aliases_{};
};

/// The verdict on `t` in `snap`. A probe serves when its aggregated status is pass or warn (the
/// HTTP endpoint's 200); a check when its reported status is pass or warn. While the service is
/// shutting down (`begin_shutdown()`, or `shut_down`: the health service's own shutdown) every
/// known name is NOT_SERVING. A check that does not exist is unknown, unless an alias names it
/// (NOT_SERVING: the alias is known, what it stands for is missing).
[[nodiscard]] verdict judge(const snapshot& snap, const target& t, bool shut_down) noexcept;

}  // namespace vitals::grpc::detail
