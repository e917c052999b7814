// The exec check type: its keys, locality (listed in src/checks/types.def).
#include "schema/check_type.hpp"
#include "vitals/checks/exec.hpp"

namespace vitals::checks {

schema::check_type describe_exec() {
  using o = checks::exec_options;
  schema::type_builder<o> b{
      "exec", "Runs a program (no shell): exit 0 = pass, 1 = warn, else fail (Nagios)."};
  b.key("command", &o::command, "Program path, or a name looked up in PATH.", {.required = true});
  b.key("args", &o::args, "Arguments.");
  b.key("env", &o::env, "Environment variables added for the program.");
  b.key("working_dir", &o::working_dir, "Working directory (empty = vitalsd's).");
  b.key("secrets", &o::secrets, "Strings never to show (tokens passed in args or env).",
        {.secret = true});
  b.key("max_output", &o::max_output, "Bytes of output kept.", {.min = 1.0});
  return {.spec = b.build([](o opts) { return checks::exec(std::move(opts)); })};
}

}  // namespace vitals::checks
