#include "vitals/snapshot.hpp"

#include <algorithm>

namespace vitals {

status snapshot::probe_status(probe p) const noexcept { return probe_status(p, {}); }

status snapshot::probe_status(probe p,
                              const std::vector<std::string_view>& excluded) const noexcept {
  if (p == probe::ready && shutting_down) return status::fail;
  if (p == probe::startup && startup_latched) return status::pass;
  status s = status::pass;
  for (const auto& c : checks) {
    if (!c.options.probes.contains(p)) continue;
    if (std::find(excluded.begin(), excluded.end(), std::string_view{c.name}) != excluded.end())
      continue;
    const status r = c.reported.status;
    if (c.options.critical) {
      s = worst(s, r);
    } else if (r != status::pass) {
      s = worst(s, status::warn);
    }
  }
  return s;
}

const check_state* snapshot::find(std::string_view name) const noexcept {
  for (const auto& c : checks)
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace vitals
