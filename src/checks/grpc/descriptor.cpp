// The grpc check type: its keys, URL schemes, locality (listed in src/checks/types.def).
#include "grpc/grpc_detail.hpp"
#include "schema/check_type.hpp"
#include "vitals/checks/grpc.hpp"

namespace vitals::checks {

schema::check_type describe_grpc() {
  using o = checks::grpc_options;
  schema::type_builder<o> b{"grpc",
                            "A gRPC server answers grpc.health.v1.Health/Check with SERVING."};
  b.key("address", &o::address, "host:port (or unix:/path) of the gRPC server.",
        {.required = true});
  b.key("service", &o::service, "Service asked about (empty = the server as a whole).");
  b.key("tls", &o::tls, "Speak TLS (verified against the system CAs or ca_file).");
  b.key("ca_file", &o::ca_file, "tls: PEM CAs to trust instead of the system ones.");
  b.key("client_cert", &o::client_cert, "tls: PEM client certificate (chain), for mTLS.");
  b.key("client_key", &o::client_key, "tls: PEM client private key.");
  b.key("sni", &o::sni, "tls: server name to send and verify (empty = the address's host).");
  b.key("insecure", &o::insecure, "tls: skip certificate and name verification (testing).");
  b.key("metadata", &o::metadata,
        "Metadata sent with every call (credential values are never shown).");
  return {.spec = b.build([](o opts) { return checks::grpc(std::move(opts)); }),
          .schemes = {"grpc", "grpcs"},
          .from_url = [](std::string_view url) {
            return checks::grpc(detail::grpc_options_from_url(url));
          }};
}

}  // namespace vitals::checks
