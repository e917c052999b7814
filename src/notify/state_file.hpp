#pragma once
// The notification state file: which alerts each notifier has announced. Private to
// vitals_notify.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vitals/notify.hpp"

namespace vitals::notify {

using saved_alert = announced_alert;

/// Writes `path` atomically (a temporary file in the same directory, then rename()). Returns
/// an error text, empty on success.
[[nodiscard]] std::string write_state_file(const std::string& path,
                                           const std::vector<saved_alert>& alerts);

/// Reads it back; a missing file is no error (nothing announced). A damaged one sets `error`
/// and yields nothing.
[[nodiscard]] std::vector<saved_alert> read_state_file(const std::string& path, std::string& error);

/// The alert as JSON (the webhook body's `alerts[]` item), and back (for the state file).
[[nodiscard]] nlohmann::json alert_json(const alert& a);

}  // namespace vitals::notify
