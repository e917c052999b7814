#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/result.hpp"

namespace vitals {

namespace detail {
/// What a run is doing, as last told by the check (`context::doing`); read by the runner when
/// the deadline passes, so that the timeout says what was awaited.
struct run_activity {
  std::mutex mu;
  std::string what;
};
}  // namespace detail

/// What a running check may ask of the engine. The runner enforces the deadline whatever the
/// check does; a well-behaved check also stops early when `cancelled()` turns true.
class context {
 public:
  using steady_time = std::chrono::steady_clock::time_point;

  context(std::string name, steady_time deadline, std::shared_ptr<std::atomic<bool>> cancelled,
          std::shared_ptr<detail::run_activity> activity = {})
      : name_(std::move(name)),
        deadline_(deadline),
        cancelled_(std::move(cancelled)),
        activity_(std::move(activity)) {}

  /// The name the check was registered under.
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  /// Absolute deadline (steady clock of the engine's clock source).
  [[nodiscard]] steady_time deadline() const noexcept { return deadline_; }
  /// True once the runner has given up on this run (deadline passed or engine stopping).
  [[nodiscard]] bool cancelled() const noexcept {
    return cancelled_ && cancelled_->load(std::memory_order_acquire);
  }
  /// Tells the runner what the check is doing now, so that a timeout names it: after
  /// `ctx.doing("waiting for the response from 10.0.0.5:443")` a run that passes its deadline
  /// reports "timed out after 2s waiting for the response from 10.0.0.5:443". Thread-safe and
  /// cheap; the text is redacted like every output. A no-op when the runner did not ask.
  void doing(std::string_view what) const {
    if (!activity_) return;
    std::lock_guard lk(activity_->mu);
    activity_->what.assign(what);
  }

 private:
  std::string name_{};
  steady_time deadline_;
  std::shared_ptr<std::atomic<bool>> cancelled_{};
  std::shared_ptr<detail::run_activity> activity_{};
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
