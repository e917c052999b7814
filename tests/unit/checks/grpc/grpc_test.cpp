// The grpc check's pure rules and its descriptor: addresses and URLs, metadata, the health
// messages on the wire (against protobuf's own encoding of the vendored proto), the
// classification of every outcome, and the options a configuration can set. No network.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "checks/types.hpp"
#include "grpc/grpc_detail.hpp"
#include "vitals/checks/grpc.hpp"
#ifdef VITALS_HAVE_HEALTH_PROTO
#include "grpc/health/v1/health.pb.h"
#endif

namespace {

using vitals::failure_kind;
using vitals::status;
namespace d = vitals::checks::detail;

// The bytes of a literal, NULs included.
template <std::size_t N>
std::string bytes(const char (&s)[N]) {
  return std::string(s, N - 1);
}

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception>";
}

TEST(grpc_address, forms) {
  auto a = d::parse_grpc_address("127.0.0.1:50051");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 50051);
  EXPECT_EQ(a.target, "ipv4:127.0.0.1:50051");
  EXPECT_EQ(a.shown, "127.0.0.1:50051");
  a = d::parse_grpc_address("[::1]:443");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.target, "ipv6:[::1]:443");
  EXPECT_EQ(a.shown, "[::1]:443");
  a = d::parse_grpc_address("orders.internal:8443");
  EXPECT_EQ(a.target, "dns:///orders.internal:8443");
  EXPECT_FALSE(a.unix_socket);
  a = d::parse_grpc_address("unix:/run/app.sock");
  EXPECT_TRUE(a.unix_socket);
  EXPECT_EQ(a.target, "unix:/run/app.sock");
  EXPECT_EQ(d::parse_grpc_address("unix:///run/app.sock").target, "unix:/run/app.sock");
}

TEST(grpc_address, mistakes_are_explained) {
  EXPECT_NE(error_of([] { (void)d::parse_grpc_address("orders"); }).find("no port"),
            std::string::npos);
  EXPECT_NE(error_of([] { (void)d::parse_grpc_address("h:0"); }).find("1-65535"),
            std::string::npos);
  EXPECT_NE(error_of([] { (void)d::parse_grpc_address("h:70000"); }).find("1-65535"),
            std::string::npos);
  EXPECT_NE(error_of([] { (void)d::parse_grpc_address(":50051"); }).find("no host"),
            std::string::npos);
  EXPECT_NE(error_of([] { (void)d::parse_grpc_address("::1:50051"); }).find("[::1]:50051"),
            std::string::npos);
  EXPECT_NE(error_of([] { (void)d::parse_grpc_address("grpc://h:1"); }).find("not a URL"),
            std::string::npos);
  EXPECT_NE(error_of([] { (void)d::parse_grpc_address("unix:"); }).find("no socket path"),
            std::string::npos);
  // A URL with credentials typed into `address` is masked in the message.
  const auto e = error_of([] { (void)d::parse_grpc_address("grpc://u:hunter22@h:1"); });
  EXPECT_EQ(e.find("hunter22"), std::string::npos) << e;
}

TEST(grpc_url, plaintext_tls_and_service) {
  auto o = d::grpc_options_from_url("grpc://127.0.0.1:50051");
  EXPECT_EQ(o.address, "127.0.0.1:50051");
  EXPECT_EQ(o.service, "");
  EXPECT_FALSE(o.tls);
  o = d::grpc_options_from_url("grpc://orders:9000/shop.Orders");
  EXPECT_EQ(o.address, "orders:9000");
  EXPECT_EQ(o.service, "shop.Orders");
  o = d::grpc_options_from_url("grpcs://edge.example.com/");
  EXPECT_TRUE(o.tls);
  EXPECT_EQ(o.address, "edge.example.com:443");
  EXPECT_EQ(o.service, "");
  o = d::grpc_options_from_url("GRPC://[::1]:1/a%2Fb");
  EXPECT_EQ(o.address, "[::1]:1");
  EXPECT_EQ(o.service, "a/b");
}

TEST(grpc_url, refused_forms) {
  EXPECT_NE(error_of([] { (void)d::grpc_options_from_url("grpc://h"); }).find("no port"),
            std::string::npos);
  EXPECT_NE(error_of([] { (void)d::grpc_options_from_url("http://h:1"); }).find("scheme"),
            std::string::npos);
  EXPECT_NE(error_of([] { (void)d::grpc_options_from_url("grpc://h:1/s?x=1"); }).find("query"),
            std::string::npos);
  const auto e = error_of([] { (void)d::grpc_options_from_url("grpc://u:pa55word@h:1"); });
  EXPECT_NE(e.find("no credentials"), std::string::npos) << e;
  EXPECT_EQ(e.find("pa55word"), std::string::npos) << e;
}

