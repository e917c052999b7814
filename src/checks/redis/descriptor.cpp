// The redis check type: its keys, URL schemes, locality (listed in src/checks/types.def).
#include "schema/check_type.hpp"
#include "vitals/checks/redis.hpp"

namespace vitals::checks {

schema::check_type describe_redis() {
  using o = checks::redis_options;
  schema::type_builder<o> b{"redis", "Redis answers PING (and ROLE) over one kept connection."};
  b.key("url", &o::url, "redis[s]://[user[:password]@]host[:port][/db] (rediss = TLS).",
        {.secret = true, .required = true});
  b.key("username", &o::username, "Overrides the URL's user.");
  b.key("password", &o::password, "Overrides the URL's password.", {.secret = true});
  b.custom("expect_role", schema::value_kind::string,
           "Required role: master or replica (empty = any).",
           [](o& opts, const schema::value& v) { opts.expect_role = std::get<std::string>(v); },
           std::nullopt, {}, {"", "master", "replica", "slave"});
  b.key("ca_file", &o::ca_file, "rediss: PEM CAs to trust instead of the system ones.");
  b.key("client_cert", &o::client_cert, "rediss: PEM client certificate (tls-auth-clients).");
  b.key("client_key", &o::client_key, "rediss: PEM client private key.");
  b.key("sni", &o::sni, "rediss: server name to send and verify (empty = URL host).");
  b.key("insecure", &o::insecure, "rediss: skip certificate and name verification (testing).");
  return {
      .spec = b.build([](o opts) { return checks::redis(std::move(opts)); }),
      .schemes = {"redis", "rediss"},
      .from_url = [](std::string_view url) { return checks::redis({.url = std::string{url}}); }};
}

}  // namespace vitals::checks
