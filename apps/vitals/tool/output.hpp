#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "vitals/snapshot.hpp"
#include "vitals/status.hpp"

namespace vitals::cli {

/// One line of `vitals check` output: what a check reported on its single run.
struct check_row {
  std::string name{};
  std::string type{};
  probe_set probes{};
  bool critical = true;
  status state = status::unknown;
  failure_kind kind = failure_kind::none;
  std::chrono::nanoseconds duration{0};
  std::string output{};    ///< already redacted by the engine
  std::string observed{};  ///< "12 ms", "" if none
};

/// Rows from a snapshot, in registration order (the reported result of each check).
[[nodiscard]] std::vector<check_row> rows_from(const snapshot& snap);

/// Overall verdict: the worst status of critical checks; failures of non-critical checks only
/// warn (as the probes do).
[[nodiscard]] status overall(const std::vector<check_row>& rows);

/// Exit code of `vitals check`: 0 when the overall status is pass or warn (1 with `strict` for
/// warn), 1 for fail or unknown.
[[nodiscard]] int exit_code_for(status overall, bool strict);

/// "12ms", "1.5s", "850us": short durations for the table.
[[nodiscard]] std::string short_duration(std::chrono::nanoseconds d);

/// Aligned text table: NAME TYPE STATUS DURATION OUTPUT, then a summary line.
///
///     NAME  TYPE    STATUS  DURATION  OUTPUT
///     db    sqlite  pass    3ms
///     ok: 1 pass
[[nodiscard]] std::string render_table(const std::vector<check_row>& rows, bool color);

/// JSON document: {"status": ..., "checks": [{"name", "type", "status", "kind", "durationMs",
/// "output", "observed", "critical", "probes"}...]}.
[[nodiscard]] std::string render_json(const std::vector<check_row>& rows);

}  // namespace vitals::cli
