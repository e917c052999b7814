#pragma once
// Helpers shared by the engine tests: bounded waits on published snapshots (no sleeps), a gate
// that holds a check until the test releases it, an event recorder and a thread counter.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "vitals/service.hpp"

namespace vitals::test {

using namespace std::chrono_literals;

/// Waits (bounded, real time) until `pred(snapshot)` holds, waking on each publication.
template <class Pred>
bool wait_until(const service& svc, Pred pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto snap = svc.current();
    if (pred(*snap)) return true;
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    (void)svc.wait_for_update(snap->generation, left);
  }
}

/// Waits until check `name` has finished `n` runs and nothing is in flight.
inline bool wait_runs(const service& svc, const std::string& name, std::uint64_t n) {
  return wait_until(svc, [&](const snapshot& s) {
    const auto* c = s.find(name);
    return c != nullptr && c->runs >= n && !c->in_flight;
  });
}

/// Holds checks until opened. Counts how many runs entered it.
class gate {
 public:
  void enter_and_wait() {
    std::unique_lock lk(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lk, [&] { return open_; });
  }
  void open() {
    std::lock_guard lk(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool wait_entered(int n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return entered_ >= n; });
  }
  int entered() {
    std::lock_guard lk(mu_);
    return entered_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool open_ = false;
};

/// Collects events (thread-safe).
class recorder {
 public:
  std::function<void(const event&)> sink() {
    return [this](const event& e) {
      std::lock_guard lk(mu_);
      events_.push_back(e);
      cv_.notify_all();
    };
  }
  /// Events are delivered just after the snapshot that they describe is published: wait for
  /// them (bounded) rather than racing the delivering thread.
  bool wait_count(event::type t, const std::string& check, std::size_t n,
                  std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return count_locked(t, check) >= n; });
  }
  std::vector<event> events() {
    std::lock_guard lk(mu_);
    return events_;
  }
  std::size_t count(event::type t, const std::string& check = {}) {
    std::lock_guard lk(mu_);
    return count_locked(t, check);
  }

 private:
  std::size_t count_locked(event::type t, const std::string& check) const {
    std::size_t n = 0;
    for (const auto& e : events_)
      if (e.what == t && (check.empty() || e.check == check)) ++n;
    return n;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<event> events_;
};

/// Threads of this process, as listed in /proc/self/task.
inline std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

}  // namespace vitals::test
