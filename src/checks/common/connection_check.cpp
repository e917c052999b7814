#include "common/connection_check.hpp"

#include <algorithm>

#include "common/net.hpp"

namespace vitals::checks::detail {

using std::chrono::milliseconds;

void reconnect_backoff::run_started(clock::time_point now) {
  if (last_run_ != clock::time_point{} && now > last_run_) {
    gaps_[next_gap_] = std::chrono::duration_cast<milliseconds>(now - last_run_);
    next_gap_ = (next_gap_ + 1) % std::size(gaps_);
  }
  last_run_ = now;
}

milliseconds reconnect_backoff::cap() const {
  milliseconds longest{0};
  for (const auto g : gaps_) longest = std::max(longest, g);
  if (longest == milliseconds{0}) return max_backoff;
  return std::clamp(longest, base, max_backoff);
}

milliseconds reconnect_backoff::backoff() const {
  if (failures_ == 0) return milliseconds{0};
  const int doublings = std::min(failures_ - 1, 20);
  return std::min<milliseconds>(base * (1LL << doublings), cap());
}

std::optional<milliseconds> reconnect_backoff::wait_before_attempt(clock::time_point now) const {
  if (failures_ == 0) return std::nullopt;
  const auto spacing = backoff();
  // A quarter of slack: runs at the interval (with its jitter) always find the next attempt
  // due once the backoff has reached the cap; only runs that come sooner are held back.
  const auto due = last_attempt_ + spacing - spacing / 4;
  if (now >= due) return std::nullopt;
  return std::chrono::ceil<milliseconds>(last_attempt_ + spacing - now);
}

void reconnect_backoff::failed(clock::time_point now) {
  ++failures_;
  last_attempt_ = now;
}

void connection_check::doing(std::string_view what) {
  if (ctx_ != nullptr) ctx_->doing(what);
}

result connection_check::timed_out(steady_time deadline, steady_time start,
                                   std::string_view what) const {
  return vitals::fail(timed_out_text(start, deadline, what), failure_kind::timeout);
}

result connection_check::failed(failure_kind kind, std::string text) {
  drop(false);
  return vitals::fail(std::move(text), kind);
}

result connection_check::abandon(steady_time deadline, steady_time start, std::string_view what) {
  auto r = timed_out(deadline, start, std::string(what) + " " + where_);
  drop(true);
  return r;
}

result connection_check::run(const context& ctx) {
  // The engine never runs one check twice at a time; this guards direct callers sharing it.
  std::unique_lock lock(mu_, std::try_to_lock);
  if (!lock) return vitals::fail("previous run still in progress", failure_kind::internal);
  const auto start = std::chrono::steady_clock::now();
  ctx_ = &ctx;
  struct clear {
    const context*& p;
    ~clear() { p = nullptr; }
  } clear_ctx{ctx_};
  backoff_.run_started(start);

  const bool reused = connected();
  const bool pending = !reused && connecting();
  if (!reused && !pending && last_failure_) {
    if (const auto wait = backoff_.wait_before_attempt(start)) {
      // Not yet: the server hears nothing from this run.
      result r = *last_failure_;
      r.output += " (retrying in " + format_duration(*wait) + ")";
      r.duration = {};
      return r;
    }
  }
  const bool fresh = !reused && !pending;
  auto r = attempt(ctx.deadline(), start);
  bool new_attempt = fresh;
  if (r.status != status::pass &&
      retry_on_fresh_connection(reused, r.kind == failure_kind::refused, ctx.deadline())) {
    new_attempt = true;
    r = attempt(ctx.deadline(), start);
  }
  after_run();
  if (r.status != status::pass) {
    r.output = redactor_.scrub(r.output);
    for (auto& [key, value] : r.details) value = redactor_.scrub(value);
  }
  // Only an attempt that ended (not one kept pending, not a failing query on a healthy
  // connection) moves the backoff.
  if (connected() || r.status == status::pass) {
    backoff_.succeeded();
    last_failure_.reset();
  } else if (!connecting() && (new_attempt || pending)) {
    backoff_.failed(start);
    last_failure_ = r;
  }
  if (r.status != status::pass) return r;
  const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  r.observe(took.count(), "ms").detail("address", where_);
  return r;
}

}  // namespace vitals::checks::detail
