#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "vitals/check.hpp"
#include "vitals/clock.hpp"

namespace vitals::checks {

/// How late work scheduled now actually runs. Process-local: made for the `live` probe.
///
/// With `post` set, the check posts a task onto your event loop (an Asio io_context, a GUI
/// loop, a job queue...) and measures how long the loop takes to run it: a loop blocked by a
/// long handler or a deadlock shows up as lag, then as a failure. Without `post`, it measures
/// how late a short timed wakeup of its own fires: CPU starvation, cgroup CPU throttling or a
/// stopped-the-world pause.
///
///     boost::asio::io_context io;
///     reg.add("loop", vitals::checks::event_loop({
///                         .post = [&io](std::function<void()> f) {
///                           boost::asio::post(io, std::move(f)); }}),
///             {.probes = vitals::live, .interval = 5s, .timeout = 2s});
struct event_loop_options {
  /// Puts a task on the loop to watch; empty = measure a timed wakeup instead.
  std::function<void(std::function<void()>)> post{};
  /// Warn / fail when the lag reaches these values (fail_lag 0 = only the deadline fails).
  std::chrono::milliseconds warn_lag{100};
  std::chrono::milliseconds fail_lag{1000};
  /// Length of the timed wakeup when `post` is empty.
  std::chrono::milliseconds wakeup{10};
  /// Clock to measure with; null = the real steady clock. Waiting for the task always uses the
  /// real clock, bounded by the run's deadline.
  std::shared_ptr<vitals::clock> clock{};
};

/// Builds an event-loop lag check (observed value: lag in ms; measurement "lag"). Throws
/// std::invalid_argument for negative durations or fail_lag < warn_lag.
[[nodiscard]] std::shared_ptr<vitals::check> event_loop(event_loop_options options = {});

}  // namespace vitals::checks
