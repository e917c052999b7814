#pragma once

#include <cstdint>
#include <string_view>

namespace vitals {

/// Health status, ordered from best to worst as in the IETF health check draft:
/// `pass < warn < fail`. `unknown` is the state of a check before its first result; it
/// counts as "not ready" and is never rendered as a pass.
///
///     vitals::worst(vitals::status::pass, vitals::status::warn) == vitals::status::warn
enum class status : std::uint8_t { pass = 0, warn = 1, fail = 2, unknown = 3 };

/// "pass", "warn", "fail" or "unknown".
[[nodiscard]] std::string_view to_string(status s) noexcept;

/// The worse of two statuses, in the order pass < warn < fail < unknown (an unchecked
/// dependency is never better than a failed one).
[[nodiscard]] constexpr status worst(status a, status b) noexcept {
  return static_cast<std::uint8_t>(a) >= static_cast<std::uint8_t>(b) ? a : b;
}

/// True for `pass` and `warn`: the states in which a probe answers "up".
[[nodiscard]] constexpr bool is_ok(status s) noexcept {
  return s == status::pass || s == status::warn;
}

/// The closed set of failure kinds. Small on purpose so it can be used as a metric label.
///
/// | kind        | use it when                                                        |
/// |-------------|--------------------------------------------------------------------|
/// | `timeout`   | the deadline passed (set by the runner; checks rarely set it)      |
/// | `refused`   | the peer actively refused or reset the connection                  |
/// | `dns`       | a name did not resolve                                             |
/// | `tls`       | handshake, certificate chain, hostname or expiry problem           |
/// | `auth`      | credentials were rejected                                          |
/// | `protocol`  | the peer answered something we could not understand                |
/// | `assertion` | the peer answered fine but the answer is not what was expected     |
/// | `internal`  | a bug or resource problem on our side (includes thrown exceptions) |
/// | `stale`     | the last result is older than the check's max staleness            |
enum class failure_kind : std::uint8_t {
  none = 0,
  timeout,
  refused,
  dns,
  tls,
  auth,
  protocol,
  assertion,
  internal,
  stale,
};

/// "none", "timeout", "refused", ... (stable strings, safe as metric labels).
[[nodiscard]] std::string_view to_string(failure_kind k) noexcept;

/// The probes a check can belong to.
enum class probe : std::uint8_t { live = 1, ready = 2, startup = 4 };

/// "live", "ready" or "startup".
[[nodiscard]] std::string_view to_string(probe p) noexcept;

/// A set of probes: `vitals::ready | vitals::startup`.
class probe_set {
 public:
  constexpr probe_set() noexcept = default;
  constexpr probe_set(probe p) noexcept : bits_(static_cast<std::uint8_t>(p)) {}  // NOLINT
  [[nodiscard]] constexpr bool contains(probe p) const noexcept {
    return (bits_ & static_cast<std::uint8_t>(p)) != 0;
  }
  [[nodiscard]] constexpr bool empty() const noexcept { return bits_ == 0; }
  [[nodiscard]] constexpr std::uint8_t bits() const noexcept { return bits_; }
  constexpr probe_set& operator|=(probe_set o) noexcept {
    bits_ = static_cast<std::uint8_t>(bits_ | o.bits_);
    return *this;
  }
  friend constexpr probe_set operator|(probe_set a, probe_set b) noexcept { return a |= b; }
  friend constexpr bool operator==(probe_set a, probe_set b) noexcept = default;

 private:
  std::uint8_t bits_ = 0;
};

constexpr probe_set operator|(probe a, probe b) noexcept { return probe_set{a} | probe_set{b}; }

inline constexpr probe_set live{probe::live};
inline constexpr probe_set ready{probe::ready};
inline constexpr probe_set startup{probe::startup};

}  // namespace vitals
