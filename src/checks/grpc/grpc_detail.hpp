#pragma once
// The pure parts of the grpc check (no gRPC types): address and URL parsing, metadata rules,
// the two grpc.health.v1 messages on the wire, and the classification of a call's outcome.
// Private to vitals_checks; unit-tested in tests/unit/checks/grpc/.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/checks/grpc.hpp"
#include "vitals/result.hpp"

namespace vitals::checks::detail {

/// Where a grpc check connects: the target string given to gRPC and the text shown in outputs.
struct grpc_address {
  std::string host{};      ///< without IPv6 brackets; the socket path for unix:
  std::uint16_t port = 0;  ///< 0 for unix:
  bool unix_socket = false;
  /// What gRPC is given: "dns:///host:port", "ipv4:127.0.0.1:50051", "ipv6:[::1]:50051" or
  /// "unix:/path".
  std::string target{};
  /// "host:port" (IPv6 bracketed) or "unix:/path": shown in outputs and details.
  std::string shown{};
};

/// Parses `host:port`, `[v6]:port` or `unix:/path`. Throws std::invalid_argument
/// ("grpc check: address must be host:port ...").
[[nodiscard]] grpc_address parse_grpc_address(std::string_view address);

/// `grpc://host:port[/service]` (plaintext) or `grpcs://host:port[/service]` (TLS, system CAs)
/// as options. Throws std::invalid_argument with the URL's userinfo masked.
[[nodiscard]] grpc_options grpc_options_from_url(std::string_view url);

/// Validates and normalises metadata (keys lower-cased). Throws std::invalid_argument naming the
/// key, never the value.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> normalized_metadata(
    const std::vector<std::pair<std::string, std::string>>& metadata);

/// True for metadata keys whose values are credentials: authorization, proxy-authorization,
/// cookie, and every key redactor::is_secret_key() names (token, key, secret, password, ...).
[[nodiscard]] bool is_credential_metadata(std::string_view key) noexcept;

/// The serialized grpc.health.v1.HealthCheckRequest{service}: field 1, length-delimited (empty
/// for the empty service, as proto3 omits default values).
[[nodiscard]] std::string encode_health_request(std::string_view service);

/// HealthCheckResponse.status from its serialized form (field 1, varint; unknown fields
/// skipped; absent = 0, UNKNOWN). nullopt for bytes that are not a valid message.
[[nodiscard]] std::optional<std::int64_t> decode_health_response(std::string_view bytes);

/// grpc.health.v1 ServingStatus names: 0 UNKNOWN, 1 SERVING, 2 NOT_SERVING, 3 SERVICE_UNKNOWN.
[[nodiscard]] std::string serving_status_name(std::int64_t status);

/// gRPC status code names: 0 OK ... 16 UNAUTHENTICATED ("CODE 42" for others).
[[nodiscard]] std::string grpc_code_name(int code);

/// What a finished call says, without the gRPC types.
struct grpc_outcome {
  int code = 0;                ///< grpc::StatusCode
  std::string message{};       ///< the status message (from the server or gRPC itself)
  std::string response{};      ///< serialized response (code 0 only)
  bool tls = false;            ///< the channel speaks TLS
  bool was_connected = false;  ///< the channel was READY when the call started
  bool client_cert = false;    ///< a client certificate is configured
};

/// The result of one Check call: pass for SERVING (with details `address`, `service` and
/// `status`), else the classified failure. `timed_out` is the text for DEADLINE_EXCEEDED (the
/// engine's wording, from timed_out_text()). Not scrubbed (the caller does).
[[nodiscard]] result classify_health_call(const grpc_outcome& call, const grpc_address& where,
                                          std::string_view service, std::string_view timed_out);

}  // namespace vitals::checks::detail
