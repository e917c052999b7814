#pragma once
// vitalsd's notifications: the `notify:` entries as one vitals::notify::dispatcher, an observer
// of every engine. Kept across reloads while the notify settings stay the same; otherwise the
// next one takes over the alerts already announced. Its counters are added to /metrics.

#include <memory>
#include <mutex>

#include "log.hpp"
#include "vitals/config.hpp"
#include "vitals/http/maintenance.hpp"
#include "vitals/http/targets.hpp"
#include "vitals/notify.hpp"

namespace vitals::http::detail {
class metrics_writer;
}

namespace vitalsd {

class notify_hub final : public vitals::http::maintenance_source {
 public:
  explicit notify_hub(std::shared_ptr<log> logger) : log_(std::move(logger)) {}
  ~notify_hub() override;
  notify_hub(const notify_hub&) = delete;
  notify_hub& operator=(const notify_hub&) = delete;

  /// The observer for an engine built from `cfg` (null when it has no notifiers): the current
  /// dispatcher if `cfg` configures notifications as the current one does, else a new one
  /// (throws std::invalid_argument for a notifier that cannot be built). Takes effect with
  /// commit(); a reload that is rejected just drops it.
  [[nodiscard]] std::shared_ptr<vitals::notify::dispatcher> prepare(
      const vitals::config::daemon_config& cfg);
  /// Makes `next` (from prepare()) the current dispatcher; the previous one is stopped and its
  /// announced alerts, if `next` is new, have been handed over. Alerts of checks `cfg` no longer
  /// has are closed (dispatcher::keep_only).
  void commit(const vitals::config::daemon_config& cfg,
              std::shared_ptr<vitals::notify::dispatcher> next);
  /// Where the target groups of checks are looked up (alert::group); set before prepare().
  void use_groups(std::shared_ptr<const vitals::http::target_catalog> catalog) {
    const std::lock_guard lk(mu_);
    catalog_ = std::move(catalog);
  }
  /// vitals_notifier_* families (always declared, empty without notifiers).
  void write_metrics(vitals::http::detail::metrics_writer& w) const;
  /// Every notifier's maintenance windows, for /api/v1/maintenance: in progress or not, a
  /// one-off window's bounds, a recurring window's occurrence in progress.
  [[nodiscard]] std::vector<vitals::http::maintenance_info> windows(
      std::chrono::system_clock::time_point now) const override;
  /// Delivers what is queued (bounded by each notifier's retries) and stops.
  void stop();

 private:
  std::shared_ptr<log> log_;
  mutable std::mutex mu_;
  std::shared_ptr<const vitals::http::target_catalog> catalog_{};
  std::shared_ptr<vitals::notify::dispatcher> current_{};
  std::vector<vitals::config::notifier_config> settings_{};
  std::string state_file_{};
  vitals::service_info info_{};
};

}  // namespace vitalsd
