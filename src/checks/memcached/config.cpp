// YAML keys of the memcached check (compiled into vitals::config, registered by the generated
// list).
#include "config/schema.hpp"
#include "vitals/checks/memcached.hpp"

namespace vitals::config::detail {

void register_memcached(type_registry& types) {
  using o = checks::memcached_options;
  type_builder<o> b{"memcached", "memcached answers `version` over one kept connection."};
  b.key("address", &o::address, "host:port, [v6]:port or memcached://host:port.",
        {.required = true});
  types.add(b.build([](o opts) { return checks::memcached(std::move(opts)); }));
}

}  // namespace vitals::config::detail
