#include "carry.hpp"

#include <map>
#include <string_view>

namespace vitalsd {

std::vector<std::shared_ptr<const vitals::check_state>> carried_states(
    const vitals::config::daemon_config& running, const vitals::config::daemon_config& next,
    const vitals::snapshot& current) {
  std::map<std::string_view, const vitals::config::check_config*> before;
  for (const auto& c : running.checks) before.emplace(c.name, &c);
  std::vector<std::shared_ptr<const vitals::check_state>> out;
  for (const auto& c : next.checks) {
    const auto it = before.find(c.name);
    if (it == before.end() || !it->second->same_check(c)) continue;
    const auto i = current.checks.index_of(c.name);
    if (i == current.checks.size()) continue;
    auto state = current.checks.shared(i);
    if (state->reported.status != vitals::status::unknown) out.push_back(std::move(state));
  }
  return out;
}

}  // namespace vitalsd
