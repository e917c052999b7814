#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/result.hpp"

namespace vitals {

/// What a running check may ask of the engine. The runner enforces the deadline whatever the
/// check does; a well-behaved check also stops early when `cancelled()` turns true.
class context {
 public:
  using steady_time = std::chrono::steady_clock::time_point;

  context(std::string name, steady_time deadline, std::shared_ptr<std::atomic<bool>> cancelled)
      : name_(std::move(name)), deadline_(deadline), cancelled_(std::move(cancelled)) {}

  /// The name the check was registered under.
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  /// Absolute deadline (steady clock of the engine's clock source).
  [[nodiscard]] steady_time deadline() const noexcept { return deadline_; }
  /// True once the runner has given up on this run (deadline passed or engine stopping).
  [[nodiscard]] bool cancelled() const noexcept {
    return cancelled_ && cancelled_->load(std::memory_order_acquire);
  }

 private:
  std::string name_{};
  steady_time deadline_;
  std::shared_ptr<std::atomic<bool>> cancelled_{};
};

/// Static facts about a check, used for validation, rendering and redaction.
struct check_traits {
  /// Check type, e.g. "postgres", "http", "custom". Shown in details and logs.
  std::string type = "custom";
  /// IETF `componentType` (e.g. "datastore", "system", "component").
  std::string component_type = "component";
  /// IETF measurement name used in `component:measurement` keys (e.g. "connections").
  std::string measurement{};
  /// True for checks of something outside the process (database, cache, network). Such a
  /// check is refused in the `live` probe unless `check_options::allow_in_live` is set.
  bool dependency = false;
  /// Strings that must never appear in any output (passwords, tokens, full connection
  /// strings). The engine scrubs them from every result before anything sees it.
  std::vector<std::string> secrets{};
};

/// A blocking check, run on the engine's bounded pool. Implementations may block; the runner
/// enforces the timeout and discards late completions.
///
///     struct queue_check final : vitals::check {
///       vitals::result run(const vitals::context&) override { return vitals::pass(); }
///     };
class check {
 public:
  virtual ~check() = default;
  /// One run. Exceptions are caught by the runner and become `fail/internal`.
  virtual result run(const context& ctx) = 0;
  /// Type, component type, dependency flag and secrets. Called once at registration.
  [[nodiscard]] virtual check_traits traits() const { return {}; }
};

/// A non-blocking check (e.g. Asio-based network checks): `start` begins the work and returns
/// at once; `done` is called exactly once, from any thread. The runner still enforces the
/// deadline: after it, `done` is accepted and ignored.
class async_check : public check {
 public:
  using completion = std::function<void(result)>;
  virtual void start(std::shared_ptr<const context> ctx, completion done) = 0;
  /// Runs `start` and waits; used only where no async execution is available.
  result run(const context& ctx) override;
};

/// A check built from a callable: `vitals::make_check([](const vitals::context&) { ... })`.
[[nodiscard]] std::shared_ptr<check> make_check(std::function<result(const context&)> fn,
                                                check_traits traits = {});

}  // namespace vitals
