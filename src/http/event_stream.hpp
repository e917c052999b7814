#pragma once
// Private: the Server-Sent Events text of /api/v1/events (docs/events.md) and what the built-in
// server lends the route so that it may stream. Not installed.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/http/events.hpp"
#include "vitals/http/targets.hpp"
#include "vitals/redact.hpp"

namespace vitals::http::detail {

inline constexpr std::string_view event_stream_type = "text/event-stream";
/// How long a client waits before reconnecting (the `retry:` field); also the polling period of
/// a transport that cannot stream (handler::handle()).
inline constexpr int event_retry_ms = 2000;
/// A comment line: keeps proxies and load balancers from closing a quiet stream.
inline constexpr std::string_view heartbeat_frame = ": keep-alive\n\n";

/// The places for open event streams of one server: the route takes one when it may stream,
/// the server gives it back when the stream's connection closes.
struct stream_slots {
  std::atomic<std::size_t> open{0};
  std::size_t cap = 0;
  std::atomic<std::uint64_t> refused{0};
  [[nodiscard]] bool try_take() noexcept {
    std::size_t n = open.load(std::memory_order_relaxed);
    while (n < cap) {
      if (open.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) return true;
    }
    refused.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  void give_back() noexcept { open.fetch_sub(1, std::memory_order_relaxed); }
};

/// What a renderer of events needs besides the events.
struct event_render {
  const redactor& scrubber;
  /// Groups of targets (may be null).
  const target_catalog::map* catalog = nullptr;
  /// Outputs are shown.
  bool detailed = false;
};

/// Appends the frame of one status change:
///   id: <id>\nevent: status\ndata: {"id":..,"target":..,"status":..,"previous":..,...}\n\n
void append_status_frame(std::string& out, const event_render& how, const status_event& e);

/// Appends the frame that ends a catch-up: `event: ready` with the newest id, and whether events
/// were missed (the client must then refetch the state it shows).
void append_ready_frame(std::string& out, std::uint64_t last_id, bool missed);

/// The body every answer of /api/v1/events starts with: `retry:`, the events after the resume
/// point (`page`), the `ready` frame.
[[nodiscard]] std::string event_stream_body(const event_render& how, const event_feed::page& page);

/// Frames of a batch of events for both audiences, each event's end offset kept so that a
/// stream ahead of the batch start can skip what it already has.
struct event_batch {
  std::string public_text{};
  std::string detailed_text{};
  std::vector<std::uint64_t> ids{};
  std::vector<std::size_t> public_ends{};
  std::vector<std::size_t> detailed_ends{};

  void clear() noexcept {
    public_text.clear();
    detailed_text.clear();
    ids.clear();
    public_ends.clear();
    detailed_ends.clear();
  }
  /// What a stream that has everything up to `after` still needs.
  [[nodiscard]] std::string_view after(std::uint64_t after, bool detailed) const noexcept;
};
void render_batch(event_batch& out, const redactor& scrubber, const target_catalog::map* catalog,
                  std::span<const status_event> events);

}  // namespace vitals::http::detail
