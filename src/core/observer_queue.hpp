#pragma once
// Private: the bounded queue and delivery thread of one observer.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "vitals/observer.hpp"

namespace vitals::detail {

struct observed_item {
  enum class type : std::uint8_t { result, transition, probe };
  type what = type::result;
  std::shared_ptr<const check_state> state{};
  probe which = probe::ready;
  status from = status::unknown;
  status to = status::unknown;
};

class observer_queue {
 public:
  observer_queue(std::shared_ptr<observer> target, std::size_t capacity);
  ~observer_queue();
  observer_queue(const observer_queue&) = delete;
  observer_queue& operator=(const observer_queue&) = delete;

  /// Never blocks: a full queue drops the item and counts it.
  void push(observed_item item);
  /// Delivers what is queued (waiting at most `grace`), then stops; an observer stuck in a call
  /// is left behind (its thread co-owns everything it touches).
  void stop(std::chrono::milliseconds grace);
  [[nodiscard]] std::uint64_t drops() const noexcept {
    return shared_->drops.load(std::memory_order_relaxed);
  }

 private:
  struct shared_state {
    std::shared_ptr<observer> target;
    std::size_t capacity;
    std::mutex mu;
    std::condition_variable cv;
    std::condition_variable drained;
    std::deque<observed_item> items;
    bool stopping = false;
    bool exited = false;
    std::atomic<std::uint64_t> drops{0};
  };
  static void run(const std::shared_ptr<shared_state>& s);

  std::shared_ptr<shared_state> shared_;
  std::thread thread_;
};

}  // namespace vitals::detail
