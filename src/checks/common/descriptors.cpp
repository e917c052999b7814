#include "vitals/checks/descriptors.hpp"

namespace vitals::checks {

std::size_t descriptors_of(const vitals::check& c) noexcept {
  // By name across shared objects too (lazy check modules keep their type info local).
  if (const auto* u = dynamic_cast<const descriptor_user*>(&c)) return u->descriptors();
  return 1;
}

}  // namespace vitals::checks
