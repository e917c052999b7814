// YAML keys of the exec check (compiled into vitals::config, registered by the generated list).
#include "config/schema.hpp"
#include "vitals/checks/exec.hpp"

namespace vitals::config::detail {

void register_exec(type_registry& types) {
  using o = checks::exec_options;
  type_builder<o> b{"exec",
                    "Runs a program (no shell): exit 0 = pass, 1 = warn, else fail (Nagios)."};
  b.key("command", &o::command, "Program path, or a name looked up in PATH.", {.required = true});
  b.key("args", &o::args, "Arguments.");
  b.key("env", &o::env, "Environment variables added for the program.");
  b.key("working_dir", &o::working_dir, "Working directory (empty = vitalsd's).");
  b.key("secrets", &o::secrets, "Strings never to show (tokens passed in args or env).",
        {.secret = true});
  b.key("max_output", &o::max_output, "Bytes of output kept.", {.min = 1.0});
  types.add(b.build([](o opts) { return checks::exec(std::move(opts)); }));
}

}  // namespace vitals::config::detail
