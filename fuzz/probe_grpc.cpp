// `vitals probe grpc://`'s response side: the DATA of a unary gRPC answer fed to the message
// reader (whole, and in the chunks the input's first byte chooses, as HTTP/2 frames cut it),
// the HealthCheckResponse decoder on what it collected, and the header parsers on the rest.
// Properties: the verdict and the message do not depend on how the bytes were cut; a message
// is never larger than max_message; grpc-status is -1 or 0-999; a printable grpc-message holds
// printable ASCII only, NUL terminated.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "fuzz_util.hpp"
#include "probe/grpc_wire.hpp"

namespace gw = vitals::cli::grpc_wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  const unsigned char* body = data + 1;
  const std::size_t len = size - 1;

  static gw::message_reader whole;
  static gw::message_reader cut;
  whole = gw::message_reader{};
  cut = gw::message_reader{};
  const gw::message_reader::state s_whole = whole.feed(body, len);
  gw::message_reader::state s_cut = gw::message_reader::state::reading;
  for (std::size_t at = 0; at < len; at += chunk) {
    s_cut = cut.feed(body + at, len - at < chunk ? len - at : chunk);
  }
  if (len == 0) s_cut = cut.feed(body, 0);
  vitals_fuzz::require(s_whole == s_cut, "the verdict depends on how the DATA was cut");
  const bool ok_whole = whole.finish();
  const bool ok_cut = cut.finish();
  vitals_fuzz::require(ok_whole == ok_cut, "finish() depends on how the DATA was cut");
  if (ok_whole) {
    vitals_fuzz::require(whole.payload_size() <= gw::max_message, "message over max_message");
    vitals_fuzz::require(whole.payload_size() == cut.payload_size() &&
                             std::memcmp(whole.payload(), cut.payload(), whole.payload_size()) == 0,
                         "the message depends on how the DATA was cut");
    std::int64_t status = -1;
    const char* error = nullptr;
    if (gw::decode_health_response(whole.payload(), whole.payload_size(), status, error)) {
      vitals_fuzz::require(error == nullptr || *error != '\0', "an empty error text");
    } else {
      vitals_fuzz::require(error != nullptr, "a refused payload without a reason");
    }
  } else {
    vitals_fuzz::require(whole.error() != nullptr, "a refused answer without a reason");
  }

  // The same bytes as trailer values.
  const std::string_view text{reinterpret_cast<const char*>(body), len};
  const int code = gw::parse_status(text);
  vitals_fuzz::require(code == -1 || (code >= 0 && code <= 999), "grpc-status out of range");
  char line[256];
  const std::size_t n = gw::printable_message(text, line, sizeof line);
  vitals_fuzz::require(n < sizeof line && line[n] == '\0', "grpc-message not terminated");
  for (std::size_t i = 0; i < n; ++i) {
    vitals_fuzz::require(line[i] >= 0x20 && line[i] < 0x7f, "grpc-message not printable");
  }
  return 0;
}
