// The dispatcher: per-notifier alert state machines (for, grouping, reminders, maintenance, rate
// limit) under one lock, and per-notifier delivery workers (queue, thread, retries) that never
// take it, so that a dead endpoint only fills its own queue.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include "notify/state_file.hpp"
#include "vitals/notify.hpp"

namespace vitals::notify {

namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// A subject (check or probe) as one notifier sees it.
struct subject_state {
  enum class phase : std::uint8_t { pending, firing } ph = phase::pending;
  steady_time since{};      // first failure (pending)
  steady_time last_sent{};  // latest announcement or reminder
  bool announced = false;   // its failure was sent: a recovery is worth telling
  alert last{};
};

class worker {
 public:
  worker(notifier_spec spec, const dispatcher_options& o, const std::vector<std::string>& extra)
      : spec_(std::move(spec)), sleep_(o.sleep), random_(o.random), log_(o.log) {
    for (const auto& s : extra) red_.add_secret(s);
    if (spec_.channel) {
      for (auto& s : spec_.channel->secrets()) red_.add_secret(std::move(s));
    }
    if (!random_) {
      random_ = [gen = std::mt19937_64{std::random_device{}()}]() mutable {
        return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
      };
    }
    thread_ = std::thread([this] { run(); });
  }
  ~worker() { stop(); }
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  const notifier_spec& spec() const noexcept { return spec_; }
  const redactor& red() const noexcept { return red_; }

  void push(message m) {
    std::lock_guard lk(mu_);
    if (stopping_ || queue_.size() >= std::max<std::size_t>(spec_.delivery.queue, 1)) {
      ++stats_.dropped;
      return;
    }
    queue_.push_back(std::move(m));
    cv_.notify_all();
  }
  void count_drop() {
    std::lock_guard lk(mu_);
    ++stats_.dropped;
  }
  void flush() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return stopping_ || (queue_.empty() && !busy_); });
  }
  void stop() {
    {
      std::lock_guard lk(mu_);
      if (stopping_ && !thread_.joinable()) return;
      stopping_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }
  notifier_stats stats() const {
    std::lock_guard lk(mu_);
    notifier_stats s = stats_;
    s.name = spec_.name;
    s.queue_length = queue_.size();
    return s;
  }

 private:
  void wait(nanoseconds d) {
    if (sleep_) {
      sleep_(d);
      return;
    }
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, d, [&] { return stopping_; });
  }

  nanoseconds backoff(std::uint32_t retry) {
    const auto& d = spec_.delivery;
    nanoseconds b = d.backoff;
    for (std::uint32_t i = 1; i < retry && b < d.max_backoff; ++i) b *= 2;
    b = std::min<nanoseconds>(b, d.max_backoff);
    const double f = 0.5 + std::clamp(random_(), 0.0, 1.0);  // ±50 %
    return nanoseconds{static_cast<std::int64_t>(static_cast<double>(b.count()) * f)};
  }

  void deliver(const message& m) {
    bool ok = false;
    for (std::uint32_t attempt = 0; attempt <= spec_.delivery.retries; ++attempt) {
      if (attempt > 0) {
        wait(backoff(attempt));
        std::lock_guard lk(mu_);
        if (stopping_) break;
      }
      delivery d;
      try {
        // Channels do real I/O: their deadline is on the real clock, whatever the test clock.
        d = spec_.channel
                ? spec_.channel->send(m, std::chrono::steady_clock::now() + spec_.delivery.timeout)
                : delivery{.ok = false, .error = "no channel", .permanent = true};
      } catch (const std::exception& e) {
        d = {.ok = false, .error = e.what()};
      } catch (...) {
        d = {.ok = false, .error = "unknown exception"};
      }
      std::lock_guard lk(mu_);
      if (d.ok) {
        ++stats_.sent_ok;
        ok = true;
        break;
      }
      ++stats_.sent_error;
      if (log_) {
        log_(spec_.name,
             red_.scrub("attempt " + std::to_string(attempt + 1) + " failed: " + d.error));
      }
      if (d.permanent) break;
    }
    if (!ok) {
      std::lock_guard lk(mu_);
      ++stats_.dropped;
    }
  }

  void run() {
    std::unique_lock lk(mu_);
    for (;;) {
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      message m = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      lk.unlock();
      deliver(m);
      lk.lock();
      busy_ = false;
      cv_.notify_all();
    }
    busy_ = false;
    cv_.notify_all();
  }

  notifier_spec spec_;
  redactor red_{};
  std::function<void(nanoseconds)> sleep_;
  std::function<double()> random_;
  std::function<void(std::string_view, std::string_view)> log_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<message> queue_{};
  bool busy_ = false;
  bool stopping_ = false;
  notifier_stats stats_{};
  std::thread thread_{};
};

