// The history engine (docs/history.md): a single writer thread, batched transactions, rollups
// per minute (a row per target-hour), per hour (a row per target-day) and per day (a row per
// target-day, with running totals so that uptime over days is two index reads per target),
// over a store (store.hpp): SQLite or PostgreSQL.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "bucket.hpp"
#include "store.hpp"
#include "vitals/history.hpp"
#include "vitals/snapshot.hpp"

namespace vitals {
namespace {

using history_detail::bucket;
using history_detail::rollup;
using history_detail::store_error;
using std::chrono::system_clock;

constexpr std::int64_t minute_s = 60;
constexpr std::int64_t hour_s = 3600;
constexpr std::int64_t day_s = 86400;

std::int64_t floor_to(std::int64_t t, std::int64_t unit) {
  const std::int64_t q = t / unit;
  return (q * unit > t ? q - 1 : q) * unit;
}

std::int64_t unix_s(system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Times of results, transitions and incidents are stored as milliseconds since the epoch.
std::int64_t unix_ms(system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

struct item {
  bool transition = false;
  std::string name;
  std::int64_t t_ms = 0;
  status result = status::unknown;  // the run's result, or the transition's new status
  status from = status::unknown;
  failure_kind kind = failure_kind::none;
  std::int64_t duration_us = 0;
  std::string output;
};

// A run waiting for the next write of its target's rows.
struct pending_run {
  std::uint32_t latency_us = 0;
  std::uint8_t minute = 0;  // of its hour
  std::uint8_t hour = 0;    // of its day
  bool failed = false;
};

// What the writer keeps of a target: the rows of its current hour and day as last written,
// still encoded (in memory a bucket costs what it costs on disk: ~1.5 KB a target), and the
// runs since; a write decodes, adds and encodes again.
struct target_state {
  std::int64_t id = 0;
  std::int64_t hour = std::numeric_limits<std::int64_t>::min();
  std::int64_t day = std::numeric_limits<std::int64_t>::min();
  std::string minutes;  // 60 buckets of `hour`
  std::string hours;    // 24 buckets of `day`
  std::string today;    // the bucket of `day`
  std::vector<pending_run> runs;
  std::uint64_t today_count = 0;  // runs of `day`, written and pending
  std::uint64_t today_failures = 0;
  std::uint64_t cum_count_before = 0;  // every run before `day`
  std::uint64_t cum_failures_before = 0;
  std::uint64_t raw = 0;  // raw result rows kept (trimmed past raw_per_target + slack)
  [[nodiscard]] bool dirty() const noexcept { return !runs.empty(); }
};

template <std::size_t N>
history_detail::totals totals_of(const std::array<bucket, N>& b) {
  history_detail::totals t;
  for (const auto& x : b) t.count += x.count, t.failures += x.failures;
  return t;
}

// Decodes a row's buckets (an empty or unreadable row is empty buckets).
template <std::size_t N>
std::array<bucket, N> cells_of(const std::string& blob) {
  std::array<bucket, N> cells{};
  if (!blob.empty() && !history_detail::decode(blob, cells)) cells = {};
  return cells;
}

// Sums the buckets of rows (hour rows of minutes, day rows of hours) that start at or after
// `lo` seconds.
template <std::size_t N>
void sum_cells(std::string_view data, std::int64_t row, std::int64_t unit, std::int64_t lo,
               uptime_window& w) {
  std::array<bucket, N> cells{};
  if (!history_detail::decode_totals(data, cells)) return;
  for (std::size_t i = 0; i < N; ++i) {
    if (row + static_cast<std::int64_t>(i) * unit < lo) continue;
    w.count += cells[i].count;
    w.failures += cells[i].failures;
  }
}

// The uptime windows, in order; the first two count minute and hour buckets, the others whole
// days.
struct window_spec {
  const char* name;
  std::int64_t days;  // 0: minutes (1h) or hours (24h)
};
constexpr std::array<window_spec, 5> windows{
    {{"1h", 0}, {"24h", 0}, {"7d", 7}, {"30d", 30}, {"365d", 365}}};

target_uptime empty_uptime(std::string name) {
  target_uptime u{.target = std::move(name)};
  for (const auto& spec : windows) u.windows.push_back({.window = spec.name});
  return u;
}

}  // namespace

struct results_history::impl {
  history_options options;
  std::unique_ptr<history_detail::store> db;

  // Producer side (observer thread) -> writer.
  mutable std::mutex mu;
  std::condition_variable cv;
  std::condition_variable flushed;
  std::deque<item> pending;
  bool stopping = false;
  std::uint64_t flush_requests = 0;
  std::uint64_t flushes_done = 0;

  // Figures (mu).
  history_stats figures;

  // Writer thread only.
  std::unique_ptr<history_detail::writer_store> w;
  std::unordered_map<std::string, target_state> targets;
  std::deque<item> retry;  // raw rows of a failed flush
  std::chrono::steady_clock::time_point next_open{};
  unsigned failed_in_a_row = 0;

  // 1 s after a first failure, doubling up to 5 s while the store stays unwritable: a full
  // disk or a lost server costs a retry of the backlog now and then, not every second.
  std::chrono::milliseconds backoff() {
    const unsigned n = std::min(failed_in_a_row++, 3U);
    return std::min<std::chrono::milliseconds>(std::chrono::seconds{1} * (1U << n),
                                               std::chrono::seconds{5});
  }
  std::atomic<std::uint64_t> generation{0};  // bumped when the store was started again

  // Readers.
  mutable std::mutex read_mu;
  mutable std::unique_ptr<history_detail::reader_store> r;
  mutable std::uint64_t reader_generation = ~std::uint64_t{0};
  mutable std::unique_ptr<history_detail::reader_store> own_reader;  // the writer thread's
  mutable std::uint64_t own_generation = ~std::uint64_t{0};

  // The uptime table of every target, recomputed by the writer after a flush while someone
  // asked for it in the last minute (mu).
  std::shared_ptr<const std::vector<target_uptime>> uptime_table;
  std::chrono::steady_clock::time_point uptime_wanted{};

  std::thread writer;

  impl(history_options o, std::unique_ptr<history_detail::store> (*make)(const history_options&))
      : options(std::move(o)) {
    if (options.keep_minutes.count() <= 0 || options.keep_hours.count() <= 0 ||
        options.keep_days.count() <= 0 || options.keep_transitions.count() <= 0) {
      throw std::runtime_error("history: every retention must be positive");
    }
    if (options.flush_interval.count() <= 0) {
      throw std::runtime_error("history: flush_interval must be positive");
    }
    if (options.raw_per_target == 0) options.raw_per_target = 1;
    if (!options.clock) options.clock = real_clock();
    db = make(options);
    try_open();
    writer = std::thread([this] { run(); });
  }

  ~impl() { stop(); }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  // Commits what is pending and joins the writer.
  void stop() {
    {
      const std::lock_guard lock{mu};
      stopping = true;
    }
    cv.notify_all();
    if (writer.joinable()) writer.join();
  }

  // A result's time in ms, or now (by the history's clock) for one the runner left unset.
  [[nodiscard]] std::int64_t stamp(system_clock::time_point t) const {
    return unix_ms(t == system_clock::time_point{} ? options.clock->wall_now() : t);
  }

  void enqueue(item it) {
    const std::lock_guard lock{mu};
    if (pending.size() >= options.max_pending) {
      pending.pop_front();
      ++figures.dropped;
    }
    pending.push_back(std::move(it));
  }

  void note_fault(const std::string& what) {
    const std::lock_guard lock{mu};
    ++figures.faults;
    figures.fault = what;
    figures.standby = false;
  }

  void note_standby() {
    const std::lock_guard lock{mu};
    figures.standby = true;
    figures.fault.clear();
  }

  // Opens (or reopens) the writer's connection; a corrupt store is moved aside.
  bool try_open() {
    if (w) return true;
    if (std::chrono::steady_clock::now() < next_open) return false;
    try {
      w = db->open_writer();
      {
        const std::lock_guard lock{mu};
        figures.standby = false;
      }
      return true;
    } catch (const store_error& e) {
      w.reset();
      if (e.standby) {
        note_standby();
        // Standing by is not failing: the lock is asked for again every few seconds.
        next_open = std::chrono::steady_clock::now() + std::chrono::seconds{2};
        return false;
      }
      if (e.corrupt) {
        move_aside();
        try {
          w = db->open_writer();
          return true;
        } catch (const store_error& again) {
          note_fault(again.what());
        }
      } else {
        note_fault(e.what());
      }
      next_open = std::chrono::steady_clock::now() + backoff();
      return false;
    }
  }

  void move_aside() {
    std::string what = db->move_aside(unix_s(options.clock->wall_now()));
    targets.clear();
    generation.fetch_add(1);
    const std::lock_guard lock{mu};
    ++figures.recovered_files;
    figures.fault = std::move(what);
  }

  void run() {
    std::unique_lock lock{mu};
    while (true) {
      cv.wait_for(lock, options.flush_interval,
                  [&] { return stopping || flush_requests > flushes_done; });
      const bool last = stopping;
      const std::uint64_t asked = flush_requests;
      std::deque<item> batch;
      batch.swap(pending);
      lock.unlock();
      write(std::move(batch));
      refresh_uptimes();
      lock.lock();
      flushes_done = asked;
      flushed.notify_all();
      if (last) return;
    }
  }

  void refresh_uptimes() {
    {
      const std::lock_guard lock{mu};
      if (uptime_wanted == std::chrono::steady_clock::time_point{} ||
          std::chrono::steady_clock::now() - uptime_wanted > std::chrono::minutes{1}) {
        return;
      }
    }
    auto table = std::make_shared<const std::vector<target_uptime>>(
        uptimes(options.clock->wall_now(), true));
    const std::lock_guard lock{mu};
    uptime_table = std::move(table);
  }

  // Tells the store which targets of `batch` are new to the writer (their first results).
  void preload(const std::deque<item>& batch) {
    std::vector<history_detail::first_seen> fresh;
    std::unordered_set<std::string_view> seen;
    for (const item& it : batch) {
      if (targets.contains(it.name) || !seen.insert(it.name).second) continue;
      const std::int64_t t = floor_to(it.t_ms, 1000) / 1000;
      fresh.push_back({.name = it.name, .hour = floor_to(t, hour_s), .day = floor_to(t, day_s)});
    }
    if (!fresh.empty()) w->preload(fresh);
  }

  target_state& state_of(const std::string& name) {
    auto it = targets.find(name);
    if (it != targets.end()) return it->second;
    target_state s;
    std::tie(s.id, s.raw) = w->target(name);
    return targets.emplace(name, std::move(s)).first->second;
  }

  void load_period(target_state& s, std::int64_t hour, std::int64_t day) {
    if (day != s.day) {
      s.day = day;
      s.today.clear();
      s.today_count = s.today_failures = 0;
      s.hours = w->rollup_data(rollup::hours, s.id, day);
      if (auto row = w->day(s.id, day)) {
        s.today = std::move(row->data);
        s.cum_count_before = row->before.count;
        s.cum_failures_before = row->before.failures;
        s.today_count = row->day.count;
        s.today_failures = row->day.failures;
      } else {
        const history_detail::totals before = w->totals_before(s.id, day);
        s.cum_count_before = before.count;
        s.cum_failures_before = before.failures;
      }
    }
    if (hour != s.hour) {
      s.hour = hour;
      s.minutes = w->rollup_data(rollup::minutes, s.id, hour);
    }
  }

  void add_run(target_state& s, const item& it, history_stats& delta) {
    std::int64_t t = floor_to(it.t_ms, 1000) / 1000;
    // A result older than the target's current hour (a clock step back) counts in that hour.
    if (s.hour != std::numeric_limits<std::int64_t>::min() && t < s.hour) t = s.hour;
    const std::int64_t hour = floor_to(t, hour_s);
    const std::int64_t day = floor_to(t, day_s);
    // The rows of a finished hour (or day) are written before its buckets make room.
    if (s.dirty() && (hour != s.hour || day != s.day)) write_rows(s, delta);
    if (day != s.day && s.day != std::numeric_limits<std::int64_t>::min() && day > s.day) {
      // The previous day is complete: its runs join the running totals.
      s.cum_count_before += s.today_count;
      s.cum_failures_before += s.today_failures;
      s.day = day;  // a new day: nothing to load but what another run may have written
      s.hours.clear();
      s.today.clear();
      s.today_count = s.today_failures = 0;
    }
    load_period(s, hour, day);
    const bool failed = it.result == status::fail;
    s.runs.push_back({.latency_us = static_cast<std::uint32_t>(std::clamp<std::int64_t>(
                          it.duration_us, 0, std::numeric_limits<std::uint32_t>::max())),
                      .minute = static_cast<std::uint8_t>((t - hour) / minute_s),
                      .hour = static_cast<std::uint8_t>((t - day) / hour_s),
                      .failed = failed});
    ++s.today_count;
    if (failed) ++s.today_failures;
  }

  void write_rows(target_state& s, history_stats& delta) {
    auto minutes = cells_of<60>(s.minutes);
    auto hours = cells_of<24>(s.hours);
    auto today = cells_of<1>(s.today);
    for (const pending_run& r : s.runs) {
      minutes[r.minute].add(r.latency_us, r.failed);
      hours[r.hour].add(r.latency_us, r.failed);
      today[0].add(r.latency_us, r.failed);
    }
    s.minutes.clear();
    history_detail::encode(minutes, s.minutes);
    s.hours.clear();
    history_detail::encode(hours, s.hours);
    s.today.clear();
    history_detail::encode(today, s.today);
    w->put(rollup::minutes,
           {.target = s.id, .period = s.hour, .own = totals_of(minutes), .data = s.minutes});
    w->put(rollup::hours,
           {.target = s.id, .period = s.day, .own = totals_of(hours), .data = s.hours});
    const history_detail::totals day = totals_of(today);
    w->put(rollup::days, {.target = s.id,
                          .period = s.day,
                          .own = day,
                          .cumulative = {.count = s.cum_count_before + day.count,
                                         .failures = s.cum_failures_before + day.failures},
                          .data = s.today});
    delta.rows_written += 3;
    s.runs.clear();
  }

  void write(std::deque<item> batch) {
    const auto began = std::chrono::steady_clock::now();
    if (!retry.empty()) {
      // Raw rows of a failed flush go first; the bound still holds.
      for (auto& it : batch) retry.push_back(std::move(it));
      batch.swap(retry);
      retry.clear();
      std::uint64_t over = 0;
      while (batch.size() > options.max_pending) batch.pop_front(), ++over;
      if (over > 0) {
        const std::lock_guard lock{mu};
        figures.dropped += over;
      }
    }
    if (!try_open()) {
      bool standby = false;
      {
        const std::lock_guard lock{mu};
        standby = figures.standby;
        if (standby) figures.skipped += batch.size();
      }
      // The writer of the shard keeps the history; a stand-by keeps nothing to write later.
      if (!standby) retry = std::move(batch);
      return;
    }
    history_stats delta;
    try {
      w->begin();
      preload(batch);
      for (const item& it : batch) {
        target_state& s = state_of(it.name);
        if (it.transition) {
          w->put_transition(s.id, it.t_ms, it.from, it.result, it.output);
          if (it.result == status::fail) {
            w->open_incident(s.id, it.t_ms, it.output);
          } else if (it.result != status::unknown) {
            w->close_incident(s.id, it.t_ms);
          }
          continue;
        }
        add_run(s, it, delta);
        w->put_result(s.id, it.t_ms, it.result, it.kind, it.duration_us, it.output);
        ++delta.results_written;
        ++s.raw;
      }
      const std::uint64_t slack = options.raw_per_target / 4 + 1;
      for (auto& [name, s] : targets) {
        if (s.dirty()) write_rows(s, delta);
        if (s.raw > options.raw_per_target + slack) {
          w->trim_results(s.id, options.raw_per_target);
          s.raw = options.raw_per_target;
        }
      }
      w->expire(expiry());
      delta.rows_expired += w->commit();
    } catch (const store_error& e) {
      w->rollback();
      // What the rollback undid is written again: the raw rows from `retry`, the rollups from
      // memory (reloaded, as the ids of new targets may have been rolled back too).
      retry = std::move(batch);
      w.reset();
      if (e.standby) {
        // The lock was lost (a new session after a reconnect found another writer).
        targets.clear();
        note_standby();
        return;
      }
      note_fault(e.what());
      if (e.corrupt) {
        move_aside();
      } else {
        targets.clear();
        next_open = std::chrono::steady_clock::now() + backoff();
      }
      return;
    }
    std::uint64_t bytes = 0;
    try {
      bytes = db->bytes(*w);
    } catch (const store_error&) {
      // The size is a figure, not a write: the next flush tells whether the store is fine.
    }
    failed_in_a_row = 0;
    const std::lock_guard lock{mu};
    ++figures.flushes;
    figures.results_written += delta.results_written;
    figures.rows_written += delta.rows_written;
    figures.rows_expired += delta.rows_expired;
    figures.last_flush = std::chrono::steady_clock::now() - began;
    figures.file_bytes = bytes;
    figures.fault.clear();  // a moved-aside file stays counted in recovered_files
  }

  [[nodiscard]] history_detail::expiry expiry() const {
    const std::int64_t now = unix_s(options.clock->wall_now());
    const auto cutoff = [&](std::chrono::hours keep) {
      return now - std::chrono::duration_cast<std::chrono::seconds>(keep).count();
    };
    return {.minutes_before = floor_to(cutoff(options.keep_minutes), hour_s),
            .hours_before = floor_to(cutoff(options.keep_hours), day_s),
            .days_before = floor_to(cutoff(options.keep_days), day_s),
            .events_before_ms = cutoff(options.keep_transitions) * 1000};
  }

  // --- reading ------------------------------------------------------------------------------

  // Runs `fn(reader_store&)` on a reading connection: the API's (any thread, one at a time) or
  // the writer's own (the writer thread only, for the uptime table); an unreadable store reads
  // as empty.
  template <class T, class Fn>
  T read(Fn&& fn, bool writer_side = false) const {
    std::unique_lock<std::mutex> lock{read_mu, std::defer_lock};
    if (!writer_side) lock.lock();
    auto& conn = writer_side ? own_reader : r;
    auto& seen = writer_side ? own_generation : reader_generation;
    try {
      const std::uint64_t gen = generation.load();
      if (!conn || gen != seen) {
        conn.reset();
        conn = db->open_reader();
        seen = gen;
      }
      return fn(*conn);
    } catch (const store_error&) {
      conn.reset();
      return T{};
    }
  }

  [[nodiscard]] std::vector<target_uptime> uptimes(system_clock::time_point now,
                                                   bool writer_side) const {
    const std::int64_t t = unix_s(now);
    return read<std::vector<target_uptime>>(
        [&](history_detail::reader_store& d) {
          std::vector<target_uptime> out;
          std::vector<std::int64_t> ids;  // of out[i]
          d.names([&](std::int64_t id, std::string_view name) {
            ids.push_back(id);
            out.push_back(empty_uptime(std::string{name}));
          });
          // Ids are dense (rowids, a sequence), so a vector maps them to their row of `out`.
          std::vector<std::int32_t> slot;
          for (std::size_t i = 0; i < ids.size(); ++i) {
            if (ids[i] < 0 || ids[i] > std::int64_t{1} << 24) continue;  // never, but bounded
            const auto at = static_cast<std::size_t>(ids[i]);
            if (at >= slot.size()) slot.resize(at + 1, -1);
            slot[at] = static_cast<std::int32_t>(i);
          }
          const auto index_of = [&](std::int64_t id) -> std::int32_t {
            return id >= 0 && static_cast<std::uint64_t>(id) < slot.size()
                       ? slot[static_cast<std::size_t>(id)]
                       : -1;
          };
          const auto row_of = [&](std::int64_t id) -> target_uptime* {
            const std::int32_t i = index_of(id);
            return i < 0 ? nullptr : &out[static_cast<std::size_t>(i)];
          };
          const std::int64_t minute_lo = floor_to(t, minute_s) - 59 * minute_s;
          d.rows_since(rollup::minutes, floor_to(minute_lo, hour_s),
                       [&](std::int64_t id, std::int64_t hour, std::string_view data) {
                         if (auto* u = row_of(id)) {
                           sum_cells<60>(data, hour, minute_s, minute_lo, u->windows[0]);
                         }
                       });
          const std::int64_t hour_lo = floor_to(t, hour_s) - 23 * hour_s;
          d.rows_since(rollup::hours, floor_to(hour_lo, day_s),
                       [&](std::int64_t id, std::int64_t day, std::string_view data) {
                         if (auto* u = row_of(id)) {
                           sum_cells<24>(data, day, hour_s, hour_lo, u->windows[1]);
                         }
                       });
          // Whole days: the running totals of today's row minus those of the day before the
          // window. A target without a row on that exact day (the monitor was down, or the
          // target is newer) is looked up alone.
          const std::int64_t today = floor_to(t, day_s);
          const std::int64_t first_day =
              d.first_day().value_or(std::numeric_limits<std::int64_t>::max());
          const auto totals_at = [&](std::int64_t day, bool inclusive) {
            std::vector<history_detail::totals> cum(out.size());
            std::vector<bool> seen(out.size(), false);
            if (!inclusive && day - day_s < first_day) return cum;  // nothing before the window
            const std::int64_t exact = inclusive ? day : day - day_s;
            d.totals_on(exact, [&](std::int64_t id, history_detail::totals at) {
              const std::int32_t i = index_of(id);
              if (i < 0) return;
              cum[static_cast<std::size_t>(i)] = at;
              seen[static_cast<std::size_t>(i)] = true;
            });
            for (std::size_t i = 0; i < ids.size(); ++i) {
              if (!seen[i]) cum[i] = d.totals_at(ids[i], exact);
            }
            return cum;
          };
          const auto now_totals = totals_at(today, true);
          for (std::size_t w = 2; w < windows.size(); ++w) {
            const auto before = totals_at(today - (windows[w].days - 1) * day_s, false);
            for (std::size_t i = 0; i < out.size(); ++i) {
              const auto [nc, nf] = now_totals[i];
              const auto [bc, bf] = before[i];
              out[i].windows[w].count = nc - std::min(bc, nc);
              out[i].windows[w].failures = nf - std::min(bf, nf);
            }
          }
          return out;
        },
        writer_side);
  }
};

results_history::results_history(std::unique_ptr<impl> engine) : impl_(std::move(engine)) {}

results_history::~results_history() { impl_->stop(); }

sqlite_history::sqlite_history(history_options options)
    : results_history(
          std::make_unique<impl>(std::move(options), &history_detail::make_sqlite_store)) {}

postgres_history::postgres_history(history_options options)
    : results_history(
          std::make_unique<impl>(std::move(options), &history_detail::make_postgres_store)) {}

std::string results_history::where() const { return impl_->db->where(); }

void results_history::on_result(const check_state& state) {
  const result& r = state.last_run;
  impl_->enqueue(
      item{.name = state.name,
           .t_ms = impl_->stamp(r.time),
           .result = r.status,
           .kind = r.kind,
           .duration_us = std::chrono::duration_cast<std::chrono::microseconds>(r.duration).count(),
           .output = r.output});
}

void results_history::on_transition(const check_state& state, status from, status to) {
  impl_->enqueue(item{.transition = true,
                      .name = state.name,
                      .t_ms = impl_->stamp(state.reported.time),
                      .result = to,
                      .from = from,
                      .output = state.reported.output});
}

void results_history::flush() {
  std::unique_lock lock{impl_->mu};
  const std::uint64_t ticket = ++impl_->flush_requests;
  impl_->cv.notify_all();
  impl_->flushed.wait(lock, [&] { return impl_->flushes_done >= ticket || impl_->stopping; });
}

history_stats results_history::stats() const {
  const std::lock_guard lock{impl_->mu};
  return impl_->figures;
}

std::vector<history_bucket> results_history::buckets(std::string_view target,
                                                     history_resolution resolution,
                                                     system_clock::time_point from,
                                                     system_clock::time_point to) const {
  const std::int64_t lo = unix_s(from);
  const std::int64_t hi = unix_s(to);
  return impl_->read<std::vector<history_bucket>>([&](history_detail::reader_store& d) {
    std::vector<history_bucket> out;
    const auto id = d.id_of(target);
    if (!id || hi <= lo) return out;
    const auto collect = [&](rollup level, std::int64_t row_unit, std::int64_t unit, auto& cells) {
      d.rows(level, *id, floor_to(lo, row_unit), hi,
             [&](std::int64_t, std::int64_t row, std::string_view data) {
               if (!history_detail::decode(data, cells)) return;
               for (std::size_t i = 0; i < cells.size(); ++i) {
                 const std::int64_t start = row + static_cast<std::int64_t>(i) * unit;
                 if (cells[i].count == 0 || start < lo || start >= hi) continue;
                 out.push_back(cells[i].view(start, unit));
               }
             });
    };
    switch (resolution) {
      case history_resolution::minute: {
        std::array<bucket, 60> cells{};
        collect(rollup::minutes, hour_s, minute_s, cells);
        break;
      }
      case history_resolution::hour: {
        std::array<bucket, 24> cells{};
        collect(rollup::hours, day_s, hour_s, cells);
        break;
      }
      case history_resolution::day: {
        std::array<bucket, 1> cells{};
        collect(rollup::days, day_s, day_s, cells);
        break;
      }
    }
    return out;
  });
}

std::optional<target_uptime> results_history::uptime(std::string_view target,
                                                     system_clock::time_point now) const {
  const std::int64_t t = unix_s(now);
  return impl_->read<std::optional<target_uptime>>(
      [&](history_detail::reader_store& d) -> std::optional<target_uptime> {
        const auto id = d.id_of(target);
        if (!id) return std::nullopt;
        target_uptime u = empty_uptime(std::string{target});
        const std::int64_t minute_lo = floor_to(t, minute_s) - 59 * minute_s;
        d.rows(rollup::minutes, *id, floor_to(minute_lo, hour_s), t + 1,
               [&](std::int64_t, std::int64_t hour, std::string_view data) {
                 sum_cells<60>(data, hour, minute_s, minute_lo, u.windows[0]);
               });
        const std::int64_t hour_lo = floor_to(t, hour_s) - 23 * hour_s;
        d.rows(rollup::hours, *id, floor_to(hour_lo, day_s), t + 1,
               [&](std::int64_t, std::int64_t day, std::string_view data) {
                 sum_cells<24>(data, day, hour_s, hour_lo, u.windows[1]);
               });
        const std::int64_t today = floor_to(t, day_s);
        const history_detail::totals now_totals = d.totals_at(*id, today);
        for (std::size_t i = 2; i < windows.size(); ++i) {
          // The latest row strictly before the window's first day.
          const history_detail::totals before = d.totals_at(*id, today - windows[i].days * day_s);
          u.windows[i].count = now_totals.count - std::min(before.count, now_totals.count);
          u.windows[i].failures =
              now_totals.failures - std::min(before.failures, now_totals.failures);
        }
        return u;
      });
}

std::shared_ptr<const std::vector<target_uptime>> results_history::latest_uptimes() const {
  {
    const std::lock_guard lock{impl_->mu};
    impl_->uptime_wanted = std::chrono::steady_clock::now();
    if (impl_->uptime_table) return impl_->uptime_table;
  }
  // The first request computes it (the writer keeps it fresh from then on).
  auto table = std::make_shared<const std::vector<target_uptime>>(
      impl_->uptimes(impl_->options.clock->wall_now(), false));
  const std::lock_guard lock{impl_->mu};
  if (!impl_->uptime_table) impl_->uptime_table = table;
  return impl_->uptime_table;
}

std::vector<target_uptime> results_history::uptimes(system_clock::time_point now) const {
  return impl_->uptimes(now, false);
}

std::vector<history_result> results_history::recent(std::string_view target,
                                                    std::size_t limit) const {
  return impl_->read<std::vector<history_result>>([&](history_detail::reader_store& d) {
    const auto id = d.id_of(target);
    if (!id || limit == 0) return std::vector<history_result>{};
    return d.recent(*id, limit);
  });
}

std::vector<history_transition> results_history::transitions(std::string_view target,
                                                             system_clock::time_point from,
                                                             system_clock::time_point to,
                                                             std::size_t limit) const {
  return impl_->read<std::vector<history_transition>>([&](history_detail::reader_store& d) {
    const auto id = d.id_of(target);
    if (!id || limit == 0) return std::vector<history_transition>{};
    return d.transitions(*id, unix_ms(from), unix_ms(to), limit);
  });
}

std::vector<history_incident> results_history::incidents(system_clock::time_point from,
                                                         system_clock::time_point to,
                                                         std::string_view target,
                                                         std::size_t limit) const {
  return impl_->read<std::vector<history_incident>>([&](history_detail::reader_store& d) {
    if (limit == 0) return std::vector<history_incident>{};
    return d.incidents(unix_ms(from), unix_ms(to), target, limit);
  });
}

}  // namespace vitals
