#pragma once
// Private: every registered secret of an engine, matched in one pass (Aho-Corasick). Scrubbing
// a text costs O(its length + matches) however many checks registered secrets: with 10,000
// http checks each registering its URL, a per-secret search made every result O(checks), and
// the engine O(checks²) per interval. Built once, immutable after: safe to read from any thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vitals::detail {

/// The percent-encoded spelling of a secret as it appears in a URL ("p@ss" → "p%40ss").
[[nodiscard]] std::string percent_encode(std::string_view s);

class secret_set {
 public:
  secret_set() = default;
  /// Secrets shorter than 3 characters are ignored (they would mask ordinary text), as in
  /// `vitals::redactor`. Each secret is also matched percent-encoded.
  explicit secret_set(const std::vector<std::string>& secrets);

  /// `text` with every occurrence of a secret replaced by `***` (leftmost first, the longest
  /// secret starting there wins). Then the caller applies `scrub_patterns`.
  [[nodiscard]] std::string mask(std::string_view text) const;
  [[nodiscard]] bool empty() const noexcept { return nodes_.size() <= 1; }

 private:
  struct node {
    std::vector<std::pair<unsigned char, std::uint32_t>> next;  // sorted by byte
    std::uint32_t fail = 0;
    std::uint32_t dict = 0;    // nearest node on the fail chain that ends a secret (0: none)
    std::uint32_t length = 0;  // length of the longest secret ending here (0: none)
  };
  [[nodiscard]] std::uint32_t child(std::uint32_t n, unsigned char c) const noexcept;
  void insert(std::string_view s);

  std::vector<node> nodes_{node{}};
};

}  // namespace vitals::detail
