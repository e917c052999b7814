// The file check type: its keys, locality (listed in src/checks/types.def).
#include "schema/check_type.hpp"
#include "vitals/checks/file.hpp"

namespace vitals::checks {

schema::check_type describe_file() {
  using o = checks::file_options;
  schema::type_builder<o> b{"file", "A local file or directory exists, is writable, is fresh."};
  b.key("path", &o::path, "File or directory.", {.required = true});
  b.key("writable", &o::writable, "Fail unless vitalsd may write to it.");
  b.key("warn_age", &o::warn_age, "Warn when the last modification is older (0 = off).");
  b.key("max_age", &o::max_age, "Fail when the last modification is older (0 = off).");
  return {.spec = b.build([](o opts) { return checks::file(std::move(opts)); }),
          .process_local = true};
}

}  // namespace vitals::checks
