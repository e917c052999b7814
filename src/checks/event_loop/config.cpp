// YAML keys of the event_loop check (compiled into vitals::config, registered by the generated
// list). In vitalsd there is no application loop to post to: the check measures how late a timed
// wakeup of its own fires (CPU starvation, throttling, stop-the-world pauses).
#include "config/schema.hpp"
#include "vitals/checks/event_loop.hpp"

namespace vitals::config::detail {

void register_event_loop(type_registry& types) {
  using o = checks::event_loop_options;
  type_builder<o> b{"event_loop",
                    "Scheduling lag of the daemon itself (a timed wakeup that fires late)."};
  b.key("warn_lag", &o::warn_lag, "Warn when the lag reaches this.");
  b.key("fail_lag", &o::fail_lag, "Fail when the lag reaches this (0 = only the deadline fails).");
  b.key("wakeup", &o::wakeup, "Length of the timed wakeup.");
  types.add(b.build([](o opts) { return checks::event_loop(std::move(opts)); }));
}

}  // namespace vitals::config::detail
