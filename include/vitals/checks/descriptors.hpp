#pragma once
// How many file descriptors a check holds at most while it runs: what a daemon adds up against
// RLIMIT_NOFILE before it starts (vitalsd refuses a configuration that cannot fit). Each
// check type says it for itself; network checks hold one per connection and nothing else (their
// event loop is shared by the process).

#include <cstddef>

#include "vitals/check.hpp"

namespace vitals::checks {

/// Implemented by the built-in check types (and by any check that wants to say it).
///
///     struct two_sockets final : vitals::check, vitals::checks::descriptor_user {
///       std::size_t descriptors() const noexcept override { return 2; }
///       ...
///     };
class descriptor_user {
 public:
  virtual ~descriptor_user() = default;
  /// Descriptors one run holds at most, plus any kept between runs.
  [[nodiscard]] virtual std::size_t descriptors() const noexcept = 0;
};

/// `c.descriptors()` for a descriptor_user, else 1 (a check that does not say may well open
/// one file or socket).
[[nodiscard]] std::size_t descriptors_of(const vitals::check& c) noexcept;

}  // namespace vitals::checks
