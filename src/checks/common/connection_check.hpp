#pragma once
// Base of the checks that keep one connection to a server between runs (postgres, mysql,
// memcached, redis). The policy lives here once, as the final run(); an implementation only
// says how to try once and whether it holds a connection — it cannot forget the hard part.
//
// Reconnects (DESIGN: a recovering dependency is never hit by a queue of stale attempts):
// - at most one connection attempt is outstanding: an implementation whose connect is still
//   pending at the deadline may keep it (connecting() turns true) and go on with that very
//   attempt in the next run instead of opening another;
// - failed attempts are spaced with exponential backoff (100 ms, doubling) capped at the run
//   interval; a run that comes before the next attempt is due reports the last failure with
//   "(retrying in 800ms)" and the same failure kind, without touching the server.

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "vitals/check.hpp"
#include "vitals/checks/descriptors.hpp"
#include "vitals/redact.hpp"

namespace vitals::checks::detail {

/// When the next connection attempt may be made after failures. Pure (the time is passed in),
/// for unit tests. The cap is the interval between runs, as observed (the longest gap between
/// two run starts among the last ones), or `max_backoff` before any is known.
///
///     reconnect_backoff b;
///     b.run_started(now);
///     if (auto wait = b.wait_before_attempt(now)) return note_retry(last, *wait);
///     ... attempt ...; ok ? b.succeeded() : b.failed(now);
class reconnect_backoff {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds base{100};
  static constexpr std::chrono::milliseconds max_backoff{30'000};

  /// Records a run's start (for the interval estimate).
  void run_started(clock::time_point now);
  /// nullopt when an attempt may be made now, else how long until it may.
  [[nodiscard]] std::optional<std::chrono::milliseconds> wait_before_attempt(
      clock::time_point now) const;
  /// An attempt was made at `now` and failed.
  void failed(clock::time_point now);
  /// An attempt succeeded: the next failure starts again at `base`.
  void succeeded() noexcept { failures_ = 0; }
  /// The current spacing (0 while no attempt failed).
  [[nodiscard]] std::chrono::milliseconds backoff() const;
  /// Consecutive failed attempts.
  [[nodiscard]] int failures() const noexcept { return failures_; }

 private:
  [[nodiscard]] std::chrono::milliseconds cap() const;
  int failures_ = 0;
  clock::time_point last_attempt_{};
  clock::time_point last_run_{};
  // Gaps between the last run starts (ring), 0 = none yet.
  std::chrono::milliseconds gaps_[8]{};
  unsigned next_gap_ = 0;
};

class connection_check : public vitals::check, public checks::descriptor_user {
 public:
  /// One connection, kept between runs (or pending).
  [[nodiscard]] std::size_t descriptors() const noexcept override { return 1; }

  using steady_time = std::chrono::steady_clock::time_point;

  /// One run: at most one at a time; one try, and a second on a fresh connection when a kept
  /// connection turned out to be dead (`refused`: a restart, an idle timeout, a killed session
  /// say nothing about the server now); failures scrubbed of every secret; on pass, the
  /// latency in ms and the `address` detail are added to what attempt() returned. New
  /// connections follow the reconnect rules above.
  result run(const context& ctx) final;

 protected:
  /// One try, bounded by `deadline`. On pass, return vitals::pass() with the type's details
  /// (server_version, ...); on failure, drop the connection and return the classified failure.
  virtual result attempt(steady_time deadline, steady_time start) = 0;
  /// True while a connection from an earlier run is kept.
  [[nodiscard]] virtual bool connected() const = 0;
  /// True while a connect attempt that timed out in an earlier run is kept pending (it is
  /// neither connected() nor failed; the next attempt() goes on with it).
  [[nodiscard]] virtual bool connecting() const { return false; }
  /// Called after every run, success or not (e.g. close when connections are not kept).
  virtual void after_run() {}
  /// Closes the kept connection (and forgets a pending connect): after every failure of it.
  /// `abandoned`: an operation was given up half-way at the deadline (the peer may be frozen).
  virtual void drop(bool abandoned) noexcept = 0;

  /// Drops the connection; {kind, text}.
  [[nodiscard]] result failed(failure_kind kind, std::string text);
  /// Drops the connection; {timeout, "timed out after 2s <what> <where_>"}.
  [[nodiscard]] result abandon(steady_time deadline, steady_time start, std::string_view what);

  /// Tells the runner what the run is doing now ("connecting to 127.0.0.1:5432"): the runner's
  /// timeout names it, and so must the check's own (timed_out()). No credentials in `what`.
  void doing(std::string_view what);
  /// {timeout, "timed out after 2s <what>"}: this run's budget, the engine's wording.
  [[nodiscard]] result timed_out(steady_time deadline, steady_time start,
                                 std::string_view what) const;

  /// Scrubs failures: add every password and the full URL / conninfo.
  vitals::redactor redactor_;
  /// "host:port" (or socket path) shown in details and messages; never carries credentials.
  std::string where_;

 private:
  std::mutex mu_;
  const context* ctx_ = nullptr;  // the run in progress (under mu_)
  reconnect_backoff backoff_;
  std::optional<result> last_failure_;  // of the last attempt that failed to connect
};

}  // namespace vitals::checks::detail
