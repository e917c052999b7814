// YAML keys of the process check (compiled into vitals::config, registered by the generated list).
#include "config/schema.hpp"
#include "vitals/checks/process.hpp"

namespace vitals::config::detail {

void register_process(type_registry& types) {
  using o = checks::process_options;
  type_builder<o> b{"process", "Another local process is alive (pid file or pid, not a zombie)."};
  b.key("pid_file", &o::pid_file, "File holding the pid.");
  b.key("pid", &o::pid, "Used instead of pid_file when > 0.", {.min = 0.0});
  // `name` is the check's own name: the expected process name is `process_name`.
  b.key("process_name", &o::name, "Expected /proc/<pid>/comm (guards against a recycled pid).");
  types.add(b.build([](o opts) { return checks::process(std::move(opts)); }));
}

}  // namespace vitals::config::detail
