#pragma once
// A channel for tests: records messages, fails on demand, can block until released.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

#include "vitals/notify.hpp"

namespace vitals::notify::testing {

class fake_channel final : public notifier {
 public:
  delivery send(const message& m, steady_time) override {
    std::unique_lock lk(mu_);
    ++attempts_;
    cv_.notify_all();
    cv_.wait(lk, [&] { return !blocked_; });
    if (!outcomes_.empty()) {
      auto d = outcomes_.front();
      outcomes_.pop_front();
      if (!d.ok) return d;
    }
    sent_.push_back(m);
    cv_.notify_all();
    return {};
  }
  std::vector<std::string> secrets() const override { return {"s3cr3t-url"}; }

  void fail_next(delivery d) {
    std::lock_guard lk(mu_);
    outcomes_.push_back(std::move(d));
  }
  void block() {
    std::lock_guard lk(mu_);
    blocked_ = true;
  }
  void release() {
    std::lock_guard lk(mu_);
    blocked_ = false;
    cv_.notify_all();
  }
  /// Waits (bounded) until `n` messages were delivered.
  bool wait_sent(std::size_t n) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, std::chrono::seconds{10}, [&] { return sent_.size() >= n; });
  }
  bool wait_attempts(int n) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, std::chrono::seconds{10}, [&] { return attempts_ >= n; });
  }
  std::vector<message> sent() const {
    std::lock_guard lk(mu_);
    return sent_;
  }
  int attempts() const {
    std::lock_guard lk(mu_);
    return attempts_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<message> sent_{};
  std::deque<delivery> outcomes_{};
  bool blocked_ = false;
  int attempts_ = 0;
};

}  // namespace vitals::notify::testing