// The alert state of one notifier. Guarded by the dispatcher's lock.
// Alerts waiting for their grouping window to end.
struct pending_group {
  std::vector<alert> alerts{};
  steady_time deadline{};
};

struct route_state {
  std::map<std::string, subject_state> subjects{};
  /// By target group with group_by_target_group, else one under "".
  std::map<std::string, pending_group> groups{};
  std::deque<steady_time> recent{};  // sends within rate_window

  /// Drops the waiting alerts of `key` that `pred` selects; true if one was dropped.
  template <class Pred>
  bool drop_waiting(Pred pred) {
    bool any = false;
    for (auto& [name, g] : groups) any = std::erase_if(g.alerts, pred) > 0 || any;
    return any;
  }
};

bool failing(status s) noexcept { return s == status::fail; }

}  // namespace

bool glob_match(std::string_view p, std::string_view t) noexcept {
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi, ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

struct dispatcher::impl {
  explicit impl(dispatcher_options o) : options(std::move(o)) {
    if (!options.clock) options.clock = real_clock();
    std::vector<std::string> extra = options.secrets;
    for (const auto& spec : options.notifiers) {
      for (const auto& w : spec.route.maintenance) {
        if (auto why = w.error(); !why.empty()) {
          throw std::invalid_argument("notifier " + spec.name + ": maintenance \"" + w.every +
                                      "\": " + why);
        }
      }
    }
    for (auto& spec : options.notifiers) {
      workers.push_back(std::make_unique<worker>(spec, options, extra));
      routes.emplace_back();
    }
    load_state();
    if (options.tick.count() > 0) {
      ticker = std::thread([this] {
        std::unique_lock lk(tick_mu);
        while (!tick_stop) {
          tick_cv.wait_for(lk, options.tick, [&] { return tick_stop; });
          if (tick_stop) break;
          lk.unlock();
          poll();
          lk.lock();
        }
      });
    }
  }

  bool routed(const route_options& r, const alert& a) const {
    if (r.critical_only && !a.critical) return false;
    if (a.subject == subject_kind::probe) {
      return std::any_of(r.probes.begin(), r.probes.end(),
                         [&](probe p) { return to_string(p) == a.name; });
    }
    if (!r.groups.empty() &&
        std::none_of(r.groups.begin(), r.groups.end(), [&](const std::string& g) {
          return !a.group.empty() && glob_match(g, a.group);
        })) {
      return false;
    }
    if (r.checks.empty()) return true;
    return std::any_of(r.checks.begin(), r.checks.end(),
                       [&](const std::string& g) { return glob_match(g, a.name); });
  }

  bool in_maintenance(const route_options& r, wall_time t) const {
    return std::any_of(r.maintenance.begin(), r.maintenance.end(),
                       [&](const maintenance_window& w) { return w.contains(t); });
  }

  void add_to_group(route_state& rs, const route_options& r, alert a, steady_time now) {
    pending_group& g = rs.groups[r.group_by_target_group ? a.group : std::string{}];
    if (g.alerts.empty()) g.deadline = now + r.group_wait;
    g.alerts.push_back(std::move(a));
  }

  // One transition for one notifier.
  void handle(std::size_t i, const alert& a, steady_time now) {
    const auto& r = workers[i]->spec().route;
    auto& rs = routes[i];
    const std::string key = a.key();
    auto it = rs.subjects.find(key);
    if (failing(a.to)) {
      if (it == rs.subjects.end()) {
        rs.subjects.emplace(key, subject_state{.since = now, .last = a});
      } else {
        // Still failing (e.g. after a restart, or warn → fail): refresh what is told next.
        const status first_from = it->second.last.from;
        it->second.last = a;
        it->second.last.from = first_from;
      }
      return;
    }
    if (a.to == status::unknown || it == rs.subjects.end()) return;
    const bool announced = it->second.announced;
    rs.subjects.erase(it);
    dirty = dirty || announced;
    if (!announced || !r.send_on_resolved) return;
    // Its failure is still waiting in the group: neither is worth sending.
    if (rs.drop_waiting([&](const alert& g) { return g.key() == key && !g.resolved(); })) return;
    if (in_maintenance(r, a.time)) return;
    add_to_group(rs, r, a, now);
  }

  // Time-driven work for one notifier.
  void process(std::size_t i, steady_time now, wall_time wall) {
    const auto& r = workers[i]->spec().route;
    auto& rs = routes[i];
    const bool silent = in_maintenance(r, wall);
    for (auto& [key, st] : rs.subjects) {
      if (st.ph == subject_state::phase::pending && now - st.since >= r.for_duration) {
        st.ph = subject_state::phase::firing;
      }
      if (st.ph != subject_state::phase::firing || silent) continue;
      if (!st.announced) {
        st.announced = true;
        st.last_sent = now;
        dirty = true;
        add_to_group(rs, r, st.last, now);
      } else if (r.repeat_every.count() > 0 && now - st.last_sent >= r.repeat_every) {
        st.last_sent = now;
        alert a = st.last;
        a.reminder = true;
        a.time = wall;
        add_to_group(rs, r, std::move(a), now);
      }
    }
    for (auto it = rs.groups.begin(); it != rs.groups.end();) {
      if (it->second.alerts.empty()) {
        it = rs.groups.erase(it);
        continue;
      }
      if (now < it->second.deadline) {
        ++it;
        continue;
      }
      message m{.alerts = std::move(it->second.alerts)};
      it = rs.groups.erase(it);
      if (!silent) send(i, std::move(m), now);
    }
  }

  // A message whose grouping window ended: rate limit, scrubbing, the notifier's queue.
  void send(std::size_t i, message m, steady_time now) {
    const auto& r = workers[i]->spec().route;
    auto& rs = routes[i];
    if (r.rate_limit > 0) {
      while (!rs.recent.empty() && now - rs.recent.front() >= r.rate_window) rs.recent.pop_front();
      if (rs.recent.size() >= r.rate_limit) {
        workers[i]->count_drop();
        return;
      }
      rs.recent.push_back(now);
    }
    const auto& link = workers[i]->spec().link;
    for (auto& a : m.alerts) {
      a.output = workers[i]->red().scrub(a.output);
      if (!link.empty()) a.link = link;
    }
    workers[i]->push(std::move(m));
  }

  void on_alert(const alert& a) {
    std::lock_guard lk(mu);
    if (stopped) return;
    const auto now = options.clock->now();
    const auto wall = options.clock->wall_now();
    for (std::size_t i = 0; i < workers.size(); ++i) {
      if (!routed(workers[i]->spec().route, a)) continue;
      handle(i, a, now);
      process(i, now, wall);
    }
    save_state();
  }

  void poll() {
    std::lock_guard lk(mu);
    if (stopped) return;
    const auto now = options.clock->now();
    const auto wall = options.clock->wall_now();
    for (std::size_t i = 0; i < workers.size(); ++i) process(i, now, wall);
    save_state();
  }

  void keep_only(const std::vector<std::string>& checks) {
    std::lock_guard lk(mu);
    if (stopped) return;
    const auto now = options.clock->now();
    const auto wall = options.clock->wall_now();
    std::set<std::string> keep;
    for (const auto& c : checks) keep.insert("check:" + c);
    for (std::size_t i = 0; i < workers.size(); ++i) {
      const auto& r = workers[i]->spec().route;
      auto& rs = routes[i];
      for (auto it = rs.subjects.begin(); it != rs.subjects.end();) {
        if (it->second.last.subject != subject_kind::check || keep.count(it->first) != 0) {
          ++it;
          continue;
        }
        alert a = it->second.last;
        const bool announced = it->second.announced;
        const std::string key = it->first;
        it = rs.subjects.erase(it);
        dirty = dirty || announced;
        rs.drop_waiting([&](const alert& g) { return g.key() == key; });
        if (!announced || !r.send_on_resolved || in_maintenance(r, wall)) continue;
        a.from = a.to;
        a.to = status::unknown;
        a.kind = failure_kind::none;
        a.output.clear();
        a.reminder = false;
        a.removed = true;
        a.time = wall;
        add_to_group(rs, r, std::move(a), now);
      }
      process(i, now, wall);
    }
    save_state();
  }

  alert make_alert(subject_kind k, std::string name, status from, status to) const {
    return alert{.subject = k,
                 .name = std::move(name),
                 .from = from,
                 .to = to,
                 .time = options.clock->wall_now(),
                 .service_id = options.info.service_id,
                 .version = options.info.version,
                 .link = options.link};
  }

  // Only announced alerts are kept: a pending one starts over after a restart.
  std::vector<saved_alert> announced() const {
    std::vector<saved_alert> saved;
    for (std::size_t i = 0; i < workers.size(); ++i) {
      for (const auto& [key, st] : routes[i].subjects) {
        if (st.announced) saved.push_back({workers[i]->spec().name, st.last});
      }
    }
    return saved;
  }

  void save_state() {
    if (!dirty || options.state_file.empty()) return;
    dirty = false;
    const auto saved = announced();
    if (auto err = write_state_file(options.state_file, saved); !err.empty() && options.log) {
      options.log("", "cannot write the notification state: " + err);
    }
  }

  void load_state() {
    std::vector<saved_alert> saved;
    if (!options.state_file.empty()) {
      std::string err;
      saved = read_state_file(options.state_file, err);
      if (!err.empty() && options.log) options.log("", "notification state ignored: " + err);
    }
    for (auto& s : options.seed) saved.push_back(s);
    dirty = !options.seed.empty();
    const auto now = options.clock->now();
    for (auto& s : saved) {
      for (std::size_t i = 0; i < workers.size(); ++i) {
        if (workers[i]->spec().name != s.notifier) continue;
        s.alert.service_id = options.info.service_id;
        s.alert.version = options.info.version;
        s.alert.link = options.link;
        routes[i].subjects[s.alert.key()] = subject_state{.ph = subject_state::phase::firing,
                                                          .since = now,
                                                          .last_sent = now,
                                                          .announced = true,
                                                          .last = s.alert};
      }
    }
  }

  void stop() {
    {
      // Nothing is decided or written after this: a successor owns the state file.
      std::lock_guard lk(mu);
      stopped = true;
    }
    {
      std::lock_guard lk(tick_mu);
      tick_stop = true;
      tick_cv.notify_all();
    }
    if (ticker.joinable()) ticker.join();
    for (auto& w : workers) w->stop();
  }

  dispatcher_options options;
  std::vector<std::unique_ptr<worker>> workers{};
  std::mutex mu;
  std::vector<route_state> routes{};  // guarded by mu, one per worker
  bool dirty = false;                 // guarded by mu: the announced set changed
  bool stopped = false;               // guarded by mu
  std::mutex tick_mu;
  std::condition_variable tick_cv;
  bool tick_stop = false;
  std::thread ticker{};
};

dispatcher::dispatcher(dispatcher_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

dispatcher::~dispatcher() { impl_->stop(); }

void dispatcher::on_transition(const check_state& state, status from, status to) {
  alert a = impl_->make_alert(subject_kind::check, state.name, from, to);
  if (impl_->options.group_of) a.group = impl_->options.group_of(state.name);
  a.kind = state.reported.kind;
  a.output = state.reported.output;
  a.critical = state.options.critical;
  impl_->on_alert(a);
}

void dispatcher::on_probe(probe p, status from, status to) {
  impl_->on_alert(impl_->make_alert(subject_kind::probe, std::string(to_string(p)), from, to));
}

void dispatcher::keep_only(const std::vector<std::string>& checks) { impl_->keep_only(checks); }

void dispatcher::poll() { impl_->poll(); }

void dispatcher::flush() {
  for (auto& w : impl_->workers) w->flush();
}

void dispatcher::stop() { impl_->stop(); }

std::vector<announced_alert> dispatcher::announced() const {
  std::lock_guard lk(impl_->mu);
  return impl_->announced();
}

std::vector<notifier_stats> dispatcher::stats() const {
  std::vector<notifier_stats> out;
  out.reserve(impl_->workers.size());
  for (const auto& w : impl_->workers) out.push_back(w->stats());
  return out;
}

}  // namespace vitals::notify
