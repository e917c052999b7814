#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vitals/observer.hpp"
#include "vitals/result.hpp"
#include "vitals/status.hpp"

namespace vitals::http {

/// One change of a check's reported status, as `/api/v1/events` shows it (docs/events.md).
struct status_event {
  /// Unique and increasing, also across restarts of the process (see event_feed).
  std::uint64_t id = 0;
  std::string check{};
  status from = status::unknown;
  status to = status::unknown;
  failure_kind kind = failure_kind::none;
  /// When the result that caused the change was produced.
  std::chrono::system_clock::time_point time{};
  /// The latest run's duration.
  std::chrono::nanoseconds duration{0};
  /// The result's output (shown to token holders only, scrubbed again when rendered).
  std::string output{};
};

/// The live stream of status changes served at `/api/v1/events` (Server-Sent Events): an
/// observer of one or more services that numbers their transitions and keeps the latest
/// `capacity` of them, so a client that reconnects with `Last-Event-ID` gets what it missed.
/// Thread-safe.
///
///     auto feed = std::make_shared<vitals::http::event_feed>();
///     vitals::service svc{std::move(reg), {.observers = {feed}}};
///     vitals::http::server http{svc, {}, {.events = feed}};
///
/// Ids start at the feed's creation time in microseconds since the Unix epoch and count up by
/// one per event, so an id from an earlier process is always older than every id of this one
/// (a client resuming across a restart is told it missed events, never silently skipped).
class event_feed final : public observer {
 public:
  explicit event_feed(std::size_t capacity = 4096);
  ~event_feed() override;
  event_feed(const event_feed&) = delete;
  event_feed& operator=(const event_feed&) = delete;

  void on_transition(const check_state& state, status from, status to) override;
  /// Appends an event (its `id` is assigned here and returned) and wakes the subscribers.
  std::uint64_t publish(status_event e);

  /// The id of the newest event; before the first event, the id just below the first one.
  [[nodiscard]] std::uint64_t last_id() const;
  /// How many of the latest events are kept.
  [[nodiscard]] std::size_t capacity() const noexcept;

  /// What since() found.
  struct page {
    /// The events after the id asked for, oldest first (at most `max`).
    std::vector<status_event> events{};
    /// The id of the newest event returned, or the id asked for if none.
    std::uint64_t last_id = 0;
    /// Events after the id asked for were dropped (too old for the buffer), or the id is not
    /// one of this feed's (another process, the future): `events` is empty, `last_id` is the
    /// newest id, and the reader must refetch the state it follows.
    bool missed = false;
    /// More events follow `events` (it holds `max`).
    bool more = false;
  };
  /// The events after `after`, at most `max`.
  [[nodiscard]] page since(std::uint64_t after, std::size_t max) const;

  /// Calls `wake` on the publishing thread after every new event until the handle is destroyed
  /// (which waits for a call in progress). `wake` must not block nor call into the feed.
  class subscription {
   public:
    subscription() = default;
    ~subscription();
    subscription(subscription&& other) noexcept;
    subscription& operator=(subscription&& other) noexcept;
    subscription(const subscription&) = delete;
    subscription& operator=(const subscription&) = delete;

   private:
    friend class event_feed;
    subscription(std::shared_ptr<void> state, std::uint64_t id) noexcept;
    std::shared_ptr<void> state_{};
    std::uint64_t id_ = 0;
  };
  [[nodiscard]] subscription subscribe(std::function<void()> wake) const;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace vitals::http
