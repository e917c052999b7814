#pragma once

#include <chrono>
#include <string_view>

namespace vitals::cli {

/// Parses a human duration: "2s", "500ms", "1.5s", "1m", "2h", "250us"; a bare number means
/// seconds ("3" == 3s). Combined forms are accepted ("1m30s"). Returns false on malformed,
/// negative or overflowing input. No allocation: shared by the tiny probe binary.
///
///     std::chrono::milliseconds d;
///     vitals::cli::parse_duration("1.5s", d);  // d == 1500ms
[[nodiscard]] bool parse_duration(std::string_view text, std::chrono::milliseconds& out) noexcept;

}  // namespace vitals::cli
