// Pure parts of `vitals probe grpc://`: the gRPC message framing, the two protobufs encoded
// and decoded by hand, grpc-timeout, grpc-status and grpc-message, the grpc:// URL. Hostile
// inputs included: what the peer sends is never trusted.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "probe/grpc_wire.hpp"
#include "probe/h2.hpp"
#include "probe/url.hpp"

namespace vitals::cli::grpc_wire {
namespace {

using namespace std::chrono_literals;
using bytes = std::vector<unsigned char>;

bytes request(std::string_view service) {
  bytes out(max_service + 16);
  const std::size_t n = encode_health_request(service, out.data(), out.size());
  out.resize(n);
  return out;
}

TEST(probe_grpc_wire, encodes_the_request_with_its_prefix) {
  EXPECT_EQ(request(""), (bytes{0, 0, 0, 0, 0}));  // proto3: the default string is omitted
  EXPECT_EQ(request("db"), (bytes{0, 0, 0, 0, 4, 0x0a, 2, 'd', 'b'}));
  // A 200-byte name needs a two-byte length varint (0xc8 0x01).
  const std::string long_name(200, 'x');
  const bytes r = request(long_name);
  ASSERT_EQ(r.size(), 5u + 1 + 2 + 200);
  EXPECT_EQ(r[4], 203);
  EXPECT_EQ(r[5], 0x0a);
  EXPECT_EQ(r[6], 0xc8);
  EXPECT_EQ(r[7], 0x01);
}

TEST(probe_grpc_wire, refuses_what_does_not_fit) {
  unsigned char small[8];
  EXPECT_EQ(encode_health_request("db", small, 4), 0u);
  EXPECT_EQ(encode_health_request("abcdef", small, sizeof small), 0u);
  EXPECT_EQ(encode_health_request(std::string(max_service + 1, 'x'), nullptr, 0), 0u);
}

bool decode(const bytes& b, std::int64_t& status, const char*& error) {
  return decode_health_response(b.data(), b.size(), status, error);
}

std::int64_t status_of(const bytes& b) {
  std::int64_t status = -100;
  const char* error = nullptr;
  EXPECT_TRUE(decode(b, status, error)) << (error ? error : "");
  return status;
}

TEST(probe_grpc_wire, decodes_the_serving_status) {
  EXPECT_EQ(status_of({0x08, 0x01}), 1);              // SERVING
  EXPECT_EQ(status_of({0x08, 0x02}), 2);              // NOT_SERVING
  EXPECT_EQ(status_of({}), 0);                        // absent: UNKNOWN (proto3 default)
  EXPECT_EQ(status_of({0x08, 0x01, 0x08, 0x02}), 2);  // the last one wins
  // An out-of-range enum value is kept (and judged not serving), negatives sign-extended.
  EXPECT_EQ(status_of({0x08, 0x07}), 7);
  EXPECT_EQ(status_of({0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}), -1);
}

TEST(probe_grpc_wire, skips_unknown_fields_of_every_wire_type) {
  EXPECT_EQ(status_of({0x10, 0x96, 0x01,                        // field 2 varint
                       0x19, 1,    2,    3,   4,   5, 6, 7, 8,  // field 3 fixed64
                       0x22, 3,    'a',  'b', 'c',              // field 4 bytes
                       0x2d, 1,    2,    3,   4,                // field 5 fixed32
                       0x08, 0x01}),
            1);
  // A field 1 with another wire type is not the status.
  EXPECT_EQ(status_of({0x0a, 1, 0x01}), 0);
}

TEST(probe_grpc_wire, rejects_malformed_payloads) {
  const std::vector<bytes> bad = {
      {0x08},        // status without its value
      {0x08, 0x80},  // truncated varint
      {0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},  // 11 bytes
      {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02},        // over 64 bits
      {0x22, 0x05, 'a'},                     // length beyond the end
      {0x22, 0xff, 0xff, 0xff, 0xff, 0x0f},  // huge length
      {0x19, 1, 2, 3},                       // truncated fixed64
      {0x2d, 1},                             // truncated fixed32
      {0x0b},                                // start group
      {0x0c},                                // end group
      {0x0e},                                // wire type 6
      {0x00, 0x01},                          // field number 0
      {0x80},                                // truncated key
  };
  for (const bytes& b : bad) {
    std::int64_t status = 0;
    const char* error = nullptr;
    EXPECT_FALSE(decode(b, status, error)) << testing::PrintToString(b);
    EXPECT_NE(error, nullptr);
  }
}

message_reader::state feed(message_reader& r, const bytes& b) { return r.feed(b.data(), b.size()); }

TEST(probe_grpc_reader, reads_one_message_in_any_chunking) {
  const bytes msg = {0, 0, 0, 0, 2, 0x08, 0x01};
  for (std::size_t split = 0; split <= msg.size(); ++split) {
    message_reader r;
    EXPECT_EQ(r.feed(msg.data(), split), message_reader::state::reading);
    EXPECT_EQ(r.feed(msg.data() + split, msg.size() - split), message_reader::state::reading);
    ASSERT_TRUE(r.finish()) << split;
    ASSERT_EQ(r.payload_size(), 2u);
    EXPECT_EQ(r.payload()[0], 0x08);
    EXPECT_EQ(r.payload()[1], 0x01);
  }
  // Byte by byte.
  message_reader r;
  for (const unsigned char b : msg) r.feed(&b, 1);
  EXPECT_TRUE(r.finish());
}

TEST(probe_grpc_reader, an_empty_message_is_a_message) {
  message_reader r;
  feed(r, {0, 0, 0, 0, 0});
  ASSERT_TRUE(r.finish());
  EXPECT_EQ(r.payload_size(), 0u);
}

TEST(probe_grpc_reader, rejects_compressed_oversized_and_extra_messages) {
  {
    message_reader r;
    EXPECT_EQ(feed(r, {1, 0, 0, 0, 2, 0x08, 0x01}), message_reader::state::error);
    EXPECT_NE(std::string{r.error()}.find("compressed"), std::string::npos);
    EXPECT_FALSE(r.finish());
  }
  {
    message_reader r;
    EXPECT_EQ(feed(r, {0x80, 0, 0, 0, 0}), message_reader::state::error);  // unknown flags
  }
  {
    message_reader r;  // 4 GiB - 1 announced: never buffered
    EXPECT_EQ(feed(r, {0, 0xff, 0xff, 0xff, 0xff}), message_reader::state::error);
    EXPECT_NE(std::string{r.error()}.find("too large"), std::string::npos);
  }
  {
    message_reader r;  // one byte over the limit
    const auto n = static_cast<std::uint32_t>(max_message + 1);
    EXPECT_EQ(feed(r, {0, static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
                       static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)}),
              message_reader::state::error);
  }
  {
    message_reader r;  // exactly the limit is fine
    bytes b = {0, 0, 0, static_cast<unsigned char>(max_message >> 8),
               static_cast<unsigned char>(max_message & 0xff)};
    b.resize(5 + max_message, 0x00);
    EXPECT_EQ(feed(r, b), message_reader::state::reading);
    EXPECT_TRUE(r.finish());
  }
  {
    message_reader r;  // a unary answer has one message
    EXPECT_EQ(feed(r, {0, 0, 0, 0, 2, 0x08, 0x01, 0, 0, 0, 0, 2, 0x08, 0x02}),
              message_reader::state::error);
    EXPECT_NE(std::string{r.error()}.find("more than one"), std::string::npos);
    EXPECT_EQ(feed(r, {0}), message_reader::state::error);  // stays failed
  }
}

TEST(probe_grpc_reader, truncated_streams_fail_at_the_end) {
  for (const bytes& b : {bytes{}, bytes{0, 0}, bytes{0, 0, 0, 0, 2}, bytes{0, 0, 0, 0, 2, 0x08}}) {
    message_reader r;
    EXPECT_EQ(feed(r, b), message_reader::state::reading);
    EXPECT_FALSE(r.finish()) << testing::PrintToString(b);
    EXPECT_NE(r.error(), nullptr);
  }
}

std::string timeout(std::chrono::milliseconds d) {
  char buf[16];
  const std::size_t n = format_timeout(d, buf, sizeof buf);
  return {buf, n};
}

TEST(probe_grpc_wire, grpc_timeout_has_at_most_eight_digits) {
  EXPECT_EQ(timeout(1000ms), "1000m");
  EXPECT_EQ(timeout(1ms), "1m");
  EXPECT_EQ(timeout(0ms), "1m");  // never "0m": that is an expired deadline
  EXPECT_EQ(timeout(99'999'999ms), "99999999m");
  EXPECT_EQ(timeout(100'000'000ms), "100000S");
  EXPECT_EQ(timeout(std::chrono::milliseconds{200'000'000'000}), "3333334M");
  char tiny[3];
  EXPECT_EQ(format_timeout(1000ms, tiny, sizeof tiny), 0u);
}

TEST(probe_grpc_wire, grpc_status_and_names) {
  EXPECT_EQ(parse_status("0"), 0);
  EXPECT_EQ(parse_status("12"), 12);
  EXPECT_EQ(parse_status(""), -1);
  EXPECT_EQ(parse_status("1x"), -1);
  EXPECT_EQ(parse_status("-1"), -1);
  EXPECT_EQ(parse_status("1234"), -1);
  EXPECT_STREQ(status_name(5), "NOT_FOUND");
  EXPECT_STREQ(status_name(12), "UNIMPLEMENTED");
  EXPECT_STREQ(status_name(16), "UNAUTHENTICATED");
  EXPECT_STREQ(status_name(17), "?");
  EXPECT_STREQ(status_name(-1), "?");
  EXPECT_STREQ(serving_status_name(1), "SERVING");
  EXPECT_STREQ(serving_status_name(3), "SERVICE_UNKNOWN");
  EXPECT_EQ(serving_status_name(4), nullptr);
}

TEST(probe_grpc_wire, grpc_message_is_decoded_and_made_printable) {
  char buf[64];
  printable_message("unknown%20service", buf, sizeof buf);
  EXPECT_STREQ(buf, "unknown service");
  printable_message("bad%0Aline%1b[31m%", buf, sizeof buf);  // no terminal escapes, no newline
  EXPECT_STREQ(buf, "bad?line?[31m%");
  printable_message("%zz%4", buf, sizeof buf);  // malformed escapes stay as they are
  EXPECT_STREQ(buf, "%zz%4");
  printable_message(std::string(500, 'x'), buf, 8);
  EXPECT_STREQ(buf, "xxxxxxx");
}

}  // namespace
}  // namespace vitals::cli::grpc_wire

namespace vitals::cli {
namespace {

// nghttp2's allocations go to a static arena (the probe touches no heap); past it, libc's.
TEST(probe_grpc_arena, allocates_reallocates_and_falls_back_to_the_heap) {
  nghttp2_mem* m = h2::arena_allocator();
  void* u = m->mem_user_data;
  auto* a = static_cast<unsigned char*>(m->malloc(100, u));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % 16, 0u);
  std::memset(a, 0xab, 100);
  auto* b = static_cast<unsigned char*>(m->calloc(10, 10, u));
  ASSERT_NE(b, nullptr);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(b[i], 0);
  // Growing an older block moves it, contents kept; growing the newest one stays in place.
  auto* a2 = static_cast<unsigned char*>(m->realloc(a, 5000, u));
  ASSERT_NE(a2, nullptr);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(a2[i], 0xab);
  EXPECT_EQ(m->realloc(a2, 9000, u), a2);
  // Freeing the newest block gives its space back.
  m->free(a2, u);
  void* c = m->malloc(64, u);
  EXPECT_EQ(c, a2);
  // More than the arena holds: the heap, freed and reallocated there.
  void* big = m->malloc(std::size_t{1} << 20, u);
  ASSERT_NE(big, nullptr);
  std::memset(big, 1, std::size_t{1} << 20);
  big = m->realloc(big, std::size_t{2} << 20, u);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(static_cast<unsigned char*>(big)[(std::size_t{1} << 20) - 1], 1);
  m->free(big, u);
  EXPECT_EQ(m->calloc(static_cast<std::size_t>(-1), 16, u), nullptr);  // overflow refused
  m->free(nullptr, u);
  m->free(c, u);
  m->free(b, u);
}

TEST(probe_grpc_url, host_port_and_service) {
  grpc_url_parts g;
  const char* err = nullptr;
  ASSERT_TRUE(parse_grpc_url("grpc://127.0.0.1:50051", g, err)) << err;
  EXPECT_EQ(g.host, "127.0.0.1");
  EXPECT_EQ(g.port, 50051);
  EXPECT_EQ(g.service, "");
  ASSERT_TRUE(parse_grpc_url("GRPC://[::1]:9/my.pkg.Orders", g, err)) << err;
  EXPECT_EQ(g.host, "::1");
  EXPECT_TRUE(g.bracketed);
  EXPECT_EQ(g.service, "my.pkg.Orders");
  ASSERT_TRUE(parse_grpc_url("grpc://svc.local:1/", g, err));
  EXPECT_EQ(g.service, "");
  EXPECT_TRUE(is_grpc_url("grpc://h:1"));
  EXPECT_TRUE(is_grpc_url("gRPC://h:1"));
  EXPECT_FALSE(is_grpc_url("http://h:1"));
  EXPECT_FALSE(is_grpc_url("grpc:/h"));
}

TEST(probe_grpc_url, rejects_what_grpc_urls_cannot_mean) {
  grpc_url_parts g;
  for (const char* bad :
       {"grpc://h", "grpc://h:/", "grpc://:1", "grpc://h:0", "grpc://h:65536", "grpc://u:p@h:1",
        "grpc://h:1/a/b", "grpc://h:1/x?y", "grpc://h:1/#f", "grpc://h:1/a%20b", "grpc://h:1/a b",
        "grpc://[::1:1", "grpc://bad host:1", "http://h:1"}) {
    const char* err = nullptr;
    EXPECT_FALSE(parse_grpc_url(bad, g, err)) << bad;
    EXPECT_NE(err, nullptr) << bad;
  }
}

}  // namespace
}  // namespace vitals::cli
