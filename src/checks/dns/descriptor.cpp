// The dns check type: its keys, locality (listed in src/checks/types.def).
#include "schema/check_type.hpp"
#include "vitals/checks/dns.hpp"

namespace vitals::checks {

schema::check_type describe_dns() {
  using o = checks::dns_options;
  schema::type_builder<o> b{"dns",
                            "A name resolves (system resolver), optionally to given addresses."};
  // `name` is the check's own name: the name to resolve is `host`.
  b.key("host", &o::name, "The name to resolve.", {.required = true});
  b.choice("family", &o::family,
           {{"any", checks::dns_family::any},
            {"ipv4", checks::dns_family::ipv4},
            {"ipv6", checks::dns_family::ipv6}},
           "Address family asked for.");
  b.key("expected_addresses", &o::expected_addresses, "Each must be among the answers.");
  b.key("min_addresses", &o::min_addresses, "At least this many distinct addresses.", {.min = 0.0});
  return {.spec = b.build([](o opts) { return checks::dns(std::move(opts)); })};
}

}  // namespace vitals::checks
