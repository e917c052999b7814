#pragma once
// The config layer's view of the schema floor (src/schema): the vocabulary the loader, the
// sections, the JSON Schema and the key reference speak, and the registry of check types built
// from the list of built-in types (src/checks/types.def).

#include "schema/schema.hpp"

namespace vitals::config::detail {

using schema::assign;
using schema::is_duration;
using schema::key_flags;
using schema::key_spec;
using schema::kind_of;
using schema::section_builder;
using schema::section_spec;
using schema::string_pairs;
using schema::to_value;
using schema::type_builder;
using schema::type_registry;
using schema::type_spec;
using schema::value;
using schema::value_kind;

/// Every built-in check type (built once from the list). Throws std::logic_error when a type's
/// key shadows a key every check has (a build mistake, caught at start-up and by the tests).
[[nodiscard]] const type_registry& types();

}  // namespace vitals::config::detail
