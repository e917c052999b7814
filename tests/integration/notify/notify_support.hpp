#pragma once
// Shared by the notifier integration tests: transitions fed to a dispatcher by hand, the
// dispatcher options every test starts from, and a thread-safe capture of its log.

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/notify.hpp"

namespace vitals::notify::test {

using namespace std::chrono_literals;

inline vitals::check_state state(std::string name, vitals::result r) {
  vitals::check_state s;
  s.name = std::move(name);
  s.reported = std::move(r);
  return s;
}

/// The check `name` goes pass → fail (connection refused), or fail → pass.
inline void fail(dispatcher& d, const std::string& name) {
  d.on_transition(state(name, vitals::fail("connection refused", vitals::failure_kind::refused)),
                  status::pass, status::fail);
}
inline void recover(dispatcher& d, const std::string& name) {
  d.on_transition(state(name, vitals::pass()), status::fail, status::pass);
}

/// Service billing 1.2.3, a link, no ticker thread.
inline dispatcher_options base(std::vector<notifier_spec> specs) {
  return {.notifiers = std::move(specs),
          .info = {.service_id = "billing", .version = "1.2.3"},
          .link = "http://billing:8081/health",
          .tick = 0ms};
}

/// What the dispatcher logs (delivery failures, already redacted).
///
///     log_capture logs;
///     auto o = base({...});
///     o.log = logs.sink();
struct log_capture {
  std::mutex mu;
  std::vector<std::string> lines;
  std::function<void(std::string_view, std::string_view)> sink() {
    return [this](std::string_view, std::string_view what) {
      std::lock_guard lk(mu);
      lines.emplace_back(what);
    };
  }
  std::vector<std::string> get() {
    std::lock_guard lk(mu);
    return lines;
  }
};

}  // namespace vitals::notify::test
