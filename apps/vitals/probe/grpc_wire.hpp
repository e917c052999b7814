#pragma once
// The bytes of one grpc.health.v1.Health/Check call, encoded and decoded by hand: a gRPC
// message is a 5-byte prefix (compressed flag, big-endian length) and a protobuf payload; the
// request is `HealthCheckRequest{string service = 1}`, the answer
// `HealthCheckResponse{ServingStatus status = 1}`. Pure functions over fixed buffers (no heap,
// no exceptions): everything that comes from the peer is bounded and checked here.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vitals::cli::grpc_wire {

/// Longest service name the probe sends (the protocol has no limit; ours keeps the request in
/// one small buffer).
inline constexpr std::size_t max_service = 1024;
/// Largest response message accepted. A HealthCheckResponse is 2 bytes; anything near this is
/// not a health answer.
inline constexpr std::size_t max_message = 4096;

/// Writes the length-prefixed gRPC message carrying `HealthCheckRequest{service}` into `out`.
/// Returns the bytes written, or 0 if it does not fit or the name is longer than max_service.
///
///     unsigned char buf[64];
///     encode_health_request("db", buf, sizeof buf);  // 00 00000004 0a 02 'd' 'b'
[[nodiscard]] std::size_t encode_health_request(std::string_view service, unsigned char* out,
                                                std::size_t cap) noexcept;

/// Decodes a HealthCheckResponse payload (the protobuf, without the 5-byte prefix). Unknown
/// fields are skipped; a missing status is 0 (UNKNOWN), as proto3 says. False with `error` set
/// on a malformed payload (truncated field, overlong varint, group wire types).
[[nodiscard]] bool decode_health_response(const unsigned char* data, std::size_t len,
                                          std::int64_t& status, const char*& error) noexcept;

/// Collects the DATA of a unary response: exactly one gRPC message of at most max_message
/// bytes, uncompressed. Feed every DATA chunk as it arrives, then call finish() at the end of
/// the stream.
class message_reader {
 public:
  enum class state { reading, error };

  /// Appends received DATA bytes. Once in `error`, stays there.
  state feed(const unsigned char* data, std::size_t len) noexcept;
  /// At end of stream: true if exactly one complete message was received.
  [[nodiscard]] bool finish() noexcept;

  [[nodiscard]] bool complete() const noexcept { return done_; }
  [[nodiscard]] const unsigned char* payload() const noexcept { return buf_; }
  [[nodiscard]] std::size_t payload_size() const noexcept { return length_; }
  /// Why the reader is in `error` (or why finish() failed).
  [[nodiscard]] const char* error() const noexcept { return error_; }

 private:
  state fail(const char* why) noexcept {
    error_ = why;
    failed_ = true;
    return state::error;
  }

  unsigned char prefix_[5] = {};
  std::size_t prefix_have_ = 0;
  std::size_t length_ = 0;
  std::size_t have_ = 0;
  bool done_ = false;
  bool failed_ = false;
  const char* error_ = nullptr;
  unsigned char buf_[max_message] = {};
};

/// The `grpc-timeout` header value for `d` (rounded up to whole milliseconds, at most 8
/// digits as the spec requires, switching to seconds or minutes for long ones). Returns the
/// length written into `out` (NUL terminated), 0 if `cap` is too small.
///
///     format_timeout(1500ms, buf, sizeof buf);  // "1500m"
std::size_t format_timeout(std::chrono::milliseconds d, char* out, std::size_t cap) noexcept;

/// A `grpc-status` header value: 1 to 3 decimal digits. -1 if malformed.
[[nodiscard]] int parse_status(std::string_view text) noexcept;

/// "OK", "NOT_FOUND", ... for the 17 canonical codes; "?" otherwise.
[[nodiscard]] const char* status_name(int code) noexcept;

/// "UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"; nullptr for other values.
[[nodiscard]] const char* serving_status_name(std::int64_t status) noexcept;

/// Decodes a percent-encoded `grpc-message` into printable ASCII (other bytes as '?'), for one
/// line on stderr. Returns the length written (NUL terminated, truncated to `cap - 1`).
std::size_t printable_message(std::string_view text, char* out, std::size_t cap) noexcept;

/// The grpc.health.v1 enum values.
inline constexpr std::int64_t serving = 1;

/// The canonical gRPC status codes the probe treats specially.
inline constexpr int status_ok = 0;
inline constexpr int status_deadline_exceeded = 4;

}  // namespace vitals::cli::grpc_wire
