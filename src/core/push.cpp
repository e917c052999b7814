#include "vitals/push.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace vitals {
namespace {

bool token_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// At most push_board::max_message bytes, cut at a UTF-8 character boundary; control characters
// (a job's stray newline) as spaces, so a message is one line wherever it is shown.
std::string one_line(std::string_view in) {
  std::size_t n = in.size();
  if (n > push_board::max_message) {
    n = push_board::max_message;
    while (n > 0 && (static_cast<unsigned char>(in[n]) & 0xC0U) == 0x80U) --n;
  }
  std::string out{in.substr(0, n)};
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20U || u == 0x7FU) c = ' ';
  }
  return out;
}

}  // namespace

std::optional<push_record> push_board::slot::last() const {
  std::lock_guard lock{mu_};
  return last_;
}

push_board::push_board(std::shared_ptr<const clock> clk)
    : clock_(clk ? std::move(clk) : real_clock()) {}

const std::shared_ptr<push_board>& push_board::global() {
  static const std::shared_ptr<push_board> board = std::make_shared<push_board>();
  return board;
}

bool push_board::valid_token(std::string_view token) noexcept {
  if (token.size() < 16 || token.size() > 128) return false;
  for (const char c : token) {
    if (!token_char(c)) return false;
  }
  return true;
}

std::shared_ptr<push_board::slot> push_board::attach(const std::string& token) {
  if (!valid_token(token)) {
    throw std::invalid_argument(
        "push: the token must be 16 to 128 characters of A-Z, a-z, 0-9, '_' and '-'");
  }
  std::lock_guard lock{mu_};
  // Tokens of checks gone since are dropped here, not on the push path, each time the map has
  // doubled since the last sweep (a load of N push checks costs O(N), not O(N^2)).
  if (slots_.size() >= swept_at_) {
    std::erase_if(slots_, [](const auto& kv) { return kv.second.expired(); });
    swept_at_ = std::max<std::size_t>(16, 2 * slots_.size());
  }
  std::weak_ptr<slot>& entry = slots_[token];
  if (auto held = entry.lock()) return held;
  auto made = std::make_shared<slot>(clock_->now());
  entry = made;
  return made;
}

push_board::outcome push_board::push(std::string_view token, status reported,
                                     std::string_view message) {
  if (!valid_token(token)) return outcome::unknown_token;
  std::shared_ptr<slot> s;
  {
    std::lock_guard lock{mu_};
    const auto it = slots_.find(std::string{token});
    if (it == slots_.end()) return outcome::unknown_token;
    s = it->second.lock();
  }
  if (!s) return outcome::unknown_token;
  const clock::steady_time now = clock_->now();
  std::string text = one_line(message);
  std::lock_guard lock{s->mu_};
  const std::uint64_t count = s->last_ ? s->last_->count + 1 : 1;
  s->last_ =
      push_record{.reported = reported, .message = std::move(text), .at = now, .count = count};
  return outcome::accepted;
}

}  // namespace vitals
