#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "vitals/check.hpp"
#include "vitals/push.hpp"

namespace vitals::checks {

/// A push (heartbeat) monitor for a cron or batch job: the job calls
/// `/api/v1/push/<token>[?status=fail&msg=...]` when it runs, and the check fails when no push
/// arrived within `period`, or reports what the last push said. Before the first push it warns
/// for one period (a job that ran before vitalsd started is not a failure), then fails.
///
///     using namespace std::chrono_literals;
///     reg.add("nightly-backup",
///             vitals::checks::push({.token = token_from_secret_store(), .period = 25h}),
///             {.probes = {}});
struct push_options {
  /// The secret in the job's URL: 16 to 128 characters of [A-Za-z0-9_-] (e.g. `openssl rand
  /// -hex 16`). Never shown in any output.
  std::string token{};
  /// A push must arrive at least this often.
  std::chrono::milliseconds period{0};
  /// Where pushes land; null = push_board::global(), which the HTTP handler serves.
  std::shared_ptr<push_board> board{};
};

/// Builds a push check (observed value: seconds since the last push). Throws
/// std::invalid_argument for a malformed token or a period that is not positive.
[[nodiscard]] std::shared_ptr<vitals::check> push(push_options options);

}  // namespace vitals::checks
