#include "config/schema.hpp"

#include "config/sections.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace vitals::config::detail {

void type_registry::add(type_spec spec) {
  if (find(spec.section.name) != nullptr) {
    throw std::logic_error("check type registered twice: " + spec.section.name);
  }
  // A type key must not shadow the keys every check has (a build mistake, caught at start-up).
  for (const auto& k : spec.section.keys) {
    if (k.name == "name" || k.name == "type" || check_common_section().find(k.name) != nullptr) {
      throw std::logic_error("check type " + spec.section.name + " redefines the common key " +
                             k.name);
    }
  }
  const auto pos = std::lower_bound(
      types_.begin(), types_.end(), spec.section.name,
      [](const type_spec& t, const std::string& name) { return t.section.name < name; });
  types_.insert(pos, std::move(spec));
}

const type_spec* type_registry::find(std::string_view type) const noexcept {
  for (const auto& t : types_) {
    if (t.section.name == type) return &t;
  }
  return nullptr;
}

}  // namespace vitals::config::detail
