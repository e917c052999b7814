#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vitals::config::detail {

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions), case-insensitive.
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);

/// The closest candidate if it is close enough to be a typo of `word` ("intervall" → "interval").
[[nodiscard]] std::optional<std::string> suggest(std::string_view word,
                                                 const std::vector<std::string>& candidates);

}  // namespace vitals::config::detail
