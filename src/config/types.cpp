#include "config/types.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "checks/types.hpp"
#include "config/sections.hpp"

namespace vitals::config::detail {

namespace {

// A type key must not shadow the keys every check has.
void refuse_common_keys(const section_spec& type) {
  for (const auto& k : type.keys) {
    if (k.name == "name" || k.name == "type" || check_common_section().find(k.name) != nullptr) {
      throw std::logic_error("check type " + type.name + " redefines the common key " + k.name);
    }
  }
}

// The descriptor's locality is what `live` relies on: a check that disagrees is a build mistake
// (the registry refuses dependencies in `live` by check_traits::dependency).
type_spec checked(const schema::check_type& t) {
  type_spec spec = t.spec;
  spec.make_check = [make = t.spec.make_check, local = t.process_local,
                     name = t.name()](void* options) {
    auto c = make(options);
    if (c && c->traits().dependency == local) {
      throw std::logic_error("check type " + name + ": descriptor and check disagree on " +
                             "whether it is process-local");
    }
    return c;
  };
  return spec;
}

}  // namespace

const type_registry& types() {
  static const type_registry registry = [] {
    type_registry out;
    for (const auto& t : checks::builtin_types()) {
      refuse_common_keys(t.spec.section);
      out.add(checked(t));
    }
    return out;
  }();
  return registry;
}

}  // namespace vitals::config::detail
