// YAML keys of the mysql check (compiled into vitals::config, registered by the generated list).
#include "config/schema.hpp"
#include "vitals/checks/mysql.hpp"

namespace vitals::config::detail {

void register_mysql(type_registry& types) {
  using o = checks::mysql_options;
  type_builder<o> b{"mysql", "MySQL / MariaDB: connect once, then ping (or query) every check."};
  b.key("url", &o::url, "mysql://user:password@host:port/database.",
        {.secret = true, .required = true});
  b.custom("ssl_mode", value_kind::string, "TLS mode (empty = preferred).",
           [](o& opts, const value& v) { opts.ssl_mode = std::get<std::string>(v); }, std::nullopt,
           {}, {"disabled", "preferred", "required", "verify_ca", "verify_identity"});
  b.key("ssl_ca", &o::ssl_ca, "CA bundle for verify_ca / verify_identity.");
  b.key("query", &o::query, "Query run on every check (empty = COM_PING).");
  b.key("keep_connection", &o::keep_connection, "Keep one connection between runs.");
  types.add(b.build([](o opts) { return checks::mysql(std::move(opts)); }));
}

}  // namespace vitals::config::detail
