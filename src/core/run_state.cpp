#include "run_state.hpp"

#include <algorithm>
#include <utility>

#include "base/format.hpp"

namespace vitals::detail {

using base::format_duration;

using std::chrono::nanoseconds;

run_state::run_state(registry::entry entry, bool async, const secret_set* secrets)
    : impl_(std::move(entry.impl)), async_(async), secrets_(secrets) {
  const auto& o = entry.options;
  background_ = o.mode == schedule::background;
  ttl_pass_ = o.ttl_pass.count() > 0 ? o.ttl_pass : o.interval;
  ttl_fail_ = o.ttl_fail.count() > 0 ? o.ttl_fail : o.interval;
  if (o.max_staleness.count() > 0) {
    staleness_ = o.max_staleness;
  } else {
    staleness_ = background_ ? 2 * o.interval + o.timeout : 2 * ttl_pass_ + o.timeout;
  }
  state_.name = std::move(entry.name);
  state_.traits = std::move(entry.traits);
  state_.traits.secrets.clear();
  state_.options = std::move(entry.options);
  state_.stale_at = never;
}

void run_state::seed(const check_state& previous) {
  if (previous.reported.status == status::unknown) return;
  auto& st = state_;
  st.reported = previous.reported;
  st.last_run = previous.last_run;
  st.consecutive_failures = previous.consecutive_failures;
  st.consecutive_successes = previous.consecutive_successes;
  st.runs = previous.runs;
  st.timeouts = previous.timeouts;
  st.transitions = previous.transitions;
  st.counters = previous.counters;
  st.lag = previous.lag;
  st.stale_at = previous.stale_at;
  if (previous.stale_at == never) return;  // already reported stale: due at once, not fresh
  // When the previous engine ingested that result, on the same steady clock: its staleness
  // horizon is `staleness` after it.
  last_result_at_ = previous.stale_at - staleness_;
  resume_at_ = last_result_at_ + st.options.interval;
  if (!background_) {
    fresh_until_ = last_result_at_ + (is_ok(st.last_run.status) ? ttl_pass_ : ttl_fail_);
  }
}

steady_time run_state::wake(steady_time now) const noexcept {
  steady_time next = never;
  if (running()) {
    next = run_.deadline;
  } else if (background_) {
    next = next_due_;  // the next run, or the next hung refresh
  } else if (pending_) {
    next = state_.in_flight ? fresh_until_ : now;
  }
  return std::min(next, state_.stale_at);
}

std::string run_state::timeout_text() const {
  std::string text = "timed out after " + format_duration(state_.options.timeout);
  if (run_.activity) {
    std::lock_guard lk(run_.activity->mu);
    if (!run_.activity->what.empty()) text.append(" ").append(run_.activity->what);
  }
  return text;
}

step_outcome run_state::step(steady_time now, nanoseconds next_interval, wall_time wall) {
  step_outcome out = advance(now, next_interval, wall);
  if (state_.stale_at != never && now >= state_.stale_at) {
    // Only reached when nothing refreshed the result in time (a busy engine, a manual clock):
    // the result says so instead of telling an old story.
    if (auto t = rejudge(now, wall)) out.transition = t;
    out.changed = true;
  }
  return out;
}

step_outcome run_state::advance(steady_time now, nanoseconds next_interval, wall_time wall) {
  step_outcome out;
  if (running()) {
    if (now < run_.deadline) return out;
    // The runner, not the check, enforces the deadline.
    timed_out_ = true;
    run_.cancelled->store(true, std::memory_order_release);
    ++state_.timeouts;
    auto r = fail(timeout_text(), failure_kind::timeout);
    r.duration = now - dispatched_;
    out.transition = ingest(std::move(r), now, wall, true);
    if (background_) next_due_ = now + next_interval;
    out.changed = out.timed_out = out.finished = true;
    return out;
  }
  if (state_.in_flight) {
    // Hung: no second run, but keep reporting the failure at the check's usual pace so that
    // thresholds progress and the result never turns stale or stays a pass.
    const bool refresh = background_ ? now >= next_due_ : (pending_ && now >= fresh_until_);
    if (!refresh) return out;
    auto r = fail(timeout_text() + "; still running (" + format_duration(now - dispatched_) + ")",
                  failure_kind::timeout);
    r.duration = now - dispatched_;
    out.transition = ingest(std::move(r), now, wall, false);
    pending_ = false;
    if (background_) next_due_ = now + next_interval;
    out.changed = out.finished = true;
    return out;
  }
  const bool due = background_ ? now >= next_due_ : pending_;
  if (!due) return out;
  begin(now);
  out.changed = out.start = true;
  return out;
}

void run_state::begin(steady_time now) {
  due_ = background_ ? next_due_ : pending_since_;
  pending_ = false;
  state_.in_flight = true;
  timed_out_ = false;
  dispatched_ = now;
  state_.lag = now > due_ ? now - due_ : nanoseconds{0};
  run_ = ticket{.run_id = run_.run_id + 1,
                .deadline = now + state_.options.timeout,
                .cancelled = std::make_shared<std::atomic<bool>>(false),
                .activity = std::make_shared<run_activity>()};
}

bool run_state::demand(steady_time now) noexcept {
  if (background_ || pending_ || now < fresh_until_) return false;
  if (running()) return false;  // coalesced into the run in flight
  pending_ = true;
  pending_since_ = now;
  return true;
}

steady_time run_state::demand_at() const noexcept {
  if (background_ || pending_ || running()) return never;
  return fresh_until_;
}

std::optional<status_change> run_state::rejudge(steady_time now, wall_time wall) {
  if (state_.stale_at == never || now < state_.stale_at) return std::nullopt;
  const status before = state_.reported.status;
  auto r = fail("no result for " + format_duration(now - last_result_at_) + " (max staleness " +
                    format_duration(staleness_) + ")",
                failure_kind::stale);
  r.time = wall;
  state_.reported = std::move(r);
  // Already as stale as it gets: push the horizon away so readers stop re-judging.
  state_.stale_at = never;
  if (before == status::fail) return std::nullopt;
  ++state_.transitions;
  return status_change{before, status::fail};
}

std::optional<run_state::completion> run_state::complete(std::uint64_t run_id, result& r,
                                                         steady_time now,
                                                         std::optional<steady_time> started,
                                                         nanoseconds next_interval,
                                                         wall_time wall) {
  if (!state_.in_flight || run_.run_id != run_id) return std::nullopt;
  state_.in_flight = false;
  // The run's flag and activity are let go while they are still warm (the check holds its own
  // references for as long as it needs them); the next run allocates its own.
  run_.cancelled.reset();
  run_.activity.reset();
  completion c;
  const steady_time began = started && *started > dispatched_ ? *started : dispatched_;
  // Time spent waiting for a pool thread is the engine's delay, not the check's.
  if (began > dispatched_) state_.lag += began - dispatched_;
  c.took = now - began;
  if (timed_out_) {
    c.late = true;
    ++state_.counters.late_results;
    return c;
  }
  r.duration = c.took;
  c.transition = ingest(std::move(r), now, wall, true);
  if (background_) next_due_ = now + next_interval;
  return c;
}

void run_state::scrub(result& r) const {
  const auto clean = [this](std::string_view text) {
    std::string out = secrets_ != nullptr ? secrets_->mask(text) : std::string{text};
    // Probe bodies show control characters as spaces: a secret spelled that way
    // ("correct\x01horse" for "correct horse") is masked in that form too.
    if (secrets_ != nullptr && std::any_of(out.begin(), out.end(), [](char c) {
          return static_cast<unsigned char>(c) < 0x20U || c == 0x7F;
        })) {
      std::string spaced = out;
      for (char& c : spaced) {
        if (static_cast<unsigned char>(c) < 0x20U || c == 0x7F) c = ' ';
      }
      std::string masked = secrets_->mask(spaced);
      if (masked != spaced) out = std::move(masked);
    }
    return scrub_patterns(out);
  };
  r.output = clean(r.output);
  for (auto& [key, value] : r.details) {
    key = clean(key);
    value = redactor::is_secret_key(key) ? std::string{"***"} : clean(value);
  }
  if (r.observed) {
    if (auto* s = std::get_if<std::string>(&r.observed->value)) *s = clean(*s);
    r.observed->unit = clean(r.observed->unit);
  }
}

void run_state::cancel() noexcept {
  if (state_.in_flight && run_.cancelled) run_.cancelled->store(true, std::memory_order_release);
}

std::optional<status_change> run_state::ingest(result r, steady_time now, wall_time wall,
                                               bool counts_as_run) {
  // Normalise what a check may get wrong, so that renderers can rely on the shape.
  if (r.status == status::unknown) {
    r = fail("check returned no status", failure_kind::internal);
  } else if (r.status == status::fail && r.kind == failure_kind::none) {
    r.kind = failure_kind::assertion;
  } else if (r.status == status::pass) {
    r.output.clear();
    r.kind = failure_kind::none;
  }
  r.time = wall;
  scrub(r);

  auto& st = state_;
  if (counts_as_run) {
    ++st.runs;
    st.counters.count(r, st.options.timeout);
  }
  const bool ok = is_ok(r.status);
  if (ok) {
    ++st.consecutive_successes;
    st.consecutive_failures = 0;
  } else {
    ++st.consecutive_failures;
    st.consecutive_successes = 0;
  }
  const status before = st.reported.status;
  bool adopt = false;
  if (before == status::unknown) {
    adopt = true;  // the first result after start counts at once
  } else if (is_ok(before)) {
    adopt = ok ||
            st.consecutive_failures >= static_cast<std::uint32_t>(state_.options.failure_threshold);
  } else {
    adopt = !ok || st.consecutive_successes >=
                       static_cast<std::uint32_t>(state_.options.success_threshold);
  }
  st.last_run = r;
  if (adopt) st.reported = std::move(r);
  last_result_at_ = now;
  st.stale_at = now + staleness_;
  if (!background_) fresh_until_ = now + (ok ? ttl_pass_ : ttl_fail_);
  if (st.reported.status == before) return std::nullopt;
  ++st.transitions;
  return status_change{before, st.reported.status};
}

}  // namespace vitals::detail
