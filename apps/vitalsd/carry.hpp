#pragma once
// State carried across a reload. The new engine is a new vitals::service, so an unchanged check
// (same name, type and options) is wrapped: its first run returns the result the old engine was
// reporting, at once, and every later run is the real check. Readiness therefore never dips to
// `unknown` on reload, and the dependency sees no extra query (the next real run comes one
// interval later, as it would have).

#include <memory>
#include <optional>

#include "vitals/check.hpp"
#include "vitals/result.hpp"

namespace vitalsd {

/// Wraps `inner` so that its first run returns `first`. Keeps the blocking/async nature of
/// `inner` (an async check stays async).
[[nodiscard]] std::shared_ptr<vitals::check> carry_over(std::shared_ptr<vitals::check> inner,
                                                        vitals::result first);

}  // namespace vitalsd
