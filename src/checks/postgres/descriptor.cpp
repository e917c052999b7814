// The postgres check type: its keys, URL schemes, locality (listed in src/checks/types.def).
#include "schema/check_type.hpp"
#include "vitals/checks/postgres.hpp"

namespace vitals::checks {

schema::check_type describe_postgres() {
  using o = checks::postgres_options;
  schema::type_builder<o> b{"postgres",
                            "PostgreSQL: connect once, then run a query on every check."};
  b.key("url", &o::url, "postgres://user:password@host:port/db (set url or conninfo).",
        {.secret = true});
  b.key("conninfo", &o::conninfo, "host=... user=... password=... (alternative to url).",
        {.secret = true});
  b.custom("sslmode", schema::value_kind::string, "Overrides the connection string's sslmode.",
           [](o& opts, const schema::value& v) { opts.sslmode = std::get<std::string>(v); },
           std::nullopt, {}, {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"});
  b.key("sslrootcert", &o::sslrootcert, "CA bundle for verify-ca / verify-full.");
  b.key("query", &o::query, "Query run on every check (empty = an empty query).");
  b.key("keep_connection", &o::keep_connection, "Keep one connection between runs.");
  b.key("application_name", &o::application_name, "Shown in pg_stat_activity.");
  return {
      .spec = b.build([](o opts) { return checks::postgres(std::move(opts)); }),
      .schemes = {"postgres", "postgresql"},
      .from_url = [](std::string_view url) { return checks::postgres({.url = std::string{url}}); }};
}

}  // namespace vitals::checks
