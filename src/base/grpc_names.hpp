#pragma once
// Names of gRPC's status codes and of grpc.health.v1's serving statuses, shared by the grpc
// check type (src/checks/grpc) and `vitals probe grpc://` (apps/vitals/probe, built without
// exceptions and heap): constexpr, no allocation.

#include <array>
#include <cstdint>

namespace vitals::base {

/// "OK", "CANCELLED", ... "UNAUTHENTICATED" (gRPC's status codes 0-16), or nullptr.
[[nodiscard]] constexpr const char* grpc_status_code_name(int code) noexcept {
  constexpr std::array<const char*, 17> names{"OK",
                                              "CANCELLED",
                                              "UNKNOWN",
                                              "INVALID_ARGUMENT",
                                              "DEADLINE_EXCEEDED",
                                              "NOT_FOUND",
                                              "ALREADY_EXISTS",
                                              "PERMISSION_DENIED",
                                              "RESOURCE_EXHAUSTED",
                                              "FAILED_PRECONDITION",
                                              "ABORTED",
                                              "OUT_OF_RANGE",
                                              "UNIMPLEMENTED",
                                              "INTERNAL",
                                              "UNAVAILABLE",
                                              "DATA_LOSS",
                                              "UNAUTHENTICATED"};
  return code >= 0 && static_cast<std::size_t>(code) < names.size() ? names[code] : nullptr;
}

/// HealthCheckResponse.ServingStatus: "UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"
/// (0-3), or nullptr.
[[nodiscard]] constexpr const char* grpc_serving_status_name(std::int64_t status) noexcept {
  constexpr std::array<const char*, 4> names{"UNKNOWN", "SERVING", "NOT_SERVING",
                                             "SERVICE_UNKNOWN"};
  return status >= 0 && static_cast<std::uint64_t>(status) < names.size() ? names[status] : nullptr;
}

}  // namespace vitals::base
