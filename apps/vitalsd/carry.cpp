#include "carry.hpp"

#include <atomic>
#include <mutex>
#include <utility>

namespace vitalsd {
namespace {

/// The carried result, handed out once (runs of one check never overlap, but may move threads).
class first_result {
 public:
  explicit first_result(vitals::result r) : result_(std::move(r)) {}
  std::optional<vitals::result> take() {
    std::lock_guard lock{mutex_};
    if (taken_) return std::nullopt;
    taken_ = true;
    return std::move(result_);
  }

 private:
  std::mutex mutex_;
  bool taken_ = false;
  vitals::result result_;
};

class carried_check final : public vitals::check {
 public:
  carried_check(std::shared_ptr<vitals::check> inner, vitals::result first)
      : inner_(std::move(inner)), first_(std::move(first)) {}
  vitals::result run(const vitals::context& ctx) override {
    if (auto r = first_.take()) return std::move(*r);
    return inner_->run(ctx);
  }
  [[nodiscard]] vitals::check_traits traits() const override { return inner_->traits(); }

 private:
  std::shared_ptr<vitals::check> inner_;
  first_result first_;
};

class carried_async_check final : public vitals::async_check {
 public:
  carried_async_check(std::shared_ptr<vitals::async_check> inner, vitals::result first)
      : inner_(std::move(inner)), first_(std::move(first)) {}
  void start(std::shared_ptr<const vitals::context> ctx, completion done) override {
    if (auto r = first_.take()) {
      done(std::move(*r));
      return;
    }
    inner_->start(std::move(ctx), std::move(done));
  }
  vitals::result run(const vitals::context& ctx) override {
    if (auto r = first_.take()) return std::move(*r);
    return inner_->run(ctx);
  }
  [[nodiscard]] vitals::check_traits traits() const override { return inner_->traits(); }

 private:
  std::shared_ptr<vitals::async_check> inner_;
  first_result first_;
};

}  // namespace

std::shared_ptr<vitals::check> carry_over(std::shared_ptr<vitals::check> inner,
                                          vitals::result first) {
  if (auto async = std::dynamic_pointer_cast<vitals::async_check>(inner)) {
    return std::make_shared<carried_async_check>(std::move(async), std::move(first));
  }
  return std::make_shared<carried_check>(std::move(inner), std::move(first));
}

}  // namespace vitalsd
