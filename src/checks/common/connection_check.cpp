#include "common/connection_check.hpp"

namespace vitals::checks::detail {

result connection_check::run(const context& ctx) {
  // The engine never runs one check twice at a time; this guards direct callers sharing it.
  std::unique_lock lock(mu_, std::try_to_lock);
  if (!lock) return vitals::fail("previous run still in progress", failure_kind::internal);
  const auto start = std::chrono::steady_clock::now();
  const bool reused = connected();
  auto r = attempt(ctx.deadline(), start);
  if (r.status != status::pass && reused && r.kind == failure_kind::refused &&
      std::chrono::steady_clock::now() < ctx.deadline()) {
    r = attempt(ctx.deadline(), start);
  }
  after_run();
  if (r.status != status::pass) {
    r.output = redactor_.scrub(r.output);
    for (auto& [key, value] : r.details) value = redactor_.scrub(value);
    return r;
  }
  const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  r.observe(took.count(), "ms").detail("address", where_);
  return r;
}

}  // namespace vitals::checks::detail
