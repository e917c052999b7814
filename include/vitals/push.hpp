#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "vitals/clock.hpp"
#include "vitals/status.hpp"

namespace vitals {

/// The last heartbeat a job pushed for one token.
struct push_record {
  /// What the job reported: pass (the default), warn or fail.
  status reported = status::pass;
  /// Its message (at most push_board::max_message bytes, control characters as spaces).
  std::string message{};
  /// When it arrived (the board's clock).
  clock::steady_time at{};
  /// Pushes received for this token since it was first attached.
  std::uint64_t count = 0;
};

/// Heartbeats of push monitors: cron and batch jobs call `/api/v1/push/<token>` and the `push`
/// check of that token fails when none arrives within its period. The HTTP handler writes, the
/// checks read; thread-safe. A token is known while a check holding it exists, so a
/// configuration reload (old and new check side by side) keeps its last push.
///
///     auto board = vitals::push_board::global();
///     board->push("Zq4t...", vitals::status::pass, "backup done, 3.2 GiB");
class push_board {
 public:
  /// The longest message kept; longer ones are cut (at a UTF-8 character boundary).
  static constexpr std::size_t max_message = 200;

  /// One token's state, shared by the checks holding it.
  class slot {
   public:
    explicit slot(clock::steady_time attached) : attached_(attached) {}
    /// The last push, if any arrived since the token was first attached.
    [[nodiscard]] std::optional<push_record> last() const;
    /// When the token was first attached (the start of the first period).
    [[nodiscard]] clock::steady_time attached_at() const noexcept { return attached_; }

   private:
    friend class push_board;
    mutable std::mutex mu_;
    std::optional<push_record> last_;
    clock::steady_time attached_;
  };

  /// A board on `clk` (null = the real clocks).
  explicit push_board(std::shared_ptr<const clock> clk = nullptr);
  /// The board of the process: what the `push` check type and the handler use unless told
  /// otherwise.
  [[nodiscard]] static const std::shared_ptr<push_board>& global();

  /// The slot of `token`, made if no check holds the token yet. Throws std::invalid_argument
  /// unless the token is 16 to 128 characters of [A-Za-z0-9_-].
  [[nodiscard]] std::shared_ptr<slot> attach(const std::string& token);

  enum class outcome : std::uint8_t { accepted, unknown_token };
  /// Records a push (`reported`: pass, warn or fail) for a token a check holds.
  outcome push(std::string_view token, status reported, std::string_view message);

  [[nodiscard]] const clock& time() const noexcept { return *clock_; }

  /// True for a well-formed token (what attach() accepts).
  [[nodiscard]] static bool valid_token(std::string_view token) noexcept;

 private:
  std::shared_ptr<const clock> clock_;
  std::mutex mu_;
  std::unordered_map<std::string, std::weak_ptr<slot>> slots_;
  std::size_t swept_at_ = 16;
};

}  // namespace vitals
