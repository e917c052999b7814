#pragma once
// The sections of the configuration file that are not check types: each is a section_spec bound to
// the options struct it fills, so the loader, the JSON Schema and docs/config.md share one source.

#include <functional>
#include <string>
#include <vector>

#include "config/types.hpp"

namespace vitals::config::detail {

/// A top-level key of the document.
struct top_level_key {
  std::string name;
  std::string doc;
  /// The section read from this key's mapping; null for `listen` (a scalar) and `checks` (a list).
  const section_spec* section = nullptr;
  /// Nested mapping keys inside the section (e.g. `http.status_codes`).
  std::vector<std::pair<std::string, const section_spec*>> children{};
};

/// Keys every check accepts (bound to vitals::check_options).
[[nodiscard]] const section_spec& check_common_section();
/// The subset allowed under `defaults:`.
[[nodiscard]] const section_spec& defaults_section();
[[nodiscard]] const section_spec& auth_section();          // http::handler_options
[[nodiscard]] const section_spec& http_section();          // http::handler_options
[[nodiscard]] const section_spec& status_codes_section();  // http::status_codes
[[nodiscard]] const section_spec& service_section();       // service_info
[[nodiscard]] const section_spec& server_section();        // http::server_options
[[nodiscard]] const section_spec& engine_section();        // daemon_config
[[nodiscard]] const section_spec& shutdown_section();      // shutdown_config
[[nodiscard]] const section_spec& log_section();           // log_config

/// The document's top-level keys in the order they are processed and documented.
[[nodiscard]] const std::vector<top_level_key>& top_level();

/// "5s", "250ms", "1m30s" (the inverse of parse_duration for whole milliseconds).
[[nodiscard]] std::string format_duration(std::chrono::milliseconds d);

/// Text form of a value as it would be written in YAML (durations as "5s", lists as [a, b]).
[[nodiscard]] std::string to_text(const value& v);

}  // namespace vitals::config::detail
