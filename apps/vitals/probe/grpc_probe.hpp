#pragma once

namespace vitals::cli {

/// True if an argument that is not an option names a grpc:// URL: `vitals probe` then runs the
/// gRPC health probe instead of the HTTP one.
[[nodiscard]] bool names_grpc_url(int argc, char** argv) noexcept;

/// `vitals probe [options] grpc://host:port[/service]`: one grpc.health.v1.Health/Check over
/// HTTP/2 (h2c with prior knowledge, or h2 over TLS with --tls), with grpc-health-probe's
/// options. `argv[0]` is "probe". Returns an exit code of probe_exit; never throws, never
/// allocates on the heap (libnghttp2, loaded with dlopen(), allocates from a static arena).
///
///     char* args[] = {"probe", "--rpc-timeout=500ms", "grpc://127.0.0.1:50051/my.pkg.Orders"};
///     return vitals::cli::grpc_probe_main(3, args);   // 0 when the service is SERVING
int grpc_probe_main(int argc, char** argv) noexcept;

}  // namespace vitals::cli
