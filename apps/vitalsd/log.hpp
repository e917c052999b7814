#pragma once
// Structured logging of vitalsd: one line per event (startup, transition, reload, shutdown),
// text or JSON, through spdlog. Field values are already redacted by the engine; the daemon never
// passes a secret here.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/config.hpp"
#include "vitals/service.hpp"

namespace spdlog {
class logger;
}

namespace vitalsd {

using fields = std::vector<std::pair<std::string, std::string>>;

class log {
 public:
  enum class level { debug, info, warn, error };

  /// Logs to stderr in the given format and level.
  explicit log(const vitals::config::log_config& cfg);
  /// Switches format and level (on reload).
  void configure(const vitals::config::log_config& cfg);

  /// `msg key=value ...` (text) or `{"time":..,"level":..,"msg":..,"key":"value",...}` (json).
  void write(level lvl, std::string_view msg, const fields& f = {}) const;

  /// One line for an engine event (transition, timeout, late result, shutdown, error).
  void event(const vitals::event& e) const;

 private:
  std::shared_ptr<spdlog::logger> logger_;
  bool json_ = false;
};

/// JSON string escaping (RFC 8259), without the quotes.
[[nodiscard]] std::string json_escape(std::string_view s);

}  // namespace vitalsd
