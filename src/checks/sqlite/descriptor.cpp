// The sqlite check type: its keys, locality (listed in src/checks/types.def).
#include "schema/check_type.hpp"
#include "vitals/checks/sqlite.hpp"

namespace vitals::checks {

schema::check_type describe_sqlite() {
  using o = checks::sqlite_options;
  schema::type_builder<o> b{"sqlite",
                            "An SQLite database file opens, reads and (optionally) locks."};
  b.key("path", &o::path, "Database file or SQLite URI.", {.required = true});
  b.key("read_only", &o::read_only, "Open read-only; false also proves a write lock is possible.");
  b.key("quick_check", &o::quick_check, "Run PRAGMA quick_check (O(size)).");
  return {.spec = b.build([](o opts) { return checks::sqlite(std::move(opts)); })};
}

}  // namespace vitals::checks
