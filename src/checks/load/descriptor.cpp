// The load check type: its keys, locality (listed in src/checks/types.def).
#include "schema/check_type.hpp"
#include "vitals/checks/load.hpp"

namespace vitals::checks {

schema::check_type describe_load() {
  using o = checks::load_options;
  schema::type_builder<o> b{"load", "System load average per usable CPU (/proc/loadavg)."};
  b.choice("window", &o::window,
           {{"1m", checks::load_window::one_minute},
            {"5m", checks::load_window::five_minutes},
            {"15m", checks::load_window::fifteen_minutes}},
           "Which load average to judge.");
  b.key("warn_per_core", &o::warn_per_core, "Warn when load / cores exceeds this (0 = off).",
        {.min = 0.0});
  b.key("fail_per_core", &o::fail_per_core, "Fail when load / cores exceeds this (0 = off).",
        {.min = 0.0});
  b.key("cores", &o::cores, "CPUs to divide by (0 = those this process may run on).",
        {.min = 0.0, .max = 65536.0});
  return {.spec = b.build([](o opts) { return checks::load(std::move(opts)); }),
          .process_local = true};
}

}  // namespace vitals::checks
