#pragma once

#include <cstddef>
#include <string_view>

namespace vitals::cli {

/// `s.substr(pos, n)` that clamps instead of throwing: the probe is built without exceptions
/// and must not pull libstdc++ (and its unwinder) in for std::out_of_range.
[[nodiscard]] constexpr std::string_view sub(std::string_view s, std::size_t pos,
                                             std::size_t n = std::string_view::npos) noexcept {
  if (pos > s.size()) pos = s.size();
  const std::size_t left = s.size() - pos;
  return std::string_view{s.data() + pos, n < left ? n : left};
}

}  // namespace vitals::cli
