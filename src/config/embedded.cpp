#include <string_view>

#include "vitals/config.hpp"

namespace vitals::config {

std::string_view embedded_default() {
  // Host checks only: they need nothing but /proc and statvfs, so this works on a bare machine.
  // The event-loop check is the process's own pulse, the one thing fit for `live`.
  return R"(# vitalsd built-in configuration (used when no --config is given).
listen: 127.0.0.1:8081
service:
  id: vitalsd
  description: host health (built-in configuration)
checks:
  - name: event_loop
    type: event_loop
    probes: [live, ready, startup]
    interval: 5s
    timeout: 2s
  - name: disk
    type: disk
    path: /
    probes: [ready]
    interval: 30s
  - name: memory
    type: memory
    probes: [ready]
    interval: 10s
  - name: load
    type: load
    probes: [ready]
    critical: false
    interval: 15s
)";
}

}  // namespace vitals::config
