#pragma once
// Private: the bounded pool that runs blocking checks.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace vitals::detail {

/// Grows lazily up to `max_threads` workers; never shrinks before shutdown. A worker stuck in a
/// check that never returns is detached at shutdown: workers only touch state they co-own
/// (shared_ptr), so an abandoned worker that wakes up later finds valid memory.
class thread_pool {
 public:
  explicit thread_pool(std::size_t max_threads);
  ~thread_pool();
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  /// Queues a task; false once shut down (the task is dropped).
  bool submit(std::function<void()> task);
  /// Drops queued tasks, lets idle workers exit and joins them (waiting at most `grace` for
  /// them to notice), and detaches workers still busy in a task.
  void shutdown(std::chrono::milliseconds grace);
  [[nodiscard]] std::size_t threads() const;
  [[nodiscard]] std::size_t max_threads() const noexcept { return max_; }

 private:
  struct shared_state {
    std::mutex mu;
    std::condition_variable work_cv;
    std::condition_variable idle_cv;
    std::deque<std::function<void()>> queue;
    std::size_t idle = 0;
    bool stopping = false;
  };
  struct worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> exited;
  };
  static void work(const std::shared_ptr<shared_state>& s,
                   const std::shared_ptr<std::atomic<bool>>& exited);

  std::shared_ptr<shared_state> s_;
  std::vector<worker> workers_{};  // guarded by s_->mu
  std::size_t max_;
};

}  // namespace vitals::detail
