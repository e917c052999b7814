#pragma once
// The sections of the configuration file, as data: each top-level key is a row (its schema, what
// it fills, its own rule), declared next to the code it configures — the listener, server and
// HTTP rows in src/http/config/, the engine, shutdown, log and check rows in src/config. The
// loader, the JSON Schema and docs/config.md iterate the one table `top_level()`.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/types.hpp"
#include "vitals/config.hpp"

namespace vitals::config::detail {

/// What the sections fill while one document is read.
struct document {
  daemon_config& cfg;
  /// `defaults:`, the starting point of every check's common keys.
  check_options defaults{};
};

/// A problem found by a section's own rule: the key at fault (inside the section) and why.
struct key_problem {
  std::string key;
  std::string message;
};

enum class section_shape : std::uint8_t {
  mapping,        ///< keys of `section` (and its children), read into `bind(document)`
  scalar,         ///< one value, read by `parse`
  check_list,     ///< the list of checks
  target_groups,  ///< groups of targets, each expanding into checks of one type
  mapping_list,   ///< a list of mappings, each read with `section` into `append(document)`
};

/// A top-level key of the document.
struct top_level_key {
  std::string name;
  std::string doc;
  /// The section read from this key's mapping; null for a scalar and for the check list.
  const section_spec* section = nullptr;
  /// Nested mapping keys inside the section (e.g. `http.status_codes`); they fill the same
  /// object as the section.
  std::vector<std::pair<std::string, const section_spec*>> children{};
  section_shape shape = section_shape::mapping;
  /// Mapping: the object the keys are applied to.
  std::function<void*(document&)> bind{};
  /// Mapping: a rule across the section's keys, checked once they all read well.
  std::function<std::optional<key_problem>(const document&)> rule{};
  /// Mapping: its keys are the defaults of every check (an error about an inherited key points
  /// at the default).
  bool check_defaults = false;
  /// Scalar: what is expected, for messages (e.g. `"address:port"`).
  std::string expects{};
  /// Scalar: stores `text` into the document, or says why it cannot (`shown` is the text as it
  /// may be echoed: what the user wrote when it came from the environment).
  std::function<std::optional<std::string>(const std::string& text, const std::string& shown,
                                           document&)>
      parse{};
  /// Mapping list: a new element (defined at `line`) to read one item into.
  std::function<void*(document&, int line)> append{};
  /// Mapping list: a rule across one item's keys.
  std::function<std::optional<key_problem>(const void* item)> item_rule{};
  /// Mapping list: the name of element i, unique in the list (null: no names).
  std::function<const std::string&(const document&, std::size_t)> unique_name{};
};

/// Keys every check accepts (bound to vitals::check_options).
[[nodiscard]] const section_spec& check_common_section();
/// The subset allowed under `defaults:`.
[[nodiscard]] const section_spec& defaults_section();
[[nodiscard]] const section_spec& service_section();   // service_info
[[nodiscard]] const section_spec& engine_section();    // daemon_config
[[nodiscard]] const section_spec& shutdown_section();  // shutdown_config
[[nodiscard]] const section_spec& log_section();       // log_config

// The rows of the HTTP layer (src/http/config/http_sections.cpp).
[[nodiscard]] top_level_key listen_key();          // server.address / server.port
[[nodiscard]] top_level_key metrics_listen_key();  // server.metrics_address / metrics_port
[[nodiscard]] top_level_key auth_key();            // http::handler_options::token
[[nodiscard]] top_level_key http_key();            // http::handler_options, with status_codes
[[nodiscard]] top_level_key server_key();          // http::server_options
[[nodiscard]] const section_spec& auth_section();
[[nodiscard]] const section_spec& http_section();
[[nodiscard]] const section_spec& status_codes_section();
[[nodiscard]] const section_spec& server_section();

// The rows of notifications (src/notify/config/notify_sections.cpp).
[[nodiscard]] top_level_key notify_key();        // daemon_config::notify
[[nodiscard]] top_level_key notify_state_key();  // daemon_config::notify_state

// The row of the results history (src/history/config/storage_sections.cpp).
[[nodiscard]] top_level_key storage_key();  // daemon_config::history

// The row of vitalsd's gRPC health server (src/config/grpc_sections.cpp).
[[nodiscard]] top_level_key grpc_key();  // daemon_config::grpc

/// The document's top-level keys in the order they are processed and documented.
[[nodiscard]] const std::vector<top_level_key>& top_level();

/// "5s", "250ms", "1m30s" (the inverse of parse_duration for whole milliseconds).
[[nodiscard]] std::string format_duration(std::chrono::milliseconds d);

/// Text form of a value as it would be written in YAML (durations as "5s", lists as [a, b]).
[[nodiscard]] std::string to_text(const value& v);

}  // namespace vitals::config::detail
