// The push check and the board it reads, on a manual clock: what a missed, a failed and a
// late heartbeat look like, and how tokens are attached, shared and forgotten.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "vitals/checks/push.hpp"
#include "vitals/push.hpp"
#include "vitals/testing/manual_clock.hpp"

namespace {

using namespace std::chrono_literals;
using testing::HasSubstr;
using testing::Not;
using vitals::push_board;
using vitals::status;

constexpr const char* token = "backup-4f1c9a7e2b5d";

class push_check : public testing::Test {
 protected:
  std::shared_ptr<vitals::testing::manual_clock> clk =
      std::make_shared<vitals::testing::manual_clock>();
  std::shared_ptr<push_board> board = std::make_shared<push_board>(clk);

  [[nodiscard]] std::shared_ptr<vitals::check> make(std::chrono::milliseconds period = 1h) const {
    return vitals::checks::push({.token = token, .period = period, .board = board});
  }
  [[nodiscard]] static vitals::result run(vitals::check& c) {
    return c.run(vitals::context{"job", std::chrono::steady_clock::now() + 1s, nullptr});
  }
};

TEST_F(push_check, warns_for_one_period_before_the_first_push_then_fails) {
  const auto c = make(1h);
  auto r = run(*c);
  EXPECT_EQ(r.status, status::warn);
  EXPECT_THAT(r.output, HasSubstr("no push yet"));
  clk->advance(59min);
  EXPECT_EQ(run(*c).status, status::warn);
  clk->advance(2min);
  r = run(*c);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::timeout);
  EXPECT_THAT(r.output, HasSubstr("no push within 1h"));
}

TEST_F(push_check, reports_what_the_last_push_said_until_it_is_older_than_the_period) {
  const auto c = make(10min);
  clk->advance(3min);
  ASSERT_EQ(board->push(token, status::pass, "backup done, 3.2 GiB"),
            push_board::outcome::accepted);
  clk->advance(4min);
  auto r = run(*c);
  EXPECT_EQ(r.status, status::pass);
  ASSERT_TRUE(r.observed.has_value());
  EXPECT_DOUBLE_EQ(std::get<double>(r.observed->value), 240.0);
  EXPECT_THAT(r.details, testing::Contains(std::pair<std::string, std::string>{
                             "message", "backup done, 3.2 GiB"}));
  EXPECT_THAT(r.details, testing::Contains(std::pair<std::string, std::string>{"pushes", "1"}));

  ASSERT_EQ(board->push(token, status::fail, "disk full"), push_board::outcome::accepted);
  r = run(*c);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::assertion);
  EXPECT_THAT(r.output, HasSubstr("the job reported a failure"));
  EXPECT_THAT(r.output, HasSubstr("disk full"));

  ASSERT_EQ(board->push(token, status::warn, "slow"), push_board::outcome::accepted);
  EXPECT_EQ(run(*c).status, status::warn);

  clk->advance(10min + 1ms);
  r = run(*c);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::timeout);
  EXPECT_THAT(r.output, HasSubstr("last 10m ago"));
}

TEST_F(push_check, the_token_is_a_secret_of_the_check) {
  const auto c = make();
  const auto traits = c->traits();
  EXPECT_EQ(traits.type, "push");
  EXPECT_TRUE(traits.dependency);
  EXPECT_THAT(traits.secrets, testing::Contains(std::string{token}));
  // What the check writes never names the token (the engine also scrubs what a job echoes).
  for (const auto s : {status::pass, status::warn, status::fail}) {
    ASSERT_EQ(board->push(token, s, "m"), push_board::outcome::accepted);
    const auto r = run(*c);
    EXPECT_THAT(r.output, Not(HasSubstr(token)));
    for (const auto& [k, v] : r.details) EXPECT_THAT(v, Not(HasSubstr(token))) << k;
  }
}

TEST_F(push_check, refuses_malformed_tokens_and_periods) {
  EXPECT_THROW(static_cast<void>(vitals::checks::push({.token = "short", .period = 1h})),
               std::invalid_argument);
  EXPECT_THROW(static_cast<void>(vitals::checks::push(
                   {.token = "has space in it 0123456789", .period = 1h, .board = board})),
               std::invalid_argument);
  EXPECT_THROW(static_cast<void>(vitals::checks::push(
                   {.token = std::string(129, 'a'), .period = 1h, .board = board})),
               std::invalid_argument);
  EXPECT_THROW(static_cast<void>(vitals::checks::push({.token = token, .period = 0ms})),
               std::invalid_argument);
  EXPECT_NO_THROW(static_cast<void>(
      vitals::checks::push({.token = std::string(128, 'a'), .period = 1ms, .board = board})));
}

TEST_F(push_check, a_token_is_known_while_a_check_holds_it_and_shared_across_a_reload) {
  EXPECT_EQ(board->push(token, status::pass, ""), push_board::outcome::unknown_token);
  auto old_check = make();
  ASSERT_EQ(board->push(token, status::pass, "first"), push_board::outcome::accepted);
  // A reload builds the new check while the old one still exists: the last push carries over.
  auto new_check = make();
  old_check.reset();
  auto r = run(*new_check);
  EXPECT_EQ(r.status, status::pass);
  EXPECT_THAT(r.details,
              testing::Contains(std::pair<std::string, std::string>{"message", "first"}));
  new_check.reset();
  EXPECT_EQ(board->push(token, status::pass, ""), push_board::outcome::unknown_token);
  EXPECT_EQ(board->push("not a token", status::pass, ""), push_board::outcome::unknown_token);
}

TEST_F(push_check, tokens_of_removed_checks_are_forgotten_as_the_board_grows) {
  std::vector<std::shared_ptr<vitals::check>> kept;
  for (int i = 0; i < 200; ++i) {
    auto c = vitals::checks::push(
        {.token = "token-" + std::to_string(1000000000 + i), .period = 1h, .board = board});
    if (i % 2 == 0) kept.push_back(std::move(c));
  }
  for (int i = 0; i < 200; ++i) {
    const auto outcome = board->push("token-" + std::to_string(1000000000 + i), status::pass, "");
    EXPECT_EQ(outcome,
              i % 2 == 0 ? push_board::outcome::accepted : push_board::outcome::unknown_token)
        << i;
  }
}

TEST_F(push_check, messages_are_one_line_and_bounded) {
  const auto c = make();
  ASSERT_EQ(board->push(token, status::warn, "line one\nline two\r\t\x7f"),
            push_board::outcome::accepted);
  EXPECT_THAT(run(*c).output, HasSubstr("line one line two   "));
  // 199 ASCII bytes then a 2-byte character: cut before it, never inside it.
  const std::string long_msg = std::string(199, 'x') + "\xc3\xa9" + std::string(50, 'y');
  ASSERT_EQ(board->push(token, status::pass, long_msg), push_board::outcome::accepted);
  const auto last = board->attach(token)->last();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->message, std::string(199, 'x'));
  EXPECT_EQ(last->count, 2U);
}

}  // namespace
