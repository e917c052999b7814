#include "types.hpp"

#include <stdexcept>
#include <string>

namespace vitals::checks {

// One declaration per line of types.def: the descriptor in the type's own folder.
#define VITALS_CHECK_TYPE(type, loading) schema::check_type describe_##type();
#include "types.def"
#undef VITALS_CHECK_TYPE

namespace {

struct list_entry {
  const char* name;
  schema::check_type (*describe)();
  schema::loading loading;
};

std::vector<schema::check_type> build() {
  static constexpr list_entry list[] = {
#define VITALS_CHECK_TYPE(type, how) {#type, &describe_##type, schema::loading::how},
#include "types.def"
#undef VITALS_CHECK_TYPE
  };
  std::vector<schema::check_type> out;
  out.reserve(std::size(list));
  for (const auto& entry : list) {
    auto d = entry.describe();
    if (d.name() != entry.name) {
      throw std::logic_error(std::string{"check type "} + entry.name + ": its descriptor says " +
                             d.name());
    }
    if (d.schemes.empty() != !d.from_url) {
      throw std::logic_error(std::string{"check type "} + entry.name +
                             ": URL schemes and from_url go together");
    }
    d.loading = entry.loading;
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace

const std::vector<schema::check_type>& builtin_types() {
  static const std::vector<schema::check_type> types = build();
  return types;
}

const schema::check_type* type_for_scheme(std::string_view scheme) {
  for (const auto& t : builtin_types()) {
    for (const auto& s : t.schemes) {
      if (s == scheme) return &t;
    }
  }
  return nullptr;
}

std::string all_schemes(std::string_view separator) {
  std::string out;
  for (const auto& t : builtin_types()) {
    for (const auto& s : t.schemes) {
      if (!out.empty()) out += separator;
      out += s + "://";
    }
  }
  return out;
}

}  // namespace vitals::checks