TEST(grpc_metadata, keys_lower_cased_and_validated_values_never_shown) {
  const auto m = d::normalized_metadata({{"Authorization", "Bearer x"}, {"x-trace-bin", "\x01"}});
  ASSERT_EQ(m.size(), 2U);
  EXPECT_EQ(m[0].first, "authorization");
  EXPECT_EQ(m[1].second, "\x01");
  for (const auto& [bad_key, why] :
       std::vector<std::pair<std::string, std::string>>{{"", "empty"},
                                                        {"x tenant", "[a-z0-9-_.]"},
                                                        {":authority", "[a-z0-9-_.]"},
                                                        {"grpc-timeout", "reserved"},
                                                        {"content-type", "set by gRPC"},
                                                        {"user-agent", "set by gRPC"}}) {
    const std::string key = bad_key;
    const auto e = error_of([&] { (void)d::normalized_metadata({{key, "v4lue-secret"}}); });
    EXPECT_NE(e.find(why), std::string::npos) << key << ": " << e;
    EXPECT_EQ(e.find("v4lue-secret"), std::string::npos) << e;
  }
  const auto e = error_of([] {
    (void)d::normalized_metadata({{"x-token", "line\nbreak-s3cret"}});
  });
  EXPECT_NE(e.find("printable ASCII"), std::string::npos) << e;
  EXPECT_EQ(e.find("s3cret"), std::string::npos) << e;
}

TEST(grpc_metadata, credential_keys) {
  for (const char* k : {"authorization", "Authorization", "proxy-authorization", "cookie",
                        "x-api-key", "x-auth-token", "client-secret"}) {
    EXPECT_TRUE(d::is_credential_metadata(k)) << k;
  }
  for (const char* k : {"x-tenant", "x-request-id", "user-region"}) {
    EXPECT_FALSE(d::is_credential_metadata(k)) << k;
  }
}

TEST(grpc_wire, request_encoding) {
  EXPECT_EQ(d::encode_health_request(""), "");
  EXPECT_EQ(d::encode_health_request("ab"), std::string("\x0a\x02"
                                                        "ab",
                                                        4));
  const std::string long_name(300, 's');
  const auto e = d::encode_health_request(long_name);
  EXPECT_EQ(e.substr(0, 3), std::string("\x0a\xac\x02", 3));  // 300 = 0xac 0x02
  EXPECT_EQ(e.size(), 303U);
}

