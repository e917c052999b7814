// The feed behind /api/v1/events (include/vitals/http/events.hpp).

#include "vitals/http/events.hpp"

#include <algorithm>
#include <deque>
#include <mutex>
#include <utility>

#include "vitals/snapshot.hpp"

namespace vitals::http {

struct event_feed::state {
  explicit state(std::size_t cap) : capacity(std::max<std::size_t>(cap, 1)) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    base = static_cast<std::uint64_t>(std::max<std::int64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now).count(), 1));
    last = base;
  }

  std::size_t capacity;
  std::uint64_t base = 0;  // ids of this feed are above it

  mutable std::mutex events_mutex;
  std::deque<status_event> events;  // ids last - size + 1 .. last
  std::uint64_t last = 0;

  // Wakes run under their own lock (never the events lock): a subscriber may read the feed from
  // another thread while it is being woken.
  std::mutex wake_mutex;
  std::vector<std::pair<std::uint64_t, std::function<void()>>> wakes;
  std::uint64_t next_wake = 1;

  void unsubscribe(std::uint64_t id) {
    const std::lock_guard lock{wake_mutex};
    std::erase_if(wakes, [id](const auto& w) { return w.first == id; });
  }
};

event_feed::event_feed(std::size_t capacity) : state_(std::make_shared<state>(capacity)) {}

event_feed::~event_feed() = default;

void event_feed::on_transition(const check_state& s, status from, status to) {
  publish(status_event{.check = s.name,
                       .from = from,
                       .to = to,
                       .kind = s.reported.kind,
                       .time = s.reported.time,
                       .duration = s.last_run.duration,
                       .output = s.reported.output});
}

std::uint64_t event_feed::publish(status_event e) {
  state& st = *state_;
  std::uint64_t id = 0;
  {
    const std::lock_guard lock{st.events_mutex};
    id = ++st.last;
    e.id = id;
    if (st.events.size() == st.capacity) st.events.pop_front();
    st.events.push_back(std::move(e));
  }
  const std::lock_guard lock{st.wake_mutex};
  for (const auto& [key, wake] : st.wakes) wake();
  return id;
}

std::uint64_t event_feed::last_id() const {
  const std::lock_guard lock{state_->events_mutex};
  return state_->last;
}

std::size_t event_feed::capacity() const noexcept { return state_->capacity; }

event_feed::page event_feed::since(std::uint64_t after, std::size_t max) const {
  const state& st = *state_;
  page p;
  const std::lock_guard lock{st.events_mutex};
  const std::uint64_t oldest = st.last - st.events.size() + 1;  // == last + 1 when empty
  if (after > st.last || after < st.base || after + 1 < oldest) {
    // Not an id of this feed (a previous process's, or one never handed out), or its
    // successors were dropped from the buffer: the reader starts again from now.
    p.missed = true;
    p.last_id = st.last;
    return p;
  }
  const auto from = static_cast<std::size_t>(after + 1 - oldest);
  const std::size_t n = std::min(max, st.events.size() - from);
  p.events.reserve(n);
  for (std::size_t i = from; i < from + n; ++i) p.events.push_back(st.events[i]);
  p.last_id = p.events.empty() ? after : p.events.back().id;
  p.more = from + n < st.events.size();
  return p;
}

event_feed::subscription event_feed::subscribe(std::function<void()> wake) const {
  state& st = *state_;
  const std::lock_guard lock{st.wake_mutex};
  const std::uint64_t id = st.next_wake++;
  st.wakes.emplace_back(id, std::move(wake));
  return subscription{state_, id};
}

event_feed::subscription::subscription(std::shared_ptr<void> state, std::uint64_t id) noexcept
    : state_(std::move(state)), id_(id) {}

event_feed::subscription::~subscription() {
  if (state_) static_cast<event_feed::state*>(state_.get())->unsubscribe(id_);
}

event_feed::subscription::subscription(subscription&& other) noexcept
    : state_(std::move(other.state_)), id_(other.id_) {}

event_feed::subscription& event_feed::subscription::operator=(subscription&& other) noexcept {
  if (this != &other) {
    if (state_) static_cast<event_feed::state*>(state_.get())->unsubscribe(id_);
    state_ = std::move(other.state_);
    id_ = other.id_;
  }
  return *this;
}

}  // namespace vitals::http
