// YAML keys of the sqlite check (compiled into vitals::config, registered by the generated list).
#include "config/schema.hpp"
#include "vitals/checks/sqlite.hpp"

namespace vitals::config::detail {

void register_sqlite(type_registry& types) {
  using o = checks::sqlite_options;
  type_builder<o> b{"sqlite", "An SQLite database file opens, reads and (optionally) locks."};
  b.key("path", &o::path, "Database file or SQLite URI.", {.required = true});
  b.key("read_only", &o::read_only, "Open read-only; false also proves a write lock is possible.");
  b.key("quick_check", &o::quick_check, "Run PRAGMA quick_check (O(size)).");
  types.add(b.build([](o opts) { return checks::sqlite(std::move(opts)); }));
}

}  // namespace vitals::config::detail
