#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/check.hpp"
#include "vitals/status.hpp"

namespace vitals {

/// When a check runs.
enum class schedule : std::uint8_t {
  /// On its own interval in the background (default).
  background,
  /// Only when a probe asks for it and its last result is older than its TTL. The request that
  /// triggers the run does not wait for it: it is served from the latest snapshot.
  on_demand,
};

/// How one check is run and judged. All policy lives here and in the runner, never in a check.
///
///     reg.add("postgres", pg, {.probes = vitals::ready | vitals::startup, .interval = 5s,
///                              .timeout = 2s, .failure_threshold = 3});
struct check_options {
  /// Probes this check counts in. `live` only accepts process-local checks (see allow_in_live).
  probe_set probes = ready;
  /// Critical: a failure fails the probe. Non-critical: a failure only makes it `warn`.
  bool critical = true;
  schedule mode = schedule::background;
  /// Time between the end of one background run and the start of the next (plus jitter).
  std::chrono::milliseconds interval = std::chrono::seconds{10};
  /// Enforced by the runner: at the deadline the result is `fail/timeout`.
  std::chrono::milliseconds timeout = std::chrono::seconds{2};
  /// Delay before the first run after `service::start()`.
  std::chrono::milliseconds initial_delay = std::chrono::milliseconds{0};
  /// Each interval is stretched by a random fraction in [0, jitter) of itself.
  double jitter = 0.1;
  /// For `on_demand`: how long a passing (resp. failing) result is reused. 0 = `interval`.
  std::chrono::milliseconds ttl_pass = std::chrono::milliseconds{0};
  std::chrono::milliseconds ttl_fail = std::chrono::milliseconds{0};
  /// A result older than this is reported as `fail/stale`. 0 = 2 * interval + timeout
  /// (for on_demand: 2 * ttl_pass + timeout, counted from the last request-triggered run).
  std::chrono::milliseconds max_staleness = std::chrono::milliseconds{0};
  /// Consecutive failures before a passing check is reported failing.
  int failure_threshold = 1;
  /// Consecutive passes before a failing check is reported passing again. The very first
  /// success after start counts at once.
  int success_threshold = 1;
  /// Allow a dependency check (database, cache, network) in the `live` probe. Off by default:
  /// a dead database must not make Kubernetes restart every replica.
  bool allow_in_live = false;
  /// Overrides the check's IETF componentType / measurement, if non-empty.
  std::string component_type{};
  std::string measurement{};

  /// Member-wise: two checks with equal options are scheduled and judged alike (vitalsd keeps
  /// the state of a check whose options, type and settings are unchanged across a reload).
  friend bool operator==(const check_options&, const check_options&) = default;
};

/// One reason a check is refused, as a value: which check, which option, and why. `message` is
/// worded to stand next to the option (a configuration file points it at the key's line);
/// `text` is self-contained, with the check's name: what `registry::add` throws.
///
///     for (const auto& e : vitals::registry::errors("db", {.interval = 1s, .timeout = 2s}, {}))
///       std::cerr << e.key << ": " << e.message << "\n";  // timeout: timeout (2s) must be ...
struct validation_error {
  std::string check{};  ///< the name as given (possibly invalid)
  /// The option at fault: `name`, `probes`, `interval`, `timeout`, `initial_delay`, `ttl_pass`,
  /// `ttl_fail`, `max_staleness`, `jitter`, `failure_threshold`, `success_threshold`.
  std::string key{};
  std::string message{};
  std::string text{};
  /// For a duplicate name: the position (in `entries()`) of the check registered first.
  std::optional<std::size_t> duplicate_of{};
};

/// The set of checks a service runs. Validation errors (duplicate names, timeout >= interval,
/// thresholds < 1, dependency in `live`, ...) throw `std::invalid_argument` with a clear text.
///
///     vitals::registry reg;
///     reg.add("backlog", [&](const vitals::context&) { return vitals::pass(); });
class registry {
 public:
  struct entry {
    std::string name;
    std::shared_ptr<check> impl;
    check_options options;
    check_traits traits;
  };

  registry() = default;

  /// Registers a check. Names are `[A-Za-z0-9_.-]{1,64}` and unique. Throws
  /// std::invalid_argument with the first error's `text`.
  registry& add(std::string name, std::shared_ptr<check> c, check_options options = {});
  /// Same, without throwing: registers the check and returns nothing, or registers nothing and
  /// returns every reason (a null check is a precondition violation and still throws).
  [[nodiscard]] std::vector<validation_error> try_add(std::string name, std::shared_ptr<check> c,
                                                      check_options options = {});
  /// Registers a callable as a check.
  registry& add(std::string name, std::function<result(const context&)> fn,
                check_options options = {});

  [[nodiscard]] const std::vector<entry>& entries() const noexcept { return entries_; }
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }

  /// Every rule `add` enforces on one check (all but uniqueness), in a fixed order; empty if
  /// `options` are valid for a check named `name` with `traits`.
  [[nodiscard]] static std::vector<validation_error> errors(std::string_view name,
                                                            const check_options& options,
                                                            const check_traits& traits);
  /// Throws std::invalid_argument with the first of `errors(...)`'s `text`, if any.
  static void validate(std::string_view name, const check_options& options,
                       const check_traits& traits);

 private:
  std::vector<entry> entries_{};
  std::map<std::string, std::size_t, std::less<>> names_{};  // name → position, in O(log n)
};

}  // namespace vitals
