#include "schema/schema.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace vitals::schema {

void type_registry::add(type_spec spec) {
  if (find(spec.section.name) != nullptr) {
    throw std::logic_error("check type registered twice: " + spec.section.name);
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

}  // namespace vitals::schema
