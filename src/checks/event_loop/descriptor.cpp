// The event_loop check type: its keys, locality (listed in src/checks/types.def).
#include "schema/check_type.hpp"
#include "vitals/checks/event_loop.hpp"

namespace vitals::checks {

schema::check_type describe_event_loop() {
  using o = checks::event_loop_options;
  schema::type_builder<o> b{
      "event_loop", "Scheduling lag of the daemon itself (a timed wakeup that fires late)."};
  b.key("warn_lag", &o::warn_lag, "Warn when the lag reaches this.");
  b.key("fail_lag", &o::fail_lag, "Fail when the lag reaches this (0 = only the deadline fails).");
  b.key("wakeup", &o::wakeup, "Length of the timed wakeup.");
  return {.spec = b.build([](o opts) { return checks::event_loop(std::move(opts)); }),
          .process_local = true};
}

}  // namespace vitals::checks