TEST(grpc_wire, response_decoding) {
  EXPECT_EQ(d::decode_health_response(""), 0);  // proto3: an absent field is its default
  EXPECT_EQ(d::decode_health_response(std::string("\x08\x01", 2)), 1);
  EXPECT_EQ(d::decode_health_response(std::string("\x08\x02", 2)), 2);
  // Unknown fields of every wire type are skipped; the last value of a field wins.
  EXPECT_EQ(d::decode_health_response(bytes("\x10\x05"
                                            "\x1a\x02xy"
                                            "\x08\x02"
                                            "\x25"
                                            "abcd"
                                            "\x29"
                                            "12345678"
                                            "\x08\x01")),
            1);
  // Field 1 with another wire type is an unknown field, as protobuf reads it.
  EXPECT_EQ(d::decode_health_response(bytes("\x0a\x01x")), 0);
  // Negative enum values travel as ten-byte varints.
  EXPECT_EQ(
      d::decode_health_response(std::string("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11)),
      -1);
  for (const std::string& bad :
       {bytes("\x08"), bytes("\x0a\x01"), bytes("\x1a\x05xy"), bytes("\x00\x01"), bytes("\x0b"),
        bytes("\x08\x80"), bytes("\x0d\x01")}) {
    EXPECT_FALSE(d::decode_health_response(bad).has_value());
  }
}

#ifdef VITALS_HAVE_HEALTH_PROTO
// The hand encoding against protobuf's, with the vendored proto's generated classes.
TEST(grpc_wire, same_bytes_as_protobuf) {
  for (const std::string& service :
       {std::string{}, std::string{"shop.Orders"}, std::string(200, 'x'), std::string("\0a", 2)}) {
    ::grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    EXPECT_EQ(d::encode_health_request(service), req.SerializeAsString());
    ::grpc::health::v1::HealthCheckRequest back;
    ASSERT_TRUE(back.ParseFromString(d::encode_health_request(service)));
    EXPECT_EQ(back.service(), service);
  }
  using resp = ::grpc::health::v1::HealthCheckResponse;
  for (const auto s : {resp::UNKNOWN, resp::SERVING, resp::NOT_SERVING, resp::SERVICE_UNKNOWN}) {
    resp r;
    r.set_status(s);
    EXPECT_EQ(d::decode_health_response(r.SerializeAsString()), static_cast<std::int64_t>(s));
  }
}
#endif

TEST(grpc_names, codes_and_statuses) {
  EXPECT_EQ(d::grpc_code_name(0), "OK");
  EXPECT_EQ(d::grpc_code_name(4), "DEADLINE_EXCEEDED");
  EXPECT_EQ(d::grpc_code_name(12), "UNIMPLEMENTED");
  EXPECT_EQ(d::grpc_code_name(16), "UNAUTHENTICATED");
  EXPECT_EQ(d::grpc_code_name(17), "CODE 17");
  EXPECT_EQ(d::serving_status_name(3), "SERVICE_UNKNOWN");
  EXPECT_EQ(d::serving_status_name(9), "status 9");
}

class grpc_classify : public ::testing::Test {
 protected:
  vitals::result run(int code, std::string message = {}, std::string response = {},
                     bool tls = false, std::string_view service = "shop.Orders") {
    return d::classify_health_call(
        {.code = code, .message = std::move(message), .response = std::move(response), .tls = tls},
        where_, service, "timed out after 2s waiting for the Health/Check answer from x");
  }
  d::grpc_address where_ = d::parse_grpc_address("127.0.0.1:50051");
};

TEST_F(grpc_classify, serving_statuses) {
  auto r = run(0, "", std::string("\x08\x01", 2));
  EXPECT_EQ(r.status, status::pass);
  r = run(0, "", std::string("\x08\x02", 2));
  EXPECT_EQ(r.kind, failure_kind::assertion);
  EXPECT_EQ(r.output, "service \"shop.Orders\" is NOT_SERVING (127.0.0.1:50051)");
  r = run(0, "", std::string("\x08\x02", 2), false, "");
  EXPECT_EQ(r.output, "the server (service \"\") is NOT_SERVING (127.0.0.1:50051)");
  r = run(0, "", "");
  EXPECT_EQ(r.output, "service \"shop.Orders\" is UNKNOWN (127.0.0.1:50051)");
  r = run(0, "", std::string("\x08\x03", 2));
  EXPECT_EQ(r.kind, failure_kind::assertion);
  EXPECT_NE(r.output.find("not found"), std::string::npos);
  r = run(0, "", std::string("\x08\x07", 2));
  EXPECT_EQ(r.kind, failure_kind::protocol);
  r = run(0, "", std::string("\x0b", 1));
  EXPECT_EQ(r.kind, failure_kind::protocol);
  EXPECT_NE(r.output.find("not a grpc.health.v1.HealthCheckResponse"), std::string::npos);
}

TEST_F(grpc_classify, status_codes) {
  auto r = run(5, "");
  EXPECT_EQ(r.kind, failure_kind::assertion);
  EXPECT_EQ(r.output, "service \"shop.Orders\" not found on 127.0.0.1:50051 (NOT_FOUND)");
  r = run(12, "");
  EXPECT_EQ(r.kind, failure_kind::protocol);
  EXPECT_EQ(r.output,
            "127.0.0.1:50051 has no health service (grpc.health.v1.Health/Check is "
            "UNIMPLEMENTED)");
  r = run(4, "Deadline Exceeded");
  EXPECT_EQ(r.kind, failure_kind::timeout);
  EXPECT_EQ(r.output, "timed out after 2s waiting for the Health/Check answer from x");
  r = run(16, "bad token");
  EXPECT_EQ(r.kind, failure_kind::auth);
  EXPECT_EQ(r.output, "UNAUTHENTICATED from 127.0.0.1:50051: bad token");
  r = run(7, "");
  EXPECT_EQ(r.kind, failure_kind::auth);
  r = run(13, "Received RST_STREAM with error code 2");
  EXPECT_EQ(r.kind, failure_kind::protocol);
  EXPECT_EQ(r.output, "INTERNAL from 127.0.0.1:50051: Received RST_STREAM with error code 2");
  r = run(8, "");
  EXPECT_EQ(r.output, "RESOURCE_EXHAUSTED from 127.0.0.1:50051");
}

// UNAVAILABLE covers every way of not getting through; gRPC 1.51's own texts.
TEST_F(grpc_classify, unavailable_by_cause) {
  auto r = run(14,
               "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:50051: "
               "Failed to connect to remote host: Connection refused");
  EXPECT_EQ(r.kind, failure_kind::refused);
  EXPECT_EQ(r.output, "connection refused (127.0.0.1:50051)");
  r = run(14,
          "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:50051: Ssl "
          "handshake failed: SSL_ERROR_SSL: error:0A000086:SSL routines::certificate verify "
          "failed",
          "", true);
  EXPECT_EQ(r.kind, failure_kind::tls);
  EXPECT_EQ(r.output, "TLS handshake with 127.0.0.1:50051 failed: certificate verify failed");
  r = run(14,
          "DNS resolution failed for nowhere.invalid:50051: C-ares status is not ARES_SUCCESS "
          "qtype=AAAA name=nowhere.invalid is_balancer=0: Domain name not found");
  EXPECT_EQ(r.kind, failure_kind::dns);
  EXPECT_EQ(r.output, "could not resolve \"127.0.0.1\": Domain name not found");
  r = run(14, "Socket closed");
  EXPECT_EQ(r.kind, failure_kind::refused);
  EXPECT_NE(r.output.find("a TLS port? set tls: true"), std::string::npos) << r.output;
  r = run(14, "Socket closed", "", true);
  EXPECT_EQ(r.kind, failure_kind::tls);
  EXPECT_NE(r.output.find("does it require a client certificate?"), std::string::npos) << r.output;
  // On a connection that was up, a drop is the server going away.
  r = d::classify_health_call(
      {.code = 14, .message = "Socket closed", .tls = true, .was_connected = true}, where_, "", "");
  EXPECT_EQ(r.kind, failure_kind::refused);
  EXPECT_EQ(r.output, "unavailable (127.0.0.1:50051): Socket closed");
  r = run(14, std::string(1000, 'x'));
  EXPECT_LT(r.output.size(), 400U);
}

TEST(grpc_descriptor, keys_schemes_and_construction) {
  const auto* t = vitals::checks::type_for_scheme("grpc");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->name(), "grpc");
  EXPECT_EQ(vitals::checks::type_for_scheme("grpcs"), t);
  EXPECT_FALSE(t->process_local);
  EXPECT_EQ(t->loading, vitals::schema::loading::lazy);
  for (const char* key : {"address", "service", "tls", "ca_file", "client_cert", "client_key",
                          "sni", "insecure", "metadata"}) {
    EXPECT_NE(t->spec.section.find(key), nullptr) << key;
  }
  EXPECT_TRUE(t->spec.section.find("address")->flags.required);
  EXPECT_EQ(t->spec.section.find("metadata")->kind, vitals::schema::value_kind::string_map);
  // No hidden timeout: the runner's is the only one.
  EXPECT_EQ(t->spec.section.find("timeout"), nullptr);
  EXPECT_EQ(t->spec.section.find("deadline"), nullptr);
}

#ifdef VITALS_HAVE_GRPC
TEST(grpc_options, construction_does_not_connect_and_checks_its_options) {
  // Nothing listens on port 1: construction must not care (the channel is made on first run).
  auto c = vitals::checks::grpc(
      {.address = "127.0.0.1:1",
       .metadata = {{"Authorization", "Bearer abc123def"}, {"x-tenant", "acme"}}});
  const auto traits = c->traits();
  EXPECT_EQ(traits.type, "grpc");
  EXPECT_EQ(traits.measurement, "responseTime");
  EXPECT_TRUE(traits.dependency);
  EXPECT_NE(std::find(traits.secrets.begin(), traits.secrets.end(), "Bearer abc123def"),
            traits.secrets.end());
  EXPECT_NE(std::find(traits.secrets.begin(), traits.secrets.end(), "abc123def"),
            traits.secrets.end());
  EXPECT_EQ(std::find(traits.secrets.begin(), traits.secrets.end(), "acme"), traits.secrets.end());

  EXPECT_NE(error_of([] {
              (void)vitals::checks::grpc({.address = "h:1", .ca_file = "x"});
            }).find("need tls: true"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              (void)vitals::checks::grpc({.address = "h:1", .insecure = true});
            }).find("need tls: true"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              (void)vitals::checks::grpc({.address = "h:1", .tls = true, .client_cert = "c"});
            }).find("go together"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              (void)vitals::checks::grpc(
                  {.address = "h:1", .tls = true, .ca_file = "/nonexistent/ca.pem"});
            }).find("cannot read ca_file \"/nonexistent/ca.pem\""),
            std::string::npos);
  EXPECT_NE(error_of([] { (void)vitals::checks::grpc({}); }).find("no port"), std::string::npos);
  // The URL form builds the same type.
  const auto* t = vitals::checks::type_for_scheme("grpc");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->from_url("grpc://127.0.0.1:1/svc")->traits().type, "grpc");
}

TEST(grpc_options, a_past_deadline_is_a_timeout_without_a_call) {
  auto c = vitals::checks::grpc({.address = "127.0.0.1:1"});
  const vitals::context ctx{"g", std::chrono::steady_clock::now() - std::chrono::milliseconds{1},
                            std::make_shared<std::atomic<bool>>(false)};
  const auto r = c->run(ctx);
  EXPECT_EQ(r.kind, failure_kind::timeout) << r.output;
}
#endif

}  // namespace
