#pragma once
// Private: the request target as the handler reads it (path, query, percent-decoding). Not
// installed.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vitals::http::detail {

/// Targets longer than this are refused with 414 before any parsing.
inline constexpr std::size_t max_target = 2048;

/// What the probe endpoints read from the query (`?verbose`, `exclude=name`, repeatable).
struct query_options {
  bool verbose = false;
  std::vector<std::string> exclude{};
};

/// An origin-form target cut into its (still encoded) path and query; a fragment is dropped.
///
///     split_target("/readyz?verbose#x") == {"/readyz", "verbose"}
struct target_parts {
  std::string_view path;
  std::string_view query;
};
[[nodiscard]] inline target_parts split_target(std::string_view target) noexcept {
  target_parts t{target, {}};
  if (const std::size_t hash = t.path.find('#'); hash != std::string_view::npos) {
    t.path = t.path.substr(0, hash);
  }
  if (const std::size_t q = t.path.find('?'); q != std::string_view::npos) {
    t.query = t.path.substr(q + 1);
    t.path = t.path.substr(0, q);
  }
  return t;
}

/// Decodes %XX (and '+' as a space in queries, as browsers and Go's url.Query do). Returns the
/// input itself when there is nothing to decode, so the common target costs no allocation;
/// nullopt on a malformed escape.
[[nodiscard]] std::optional<std::string_view> decode_escapes(std::string_view in,
                                                             std::string& storage,
                                                             bool plus_is_space);
/// Inline: the common target has nothing to decode.
[[nodiscard]] inline std::optional<std::string_view> percent_decode(std::string_view in,
                                                                    std::string& storage,
                                                                    bool plus_is_space) {
  const bool needs = in.find('%') != std::string_view::npos ||
                     (plus_is_space && in.find('+') != std::string_view::npos);
  if (!needs) return in;
  return decode_escapes(in, storage, plus_is_space);
}

/// Unknown parameters are ignored; a malformed escape is nullopt (a 400).
[[nodiscard]] std::optional<query_options> parse_query(std::string_view query);

}  // namespace vitals::http::detail
