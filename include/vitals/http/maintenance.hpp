#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace vitals::http {

/// A maintenance window as `/api/v1/maintenance` shows it.
struct maintenance_info {
  std::string notifier{};  ///< whose messages it silences
  std::string window{};    ///< as configured: "START/END" or "<cron> for <duration>"
  bool active = false;
  /// A one-off window: its bounds. A recurring one: the occurrence in progress, if any.
  std::optional<std::chrono::system_clock::time_point> start{};
  std::optional<std::chrono::system_clock::time_point> end{};
};

/// The maintenance windows of a deployment (handler_options::maintenance; vitalsd: every
/// notifier's `maintenance:`). Thread-safe; called per request, so cheap.
class maintenance_source {
 public:
  virtual ~maintenance_source() = default;
  [[nodiscard]] virtual std::vector<maintenance_info> windows(
      std::chrono::system_clock::time_point now) const = 0;
};

}  // namespace vitals::http
