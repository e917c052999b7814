#include "probe/grpc_wire.hpp"

#include <cstdio>
#include <cstring>

#include "base/grpc_names.hpp"

namespace vitals::cli::grpc_wire {

namespace {

// Appends a base-128 varint; returns the bytes written (at most 10) or 0 if it does not fit.
std::size_t put_varint(std::uint64_t v, unsigned char* out, std::size_t cap) noexcept {
  std::size_t n = 0;
  do {
    if (n == cap) return 0;
    unsigned char b = v & 0x7f;
    v >>= 7;
    if (v != 0) b |= 0x80;
    out[n++] = b;
  } while (v != 0);
  return n;
}

// Reads a varint at `p`; false if truncated or longer than 10 bytes / 64 bits.
bool get_varint(const unsigned char*& p, const unsigned char* end, std::uint64_t& v) noexcept {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p == end) return false;
    const unsigned char b = *p++;
    if (shift == 63 && b > 1) return false;  // the tenth byte holds only the top bit
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace

std::size_t encode_health_request(std::string_view service, unsigned char* out,
                                  std::size_t cap) noexcept {
  if (service.size() > max_service || cap < 5) return 0;
  std::size_t n = 5;
  if (!service.empty()) {
    // Field 1, wire type 2 (length-delimited). Proto3 omits a default (empty) string.
    if (n == cap) return 0;
    out[n++] = 0x0a;
    const std::size_t len_bytes = put_varint(service.size(), out + n, cap - n);
    if (len_bytes == 0) return 0;
    n += len_bytes;
    if (cap - n < service.size()) return 0;
    std::memcpy(out + n, service.data(), service.size());
    n += service.size();
  }
  const std::size_t payload = n - 5;
  out[0] = 0;  // not compressed
  out[1] = static_cast<unsigned char>(payload >> 24);
  out[2] = static_cast<unsigned char>(payload >> 16);
  out[3] = static_cast<unsigned char>(payload >> 8);
  out[4] = static_cast<unsigned char>(payload);
  return n;
}

bool decode_health_response(const unsigned char* data, std::size_t len, std::int64_t& status,
                            const char*& error) noexcept {
  status = 0;
  const unsigned char* p = data;
  const unsigned char* const end = data + len;
  while (p != end) {
    std::uint64_t key = 0;
    if (!get_varint(p, end, key)) {
      error = "malformed HealthCheckResponse: bad field key";
      return false;
    }
    const std::uint64_t field = key >> 3;
    const unsigned wire = static_cast<unsigned>(key & 7);
    if (field == 0) {
      error = "malformed HealthCheckResponse: field number 0";
      return false;
    }
    switch (wire) {
      case 0: {  // varint
        std::uint64_t v = 0;
        if (!get_varint(p, end, v)) {
          error = "malformed HealthCheckResponse: truncated varint";
          return false;
        }
        // An enum is an int32 on the wire (negative ones sign-extended to 64 bits).
        if (field == 1) status = static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
        break;
      }
      case 1:  // 64-bit
        if (end - p < 8) {
          error = "malformed HealthCheckResponse: truncated fixed64";
          return false;
        }
        p += 8;
        break;
      case 2: {  // length-delimited
        std::uint64_t n = 0;
        if (!get_varint(p, end, n) || n > static_cast<std::uint64_t>(end - p)) {
          error = "malformed HealthCheckResponse: truncated length-delimited field";
          return false;
        }
        p += n;
        break;
      }
      case 5:  // 32-bit
        if (end - p < 4) {
          error = "malformed HealthCheckResponse: truncated fixed32";
          return false;
        }
        p += 4;
        break;
      default:  // 3/4: groups (never in this message), 6/7: invalid
        error = "malformed HealthCheckResponse: unexpected wire type";
        return false;
    }
  }
  return true;
}

message_reader::state message_reader::feed(const unsigned char* data, std::size_t len) noexcept {
  if (failed_) return state::error;
  while (len > 0) {
    if (done_) return fail("more than one message in a unary response");
    if (prefix_have_ < sizeof prefix_) {
      const std::size_t take =
          len < sizeof prefix_ - prefix_have_ ? len : sizeof prefix_ - prefix_have_;
      std::memcpy(prefix_ + prefix_have_, data, take);
      prefix_have_ += take;
      data += take;
      len -= take;
      if (prefix_have_ < sizeof prefix_) break;
      if (prefix_[0] == 1) return fail("compressed response message (compression not offered)");
      if (prefix_[0] != 0) return fail("invalid message flags");
      const std::uint32_t n = (std::uint32_t{prefix_[1]} << 24) |
                              (std::uint32_t{prefix_[2]} << 16) | (std::uint32_t{prefix_[3]} << 8) |
                              std::uint32_t{prefix_[4]};
      if (n > max_message) return fail("response message too large for a HealthCheckResponse");
      length_ = n;
      have_ = 0;
      if (length_ == 0) done_ = true;
      continue;
    }
    const std::size_t take = len < length_ - have_ ? len : length_ - have_;
    std::memcpy(buf_ + have_, data, take);
    have_ += take;
    data += take;
    len -= take;
    if (have_ == length_) done_ = true;
  }
  return state::reading;
}

bool message_reader::finish() noexcept {
  if (failed_) return false;
  if (done_) return true;
  error_ = prefix_have_ == 0 ? "no response message" : "truncated response message";
  failed_ = true;
  return false;
}

std::size_t format_timeout(std::chrono::milliseconds d, char* out, std::size_t cap) noexcept {
  long long v = d.count() < 1 ? 1 : static_cast<long long>(d.count());
  char unit = 'm';
  if (v > 99'999'999) {
    v = (v + 999) / 1000;  // seconds, rounded up
    unit = 'S';
    if (v > 99'999'999) {
      v = (v + 59) / 60;
      unit = 'M';
    }
  }
  const int n = std::snprintf(out, cap, "%lld%c", v, unit);
  if (n <= 0 || static_cast<std::size_t>(n) >= cap) return 0;
  return static_cast<std::size_t>(n);
}

int parse_status(std::string_view text) noexcept {
  if (text.empty() || text.size() > 3) return -1;
  int v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

const char* status_name(int code) noexcept {
  const char* name = base::grpc_status_code_name(code);
  return name != nullptr ? name : "?";
}

const char* serving_status_name(std::int64_t status) noexcept {
  return base::grpc_serving_status_name(status);
}

std::size_t printable_message(std::string_view text, char* out, std::size_t cap) noexcept {
  if (cap == 0) return 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size() && n + 1 < cap; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '%' && i + 2 < text.size()) {
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      const int hi = hex(text[i + 1]);
      const int lo = hex(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        c = static_cast<unsigned char>(hi * 16 + lo);
        i += 2;
      }
    }
    out[n++] = (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  out[n] = '\0';
  return n;
}

}  // namespace vitals::cli::grpc_wire
