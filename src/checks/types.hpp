#pragma once
// The list of built-in check types (src/checks/types.def), as descriptors. Everything that
// needs to know the types iterates this: the config loader and its JSON Schema and key reference,
// the CLI's URL dispatch and help, the docs index test. Private to the tree (descriptors speak
// the schema vocabulary, which is not a public header).

#include <string>
#include <string_view>
#include <vector>

#include "schema/check_type.hpp"

namespace vitals::checks {

/// Every built-in type, in the order of types.def (built once, on first call). Throws
/// std::logic_error if a descriptor's name is not its line's (a build mistake).
[[nodiscard]] const std::vector<schema::check_type>& builtin_types();

/// The type whose `schemes` contain `scheme` (lower case: "postgres", "https"), or nullptr.
[[nodiscard]] const schema::check_type* type_for_scheme(std::string_view scheme);

/// Every scheme of every type, in list order, each followed by "://" and joined by `separator`
/// (for help texts and error messages): "postgres://, postgresql://, ...".
[[nodiscard]] std::string all_schemes(std::string_view separator);

}  // namespace vitals::checks
