// The memory check type: its keys, locality (listed in src/checks/types.def).
#include "schema/check_type.hpp"
#include "vitals/checks/memory.hpp"

namespace vitals::checks {

schema::check_type describe_memory() {
  using o = checks::memory_options;
  schema::type_builder<o> b{"memory",
                            "Resident memory of a process and available memory of the host."};
  b.key("warn_rss_bytes", &o::warn_rss_bytes, "Warn when the process RSS exceeds this (0 = off).",
        {.min = 0.0});
  b.key("fail_rss_bytes", &o::fail_rss_bytes, "Fail when the process RSS exceeds this (0 = off).",
        {.min = 0.0});
  b.key("warn_available_percent", &o::warn_available_percent,
        "Warn when the host's available memory falls below this percentage.",
        {.min = 0.0, .max = 100.0});
  b.key("fail_available_percent", &o::fail_available_percent,
        "Fail when the host's available memory falls below this percentage.",
        {.min = 0.0, .max = 100.0});
  b.key("min_available_bytes", &o::min_available_bytes,
        "Fail when fewer bytes are available on the host (0 = off).", {.min = 0.0});
  b.key("pid", &o::pid, "Process to watch (0 = vitalsd itself).", {.min = 0.0});
  return {.spec = b.build([](o opts) { return checks::memory(std::move(opts)); }),
          .process_local = true};
}

}  // namespace vitals::checks
