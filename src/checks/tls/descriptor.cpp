// The tls check type: its keys, locality (listed in src/checks/types.def).
#include "schema/check_type.hpp"
#include "vitals/checks/tls.hpp"

namespace vitals::checks {

schema::check_type describe_tls() {
  using o = checks::tls_options;
  schema::type_builder<o> b{"tls", "A TLS endpoint's certificate: chain, name and expiry."};
  b.key("host", &o::host, "Host to connect to.", {.required = true});
  b.key("port", &o::port, "Port.", {.min = 1.0, .max = 65535.0});
  b.key("sni", &o::sni, "Server name to send and verify (empty = host).");
  b.key("ca_file", &o::ca_file, "PEM CAs to trust instead of the system ones.");
  b.key("warn_before", &o::warn_before, "Warn when the earliest expiry is closer than this.");
  b.key("fail_before", &o::fail_before, "Fail when the earliest expiry is closer than this.");
  return {.spec = b.build([](o opts) { return checks::tls(std::move(opts)); })};
}

}  // namespace vitals::checks
