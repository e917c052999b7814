// YAML keys of the file check (compiled into vitals::config, registered by the generated list).
#include "config/schema.hpp"
#include "vitals/checks/file.hpp"

namespace vitals::config::detail {

void register_file(type_registry& types) {
  using o = checks::file_options;
  type_builder<o> b{"file", "A local file or directory exists, is writable, is fresh."};
  b.key("path", &o::path, "File or directory.", {.required = true});
  b.key("writable", &o::writable, "Fail unless vitalsd may write to it.");
  b.key("warn_age", &o::warn_age, "Warn when the last modification is older (0 = off).");
  b.key("max_age", &o::max_age, "Fail when the last modification is older (0 = off).");
  types.add(b.build([](o opts) { return checks::file(std::move(opts)); }));
}

}  // namespace vitals::config::detail
