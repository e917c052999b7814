// YAML keys of the redis check (compiled into vitals::config, registered by the generated list).
#include "config/schema.hpp"
#include "vitals/checks/redis.hpp"

namespace vitals::config::detail {

void register_redis(type_registry& types) {
  using o = checks::redis_options;
  type_builder<o> b{"redis", "Redis answers PING (and ROLE) over one kept connection."};
  b.key("url", &o::url, "redis://[user[:password]@]host[:port][/db].",
        {.secret = true, .required = true});
  b.key("username", &o::username, "Overrides the URL's user.");
  b.key("password", &o::password, "Overrides the URL's password.", {.secret = true});
  b.custom("expect_role", value_kind::string, "Required role: master or replica (empty = any).",
           [](o& opts, const value& v) { opts.expect_role = std::get<std::string>(v); },
           std::nullopt, {}, {"", "master", "replica", "slave"});
  types.add(b.build([](o opts) { return checks::redis(std::move(opts)); }));
}

}  // namespace vitals::config::detail
