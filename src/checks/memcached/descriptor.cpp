// The memcached check type: its keys, URL schemes, locality (listed in src/checks/types.def).
#include "schema/check_type.hpp"
#include "vitals/checks/memcached.hpp"

namespace vitals::checks {

schema::check_type describe_memcached() {
  using o = checks::memcached_options;
  schema::type_builder<o> b{"memcached", "memcached answers `version` over one kept connection."};
  b.key("address", &o::address, "host:port, [v6]:port or memcached://host:port.",
        {.required = true});
  return {.spec = b.build([](o opts) { return checks::memcached(std::move(opts)); }),
          .schemes = {"memcached"},
          .from_url = [](std::string_view url) {
            return checks::memcached({.address = std::string{url}});
          }};
}

}  // namespace vitals::checks
