#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vitals/check.hpp"

namespace vitals::checks {

/// Options of the gRPC health check (`grpc.health.v1.Health/Check`, what Kubernetes' `grpc:`
/// probes, Envoy and gRPC clients ask).
///
///     reg.add("orders", vitals::checks::grpc({.address = "orders.internal:50051",
///                                             .service = "shop.Orders"}),
///             {.timeout = 2s});
///     reg.add("edge", vitals::checks::grpc({.address = "edge.example.com:443", .tls = true,
///                                           .metadata = {{"authorization", "Bearer " + token}}}));
struct grpc_options {
  /// `host:port` of the server (`127.0.0.1:50051`, `[::1]:50051`, `orders.internal:50051`), or
  /// `unix:/path/to/socket`.
  std::string address{};
  /// The service asked about. Empty = the server as a whole (what Kubernetes asks by default).
  std::string service{};
  /// TLS (HTTP/2 over TLS, ALPN h2), verified against the system CAs or `ca_file`. False:
  /// plaintext HTTP/2 (h2c), what most in-cluster gRPC servers speak.
  bool tls = false;
  /// tls only: PEM file of CAs to trust instead of the system ones.
  std::string ca_file{};
  /// tls only: PEM client certificate (chain) and private key, for mTLS servers. Both or neither.
  std::string client_cert{};
  std::string client_key{};
  /// tls only: name sent as SNI and verified against the certificate;
  /// empty = the address's host.
  std::string sni{};
  /// tls only: skip certificate and host name verification (testing only).
  bool insecure = false;
  /// Metadata sent with every call (gRPC's request headers): keys lower-case `[a-z0-9_.-]`, not
  /// `grpc-*`; values printable ASCII (keys ending in `-bin`: any bytes). Values of credential
  /// keys (authorization, cookie, *token*, *key*, *secret*, ...) never appear in any output.
  std::vector<std::pair<std::string, std::string>> metadata{};
};

/// Calls `grpc.health.v1.Health/Check` for `service` over one channel kept between runs
/// (created on the first run; one HTTP/2 connection, re-established by gRPC when it drops), with
/// the run's deadline as the call's deadline (grpc++'s callback API: no thread per run). `pass`
/// when the answer is SERVING; NOT_SERVING and UNKNOWN fail (`assertion`), a service the server
/// does not know fails "service not found" (`assertion`), a server without the health service
/// fails (`protocol`, "has no health service"), connection failures are `refused`, `dns` or
/// `tls`, the deadline `timeout`. Reports the latency in ms ("responseTime"). Throws
/// std::invalid_argument for a bad address, TLS options without `tls`, an unreadable CA /
/// certificate / key file or invalid metadata (values never shown).
[[nodiscard]] std::shared_ptr<vitals::check> grpc(grpc_options options);

}  // namespace vitals::checks
