#include "secret_set.hpp"

#include <algorithm>
#include <deque>

namespace vitals::detail {
namespace {

constexpr std::string_view mask_text = "***";
constexpr std::size_t min_secret = 3;

}  // namespace

std::uint32_t secret_set::child(std::uint32_t n, unsigned char c) const noexcept {
  const auto& next = nodes_[n].next;
  const auto it = std::lower_bound(next.begin(), next.end(), c,
                                   [](const auto& e, unsigned char b) { return e.first < b; });
  return it != next.end() && it->first == c ? it->second : 0;
}

void secret_set::insert(std::string_view s) {
  std::uint32_t n = 0;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    std::uint32_t to = child(n, c);
    if (to == 0) {
      to = static_cast<std::uint32_t>(nodes_.size());
      nodes_.emplace_back();
      auto& next = nodes_[n].next;
      next.insert(std::lower_bound(next.begin(), next.end(), c,
                                   [](const auto& e, unsigned char b) { return e.first < b; }),
                  {c, to});
    }
    n = to;
  }
  nodes_[n].length =
      std::max<std::uint32_t>(nodes_[n].length, static_cast<std::uint32_t>(s.size()));
}

secret_set::secret_set(const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.size() < min_secret) continue;
    insert(s);
    const std::string encoded = percent_encode(s);
    if (encoded != s) insert(encoded);
  }
  // Failure and dictionary links, breadth first.
  std::deque<std::uint32_t> queue;
  for (const auto& [c, to] : nodes_[0].next) queue.push_back(to);
  while (!queue.empty()) {
    const std::uint32_t n = queue.front();
    queue.pop_front();
    for (const auto& [c, to] : nodes_[n].next) {
      std::uint32_t f = nodes_[n].fail;
      while (f != 0 && child(f, c) == 0) f = nodes_[f].fail;
      const std::uint32_t target = child(f, c);
      nodes_[to].fail = target != to ? target : 0;
      const std::uint32_t fl = nodes_[to].fail;
      nodes_[to].dict = nodes_[fl].length > 0 ? fl : nodes_[fl].dict;
      queue.push_back(to);
    }
  }
}

std::string secret_set::mask(std::string_view text) const {
  if (empty() || text.size() < min_secret) return std::string{text};
  // For each start position, the longest secret starting there.
  std::vector<std::pair<std::size_t, std::size_t>> found;  // (start, length)
  std::uint32_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    while (n != 0 && child(n, c) == 0) n = nodes_[n].fail;
    n = child(n, c);
    for (std::uint32_t m = nodes_[n].length > 0 ? n : nodes_[n].dict; m != 0; m = nodes_[m].dict) {
      const std::size_t len = nodes_[m].length;
      found.emplace_back(i + 1 - len, len);
    }
  }
  if (found.empty()) return std::string{text};
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second > b.second;
  });
  std::string out;
  out.reserve(text.size());
  std::size_t cursor = 0;
  for (const auto& [start, len] : found) {
    if (start < cursor) continue;  // inside a secret already masked
    out.append(text.substr(cursor, start - cursor)).append(mask_text);
    cursor = start + len;
  }
  out.append(text.substr(cursor));
  return out;
}

}  // namespace vitals::detail
