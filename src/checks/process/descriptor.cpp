// The process check type: its keys, locality (listed in src/checks/types.def).
#include "schema/check_type.hpp"
#include "vitals/checks/process.hpp"

namespace vitals::checks {

schema::check_type describe_process() {
  using o = checks::process_options;
  schema::type_builder<o> b{"process",
                            "Another local process is alive (pid file or pid, not a zombie)."};
  b.key("pid_file", &o::pid_file, "File holding the pid.");
  b.key("pid", &o::pid, "Used instead of pid_file when > 0.", {.min = 0.0});
  // `name` is the check's own name: the expected process name is `process_name`.
  b.key("process_name", &o::name, "Expected /proc/<pid>/comm (guards against a recycled pid).");
  return {.spec = b.build([](o opts) { return checks::process(std::move(opts)); }),
          .process_local = true};
}

}  // namespace vitals::checks
