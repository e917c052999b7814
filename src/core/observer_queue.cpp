#include "observer_queue.hpp"

#include <utility>

namespace vitals::detail {

observer_queue::observer_queue(std::shared_ptr<observer> target, std::size_t capacity)
    : shared_(std::make_shared<shared_state>()) {
  shared_->target = std::move(target);
  shared_->capacity = capacity == 0 ? 1 : capacity;
  thread_ = std::thread([s = shared_] { run(s); });
}

observer_queue::~observer_queue() { stop(std::chrono::milliseconds{1000}); }

void observer_queue::push(observed_item item) {
  {
    std::lock_guard lk(shared_->mu);
    if (shared_->stopping) return;
    if (shared_->items.size() >= shared_->capacity) {
      shared_->drops.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    shared_->items.push_back(std::move(item));
  }
  shared_->cv.notify_one();
}

void observer_queue::stop(std::chrono::milliseconds grace) {
  if (!thread_.joinable()) return;
  bool exited = false;
  {
    std::unique_lock lk(shared_->mu);
    shared_->stopping = true;
    shared_->cv.notify_one();
    exited = shared_->drained.wait_for(lk, grace, [&] { return shared_->exited; });
  }
  if (exited) {
    thread_.join();
  } else {
    thread_.detach();
  }
}

void observer_queue::run(const std::shared_ptr<shared_state>& s) {
  std::unique_lock lk(s->mu);
  for (;;) {
    s->cv.wait(lk, [&] { return !s->items.empty() || s->stopping; });
    if (s->items.empty()) break;  // stopping, and everything was delivered
    observed_item item = std::move(s->items.front());
    s->items.pop_front();
    lk.unlock();
    try {
      switch (item.what) {
        case observed_item::type::result:
          s->target->on_result(*item.state);
          break;
        case observed_item::type::transition:
          s->target->on_transition(*item.state, item.from, item.to);
          break;
        case observed_item::type::probe:
          s->target->on_probe(item.which, item.from, item.to);
          break;
      }
    } catch (...) {
      // An observer must not take the engine down.
    }
    lk.lock();
  }
  s->exited = true;
  s->drained.notify_all();
}

}  // namespace vitals::detail
