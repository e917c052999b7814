// YAML keys of the tls check (compiled into vitals::config, registered by the generated list).
#include "config/schema.hpp"
#include "vitals/checks/tls.hpp"

namespace vitals::config::detail {

void register_tls(type_registry& types) {
  using o = checks::tls_options;
  type_builder<o> b{"tls", "A TLS endpoint's certificate: chain, name and expiry."};
  b.key("host", &o::host, "Host to connect to.", {.required = true});
  b.key("port", &o::port, "Port.", {.min = 1.0, .max = 65535.0});
  b.key("sni", &o::sni, "Server name to send and verify (empty = host).");
  b.key("ca_file", &o::ca_file, "PEM CAs to trust instead of the system ones.");
  b.key("warn_before", &o::warn_before, "Warn when the earliest expiry is closer than this.");
  b.key("fail_before", &o::fail_before, "Fail when the earliest expiry is closer than this.");
  types.add(b.build([](o opts) { return checks::tls(std::move(opts)); }));
}

}  // namespace vitals::config::detail
