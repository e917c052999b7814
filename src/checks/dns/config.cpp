// YAML keys of the dns check (compiled into vitals::config, registered by the generated list).
#include "config/schema.hpp"
#include "vitals/checks/dns.hpp"

namespace vitals::config::detail {

void register_dns(type_registry& types) {
  using o = checks::dns_options;
  type_builder<o> b{"dns", "A name resolves (system resolver), optionally to given addresses."};
  // `name` is the check's own name: the name to resolve is `host`.
  b.key("host", &o::name, "The name to resolve.", {.required = true});
  b.choice("family", &o::family,
           {{"any", checks::dns_family::any},
            {"ipv4", checks::dns_family::ipv4},
            {"ipv6", checks::dns_family::ipv6}},
           "Address family asked for.");
  b.key("expected_addresses", &o::expected_addresses, "Each must be among the answers.");
  b.key("min_addresses", &o::min_addresses, "At least this many distinct addresses.", {.min = 0.0});
  types.add(b.build([](o opts) { return checks::dns(std::move(opts)); }));
}

}  // namespace vitals::config::detail
