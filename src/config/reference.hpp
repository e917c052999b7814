#pragma once

#include <string>

namespace vitals::config::detail {

/// Markdown tables of every key (with type, default and description), generated from the same
/// specs as the loader: docs/config.md embeds this text between markers.
[[nodiscard]] std::string reference_markdown();

}  // namespace vitals::config::detail
