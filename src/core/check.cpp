#include "vitals/check.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace vitals {
namespace {

class function_check final : public check {
 public:
  function_check(std::function<result(const context&)> fn, check_traits traits)
      : fn_(std::move(fn)), traits_(std::move(traits)) {}
  result run(const context& ctx) override { return fn_(ctx); }
  [[nodiscard]] check_traits traits() const override { return traits_; }

 private:
  std::function<result(const context&)> fn_;
  check_traits traits_;
};

}  // namespace

result async_check::run(const context& ctx) {
  // Shared with the completion, which may outlive this call if the check answers late.
  struct waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<result> value;
  };
  auto w = std::make_shared<waiter>();
  start(std::make_shared<const context>(ctx), [w](result r) {
    std::lock_guard lk(w->mu);
    if (!w->value) w->value = std::move(r);
    w->cv.notify_all();
  });
  std::unique_lock lk(w->mu);
  // The context offers no wake-up on cancellation, so look at it periodically.
  while (!w->value) {
    if (ctx.cancelled()) return fail("cancelled before completion", failure_kind::timeout);
    w->cv.wait_for(lk, std::chrono::milliseconds{5});
  }
  return std::move(*w->value);
}

std::shared_ptr<check> make_check(std::function<result(const context&)> fn, check_traits traits) {
  if (!fn) throw std::invalid_argument("vitals::make_check: empty function");
  return std::make_shared<function_check>(std::move(fn), std::move(traits));
}

}  // namespace vitals
