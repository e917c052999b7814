#include "thread_pool.hpp"

#include <system_error>

namespace vitals::detail {

thread_pool::thread_pool(std::size_t max_threads)
    : s_(std::make_shared<shared_state>()), max_(max_threads == 0 ? 1 : max_threads) {}

thread_pool::~thread_pool() {
  // Never join here: the last owner of the engine may be one of our own workers.
  std::vector<worker> left;
  {
    std::lock_guard lk(s_->mu);
    s_->stopping = true;
    left = std::move(workers_);
  }
  s_->work_cv.notify_all();
  for (auto& w : left)
    if (w.thread.joinable()) w.thread.detach();
}

void thread_pool::work(const std::shared_ptr<shared_state>& s,
                       const std::shared_ptr<std::atomic<bool>>& exited) {
  std::unique_lock lk(s->mu);
  for (;;) {
    ++s->idle;
    s->work_cv.wait(lk, [&] { return s->stopping || !s->queue.empty(); });
    --s->idle;
    if (s->stopping) break;
    auto task = std::move(s->queue.front());
    s->queue.pop_front();
    lk.unlock();
    task();
    task = nullptr;  // release what the task captured before taking the lock again
    lk.lock();
  }
  exited->store(true, std::memory_order_release);
  s->idle_cv.notify_all();
}

bool thread_pool::submit(std::function<void()> task) {
  std::lock_guard lk(s_->mu);
  if (s_->stopping) return false;
  s_->queue.push_back(std::move(task));
  // Count queued work against idle workers, not a single "someone is idle" flag: a notified
  // worker stays counted idle until it wakes up.
  if (s_->queue.size() > s_->idle && workers_.size() < max_) {
    auto exited = std::make_shared<std::atomic<bool>>(false);
    try {
      // The worker gets its own copies of the shared pointers, which keep the state alive
      // even if it outlives this pool.
      workers_.push_back(worker{std::thread([s = s_, exited] { work(s, exited); }), exited});
    } catch (const std::system_error&) {
      // Out of threads: the task waits for an existing worker; its deadline still applies.
    }
  }
  s_->work_cv.notify_one();
  return true;
}

void thread_pool::shutdown(std::chrono::milliseconds grace) {
  std::deque<std::function<void()>> dropped;
  std::vector<worker> ws;
  {
    std::unique_lock lk(s_->mu);
    s_->stopping = true;
    dropped.swap(s_->queue);
    s_->work_cv.notify_all();
    s_->idle_cv.wait_for(lk, grace, [&] { return s_->idle == 0; });
    ws = std::move(workers_);
  }
  dropped.clear();
  for (auto& w : ws) {
    if (!w.thread.joinable()) continue;
    if (w.exited->load(std::memory_order_acquire)) {
      w.thread.join();
    } else {
      w.thread.detach();
    }
  }
}

std::size_t thread_pool::threads() const {
  std::lock_guard lk(s_->mu);
  return workers_.size();
}

}  // namespace vitals::detail
