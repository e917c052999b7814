// The mysql check type: its keys, URL schemes, locality (listed in src/checks/types.def).
#include "schema/check_type.hpp"
#include "vitals/checks/mysql.hpp"

namespace vitals::checks {

schema::check_type describe_mysql() {
  using o = checks::mysql_options;
  schema::type_builder<o> b{"mysql",
                            "MySQL / MariaDB: connect once, then ping (or query) every check."};
  b.key("url", &o::url, "mysql://user:password@host:port/database.",
        {.secret = true, .required = true});
  b.custom("ssl_mode", schema::value_kind::string, "TLS mode (empty = preferred).",
           [](o& opts, const schema::value& v) { opts.ssl_mode = std::get<std::string>(v); },
           std::nullopt, {}, {"disabled", "preferred", "required", "verify_ca", "verify_identity"});
  b.key("ssl_ca", &o::ssl_ca, "CA bundle for verify_ca / verify_identity.");
  b.key("query", &o::query, "Query run on every check (empty = COM_PING).");
  b.key("keep_connection", &o::keep_connection, "Keep one connection between runs.");
  return {
      .spec = b.build([](o opts) { return checks::mysql(std::move(opts)); }),
      .schemes = {"mysql", "mariadb"},
      .from_url = [](std::string_view url) { return checks::mysql({.url = std::string{url}}); }};
}

}  // namespace vitals::checks
