// The SQLite history (docs/history.md): a single writer thread, batched transactions, rollups
// per minute (a row per target-hour), per hour (a row per target-day) and per day (a row per
// target-day, with running totals so that uptime over days is two index reads per target).
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>

#include "bucket.hpp"
#include "sqlite_api.hpp"
#include "vitals/history.hpp"
#include "vitals/snapshot.hpp"

namespace vitals {
namespace {

using history_detail::bucket;
using std::chrono::system_clock;

constexpr std::int64_t minute_s = 60;
constexpr std::int64_t hour_s = 3600;
constexpr std::int64_t day_s = 86400;
constexpr int expire_batch = 2000;  // rows per table and flush

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

system_clock::time_point from_ms(std::int64_t ms) {
  return system_clock::time_point{std::chrono::milliseconds{ms}};
}

// A failed SQLite call, with its primary code (corruption is told apart from a full disk).
struct db_error : std::runtime_error {
  int code;
  db_error(int rc, const std::string& what) : std::runtime_error(what), code(rc & 0xff) {}
  [[nodiscard]] bool corrupt() const noexcept {
    return code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
  }
};

// The loaded library: set by need_sqlite() before any connection exists, so every other call
// finds it.
std::atomic<const history_detail::sqlite_api*> loaded_api{nullptr};

const history_detail::sqlite_api& sql() noexcept {
  return *loaded_api.load(std::memory_order_acquire);
}

// Loads libsqlite3 (once); a failure is a fault like a missing file.
void need_sqlite() {
  if (loaded_api.load(std::memory_order_acquire) != nullptr) return;
  std::string why;
  const history_detail::sqlite_api* api = history_detail::load_sqlite(why);
  if (api == nullptr) throw db_error{SQLITE_ERROR, why};
  loaded_api.store(api, std::memory_order_release);
}

struct db_closer {
  void operator()(sqlite3* db) const noexcept { sql().close_v2(db); }
};
using db_ptr = std::unique_ptr<sqlite3, db_closer>;

[[noreturn]] void raise(sqlite3* db, int rc, std::string_view doing) {
  std::string what{doing};
  what += ": ";
  what += db != nullptr ? sql().errmsg(db) : sql().errstr(rc);
  throw db_error{rc, what};
}

void exec(sqlite3* db, const char* text) {
  char* err = nullptr;
  const int rc = sql().exec(db, text, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string what = err != nullptr ? err : sql().errstr(rc);
    sql().free(err);
    throw db_error{rc, what};
  }
}

// A prepared statement, reset after each use.
class stmt {
 public:
  stmt(sqlite3* db, const char* text) : db_(db) {
    const int rc = sql().prepare_v3(db, text, -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr);
    if (rc != SQLITE_OK) raise(db, rc, "prepare");
  }
  ~stmt() { sql().finalize(s_); }
  stmt(const stmt&) = delete;
  stmt& operator=(const stmt&) = delete;

  stmt& bind(int i, std::int64_t v) {
    check(sql().bind_int64(s_, i, v));
    return *this;
  }
  stmt& bind(int i, std::string_view v) {
    check(sql().bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  stmt& blob(int i, std::string_view v) {
    check(sql().bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  /// Steps once: true while there is a row.
  bool step() {
    const int rc = sql().step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    raise(db_, rc, "step");
  }
  void run() {
    while (step()) {
    }
    reset();
  }
  void reset() {
    sql().reset(s_);
    sql().clear_bindings(s_);
  }
  [[nodiscard]] std::int64_t integer(int col) const { return sql().column_int64(s_, col); }
  [[nodiscard]] bool null(int col) const { return sql().column_type(s_, col) == SQLITE_NULL; }
  [[nodiscard]] std::string_view bytes(int col) const {
    const void* p = sql().column_blob(s_, col);
    const int n = sql().column_bytes(s_, col);
    return p == nullptr
               ? std::string_view{}
               : std::string_view{static_cast<const char*>(p), static_cast<std::size_t>(n)};
  }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK) raise(db_, rc, "bind");
  }
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

// Resets a statement on every way out of a scope.
struct reset_on_exit {
  stmt& s;
  ~reset_on_exit() { s.reset(); }
};

db_ptr open_db(const std::string& path, bool writer) {
  need_sqlite();
  sqlite3* raw = nullptr;
  const int flags = writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
  const int rc = sql().open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  db_ptr db{raw};
  if (rc != SQLITE_OK) raise(raw, rc, "open " + path);
  sql().extended_result_codes(raw, 0);
  sql().busy_timeout(raw, writer ? 1000 : 200);
  return db;
}

// A reading connection maps the file (no copy through read(2) per page) and keeps a larger
// page cache: the uptime of every target reads a few rows of each.
db_ptr open_reader(const std::string& path) {
  db_ptr db = open_db(path, false);
  exec(db.get(), "PRAGMA mmap_size=1073741824; PRAGMA cache_size=-16384");
  return db;
}

// Versioned migrations: migrations[i] brings the schema from version i to i + 1.
// Rollup rows are keyed by period first: the uptime of every target reads one contiguous run
// of rows per period, and retention deletes a key range; a target's own rows are found through
// the *_by_target indexes.
constexpr std::array<const char*, 2> migrations{
    R"sql(
CREATE TABLE targets(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE minutes(hour INTEGER NOT NULL, target INTEGER NOT NULL, count INTEGER NOT NULL,
  failures INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(hour, target)) WITHOUT ROWID;
CREATE INDEX minutes_by_target ON minutes(target, hour);
CREATE TABLE hours(day INTEGER NOT NULL, target INTEGER NOT NULL, count INTEGER NOT NULL,
  failures INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(day, target)) WITHOUT ROWID;
CREATE INDEX hours_by_target ON hours(target, day);
CREATE TABLE days(day INTEGER NOT NULL, target INTEGER NOT NULL, count INTEGER NOT NULL,
  failures INTEGER NOT NULL, cum_count INTEGER NOT NULL, cum_failures INTEGER NOT NULL,
  data BLOB NOT NULL, PRIMARY KEY(day, target)) WITHOUT ROWID;
CREATE INDEX days_by_target ON days(target, day, cum_count, cum_failures);
CREATE TABLE results(target INTEGER NOT NULL, t INTEGER NOT NULL, status INTEGER NOT NULL,
  kind INTEGER NOT NULL, duration_us INTEGER NOT NULL, output TEXT NOT NULL);
CREATE INDEX results_by_target ON results(target);
CREATE TABLE transitions(target INTEGER NOT NULL, t INTEGER NOT NULL, from_status INTEGER NOT NULL,
  to_status INTEGER NOT NULL, output TEXT NOT NULL);
CREATE INDEX transitions_by_target ON transitions(target, t);
CREATE INDEX transitions_by_time ON transitions(t);
)sql",
    // 2: incidents, one row per span of failure; `end` is open_end while it lasts.
    R"sql(
CREATE TABLE incidents(target INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
  cause TEXT NOT NULL);
CREATE INDEX incidents_by_end ON incidents(end);
CREATE INDEX incidents_by_target ON incidents(target, end);
)sql"};
constexpr std::int64_t open_end = std::numeric_limits<std::int64_t>::max();
static_assert(migrations.size() == sqlite_history::schema_version);

void migrate(sqlite3* db) {
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, "PRAGMA synchronous=NORMAL");
  stmt version{db, "PRAGMA user_version"};
  int v = version.step() ? static_cast<int>(version.integer(0)) : 0;
  version.reset();
  if (v > sqlite_history::schema_version) {
    throw db_error{SQLITE_ERROR, "the history file has schema version " + std::to_string(v) +
                                     ", newer than this vitals (" +
                                     std::to_string(sqlite_history::schema_version) + ")"};
  }
  for (; v < sqlite_history::schema_version; ++v) {
    exec(db, "BEGIN IMMEDIATE");
    try {
      exec(db, migrations[static_cast<std::size_t>(v)]);
      exec(db, ("PRAGMA user_version=" + std::to_string(v + 1)).c_str());
      exec(db, "COMMIT");
    } catch (...) {
      sql().exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
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
std::pair<std::uint64_t, std::uint64_t> totals(const std::array<bucket, N>& b) {
  std::uint64_t c = 0, f = 0;
  for (const auto& x : b) c += x.count, f += x.failures;
  return {c, f};
}

// Decodes a row's buckets (an empty or unreadable row is empty buckets).
template <std::size_t N>
std::array<bucket, N> cells_of(const std::string& blob) {
  std::array<bucket, N> cells{};
  if (!blob.empty() && !history_detail::decode(blob, cells)) cells = {};
  return cells;
}

// The statements of the writer's connection.
struct writer_db {
  db_ptr db;
  stmt find_target, add_target, load_minutes, load_hours, load_day, load_cum, count_raw;
  stmt put_minutes, put_hours, put_day, put_result, put_transition;
  stmt open_incident, close_incident, expire_incidents, trim_raw;
  stmt expire_minutes, expire_hours, expire_days, expire_transitions;
  explicit writer_db(const std::string& path)
      : db(open_db(path, true)),
        find_target{(migrate(db.get()), db.get()), "SELECT id FROM targets WHERE name=?1"},
        add_target{db.get(), "INSERT INTO targets(name) VALUES(?1)"},
        load_minutes{db.get(), "SELECT data FROM minutes WHERE target=?1 AND hour=?2"},
        load_hours{db.get(), "SELECT data FROM hours WHERE target=?1 AND day=?2"},
        load_day{db.get(),
                 "SELECT data, cum_count - count, cum_failures - failures, count, failures "
                 "FROM days WHERE target=?1 AND day=?2"},
        load_cum{db.get(),
                 "SELECT cum_count, cum_failures FROM days WHERE target=?1 AND day<?2 "
                 "ORDER BY day DESC LIMIT 1"},
        count_raw{db.get(), "SELECT count(*) FROM results WHERE target=?1"},
        put_minutes{db.get(),
                    "INSERT OR REPLACE INTO minutes(target, hour, count, failures, data) "
                    "VALUES(?1, ?2, ?3, ?4, ?5)"},
        put_hours{db.get(),
                  "INSERT OR REPLACE INTO hours(target, day, count, failures, data) "
                  "VALUES(?1, ?2, ?3, ?4, ?5)"},
        put_day{db.get(),
                "INSERT OR REPLACE INTO days(target, day, count, failures, cum_count, "
                "cum_failures, data) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
        put_result{db.get(),
                   "INSERT INTO results(target, t, status, kind, duration_us, output) "
                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6)"},
        put_transition{db.get(),
                       "INSERT INTO transitions(target, t, from_status, to_status, output) "
                       "VALUES(?1, ?2, ?3, ?4, ?5)"},
        // A failure opens an incident unless one is open (a restart during an incident sees
        // unknown -> fail again: the same incident goes on).
        open_incident{db.get(),
                      "INSERT INTO incidents(target, start, end, cause) SELECT ?1, ?2, ?3, ?4 "
                      "WHERE NOT EXISTS (SELECT 1 FROM incidents WHERE target=?1 AND end=?3)"},
        close_incident{db.get(), "UPDATE incidents SET end=?2 WHERE target=?1 AND end=?3"},
        expire_incidents{db.get(),
                         "DELETE FROM incidents WHERE rowid IN (SELECT rowid FROM incidents "
                         "WHERE end < ?1 LIMIT 2000)"},
        trim_raw{db.get(),
                 "DELETE FROM results WHERE target=?1 AND rowid <= (SELECT rowid FROM results "
                 "WHERE target=?1 ORDER BY rowid DESC LIMIT 1 OFFSET ?2)"},
        expire_minutes{db.get(),
                       "DELETE FROM minutes WHERE (hour, target) IN (SELECT hour, target FROM "
                       "minutes WHERE hour < ?1 LIMIT 2000)"},
        expire_hours{db.get(),
                     "DELETE FROM hours WHERE (day, target) IN (SELECT day, target FROM hours "
                     "WHERE day < ?1 LIMIT 2000)"},
        expire_days{db.get(),
                    "DELETE FROM days WHERE (day, target) IN (SELECT day, target FROM days "
                    "WHERE day < ?1 LIMIT 2000)"},
        expire_transitions{db.get(),
                           "DELETE FROM transitions WHERE rowid IN (SELECT rowid FROM "
                           "transitions WHERE t < ?1 LIMIT 2000)"} {}
};
static_assert(expire_batch == 2000, "the expire statements spell the batch size");

// The statements of a reading connection (API threads; one at a time).
struct reader_db {
  db_ptr db;
  stmt target_id, minutes_rows, hours_rows, days_rows, day_at, cum_before, recent, transitions,
      names, all_minutes, all_hours, all_days_at, min_day, incidents, target_incidents;
  explicit reader_db(const std::string& path)
      : db(open_reader(path)),
        target_id{db.get(), "SELECT id FROM targets WHERE name=?1"},
        minutes_rows{db.get(),
                     "SELECT hour, data FROM minutes WHERE target=?1 AND hour>=?2 AND hour<?3 "
                     "ORDER BY hour"},
        hours_rows{db.get(),
                   "SELECT day, data FROM hours WHERE target=?1 AND day>=?2 AND day<?3 "
                   "ORDER BY day"},
        days_rows{db.get(),
                  "SELECT day, data FROM days WHERE target=?1 AND day>=?2 AND day<?3 "
                  "ORDER BY day"},
        day_at{db.get(),
               "SELECT cum_count, cum_failures FROM days WHERE target=?1 AND day<=?2 "
               "ORDER BY day DESC LIMIT 1"},
        cum_before{db.get(),
                   "SELECT cum_count, cum_failures FROM days WHERE target=?1 AND day<?2 "
                   "ORDER BY day DESC LIMIT 1"},
        recent{db.get(),
               "SELECT t, status, kind, duration_us, output FROM results WHERE target=?1 "
               "ORDER BY rowid DESC LIMIT ?2"},
        transitions{db.get(),
                    "SELECT t, from_status, to_status, output FROM transitions WHERE target=?1 "
                    "AND t>=?2 AND t<?3 ORDER BY t DESC, rowid DESC LIMIT ?4"},
        names{db.get(), "SELECT id, name FROM targets ORDER BY name"},
        all_minutes{db.get(), "SELECT target, hour, data FROM minutes WHERE hour>=?1"},
        all_hours{db.get(), "SELECT target, day, data FROM hours WHERE day>=?1"},
        all_days_at{db.get(), "SELECT target, cum_count, cum_failures FROM days WHERE day=?1"},
        min_day{db.get(), "SELECT min(day) FROM days"},
        incidents{db.get(),
                  "SELECT t.name, i.start, i.end, i.cause FROM incidents i JOIN targets t "
                  "ON t.id = i.target WHERE i.end >= ?1 AND i.start < ?2 "
                  "ORDER BY i.start DESC LIMIT ?3"},
        target_incidents{db.get(),
                         "SELECT t.name, i.start, i.end, i.cause FROM incidents i JOIN targets t "
                         "ON t.id = i.target WHERE t.name = ?4 AND i.end >= ?1 AND i.start < ?2 "
                         "ORDER BY i.start DESC LIMIT ?3"} {}
};

// The uptime windows, in order; the first two count minute and hour buckets, the others whole
// days.
struct window_spec {
  const char* name;
  std::int64_t days;  // 0: minutes (1h) or hours (24h)
};
constexpr std::array<window_spec, 5> windows{
    {{"1h", 0}, {"24h", 0}, {"7d", 7}, {"30d", 30}, {"365d", 365}}};

}  // namespace

struct sqlite_history::impl {
  history_options options;

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
  std::unique_ptr<writer_db> w;
  std::unordered_map<std::string, target_state> targets;
  std::deque<item> retry;  // raw rows of a failed flush
  std::chrono::steady_clock::time_point next_open{};
  unsigned failed_in_a_row = 0;

  // 1 s after a first failure, doubling up to 5 s while the file stays unwritable: a full
  // disk costs a retry of the backlog now and then, not every second.
  std::chrono::milliseconds backoff() {
    const unsigned n = std::min(failed_in_a_row++, 3U);
    return std::min<std::chrono::milliseconds>(std::chrono::seconds{1} * (1U << n),
                                               std::chrono::seconds{5});
  }
  std::atomic<std::uint64_t> file_generation{0};

  // Readers.
  mutable std::mutex read_mu;
  mutable std::unique_ptr<reader_db> r;
  mutable std::uint64_t reader_generation = ~std::uint64_t{0};
  mutable std::unique_ptr<reader_db> own_reader;  // the writer thread's
  mutable std::uint64_t own_generation = ~std::uint64_t{0};

  // The uptime table of every target, recomputed by the writer after a flush while someone
  // asked for it in the last minute (mu).
  std::shared_ptr<const std::vector<target_uptime>> uptime_table;
  std::chrono::steady_clock::time_point uptime_wanted{};
  const sqlite_history* owner = nullptr;

  std::thread writer;

  explicit impl(history_options o) : options(std::move(o)) {
    if (options.path.empty()) throw std::runtime_error("history: the path is empty");
    if (options.keep_minutes.count() <= 0 || options.keep_hours.count() <= 0 ||
        options.keep_days.count() <= 0 || options.keep_transitions.count() <= 0) {
      throw std::runtime_error("history: every retention must be positive");
    }
    if (options.flush_interval.count() <= 0) {
      throw std::runtime_error("history: flush_interval must be positive");
    }
    if (options.raw_per_target == 0) options.raw_per_target = 1;
    if (!options.clock) options.clock = real_clock();
    try_open();
    writer = std::thread([this] { run(); });
  }

  ~impl() { stop(); }

  // Commits what is pending and joins the writer (before the owner's members go away: the
  // writer calls back into it for the uptime table).
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
    {
      const std::lock_guard lock{mu};
      if (pending.size() >= options.max_pending) {
        pending.pop_front();
        ++figures.dropped;
      }
      pending.push_back(std::move(it));
    }
  }

  void note_fault(const std::string& what) {
    const std::lock_guard lock{mu};
    ++figures.faults;
    figures.fault = what;
  }

  // Opens (or reopens) the writer's connection; a corrupt file is moved aside.
  bool try_open() {
    if (w) return true;
    if (std::chrono::steady_clock::now() < next_open) return false;
    try {
      w = std::make_unique<writer_db>(options.path);
      return true;
    } catch (const db_error& e) {
      w.reset();
      if (e.corrupt()) {
        move_aside();
        try {
          w = std::make_unique<writer_db>(options.path);
          return true;
        } catch (const db_error& again) {
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
    const auto stamp = std::to_string(unix_s(options.clock->wall_now()));
    std::error_code ec;
    const std::string aside = options.path + ".corrupt-" + stamp;
    std::filesystem::rename(options.path, aside, ec);
    std::filesystem::remove(options.path + "-wal", ec);
    std::filesystem::remove(options.path + "-shm", ec);
    targets.clear();
    file_generation.fetch_add(1);
    const std::lock_guard lock{mu};
    ++figures.recovered_files;
    figures.fault = "the history file was corrupt: moved to " + aside + ", started again";
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
        owner->uptimes_on(options.clock->wall_now(), true));
    const std::lock_guard lock{mu};
    uptime_table = std::move(table);
  }

  target_state& state_of(const std::string& name) {
    auto it = targets.find(name);
    if (it != targets.end()) return it->second;
    writer_db& d = *w;
    target_state s;
    {
      reset_on_exit g{d.find_target};
      d.find_target.bind(1, name);
      if (d.find_target.step()) {
        s.id = d.find_target.integer(0);
      } else {
        d.find_target.reset();
        d.add_target.bind(1, name).run();
        s.id = sql().last_insert_rowid(d.db.get());
      }
    }
    {
      reset_on_exit g{d.count_raw};
      d.count_raw.bind(1, s.id);
      if (d.count_raw.step()) s.raw = static_cast<std::uint64_t>(d.count_raw.integer(0));
    }
    return targets.emplace(name, std::move(s)).first->second;
  }

  void load_period(target_state& s, std::int64_t hour, std::int64_t day) {
    writer_db& d = *w;
    if (day != s.day) {
      s.day = day;
      s.hours.clear();
      s.today.clear();
      s.today_count = s.today_failures = 0;
      bool found = false;
      {
        reset_on_exit g{d.load_hours};
        d.load_hours.bind(1, s.id).bind(2, day);
        if (d.load_hours.step()) s.hours.assign(d.load_hours.bytes(0));
      }
      {
        reset_on_exit g{d.load_day};
        d.load_day.bind(1, s.id).bind(2, day);
        if (d.load_day.step()) {
          found = true;
          s.today.assign(d.load_day.bytes(0));
          s.cum_count_before = static_cast<std::uint64_t>(d.load_day.integer(1));
          s.cum_failures_before = static_cast<std::uint64_t>(d.load_day.integer(2));
          s.today_count = static_cast<std::uint64_t>(d.load_day.integer(3));
          s.today_failures = static_cast<std::uint64_t>(d.load_day.integer(4));
        }
      }
      if (!found) {
        reset_on_exit g{d.load_cum};
        d.load_cum.bind(1, s.id).bind(2, day);
        s.cum_count_before = s.cum_failures_before = 0;
        if (d.load_cum.step()) {
          s.cum_count_before = static_cast<std::uint64_t>(d.load_cum.integer(0));
          s.cum_failures_before = static_cast<std::uint64_t>(d.load_cum.integer(1));
        }
      }
    }
    if (hour != s.hour) {
      s.hour = hour;
      s.minutes.clear();
      reset_on_exit g{d.load_minutes};
      d.load_minutes.bind(1, s.id).bind(2, hour);
      if (d.load_minutes.step()) s.minutes.assign(d.load_minutes.bytes(0));
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
    writer_db& d = *w;
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
    const auto [mc, mf] = totals(minutes);
    d.put_minutes.bind(1, s.id)
        .bind(2, s.hour)
        .bind(3, static_cast<std::int64_t>(mc))
        .bind(4, static_cast<std::int64_t>(mf))
        .blob(5, s.minutes)
        .run();
    const auto [hc, hf] = totals(hours);
    d.put_hours.bind(1, s.id)
        .bind(2, s.day)
        .bind(3, static_cast<std::int64_t>(hc))
        .bind(4, static_cast<std::int64_t>(hf))
        .blob(5, s.hours)
        .run();
    d.put_day.bind(1, s.id)
        .bind(2, s.day)
        .bind(3, today[0].count)
        .bind(4, today[0].failures)
        .bind(5, static_cast<std::int64_t>(s.cum_count_before + today[0].count))
        .bind(6, static_cast<std::int64_t>(s.cum_failures_before + today[0].failures))
        .blob(7, s.today)
        .run();
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
      retry = std::move(batch);
      return;
    }
    history_stats delta;
    try {
      exec(w->db.get(), "BEGIN IMMEDIATE");
      for (const item& it : batch) {
        target_state& s = state_of(it.name);
        if (it.transition) {
          w->put_transition.bind(1, s.id)
              .bind(2, it.t_ms)
              .bind(3, static_cast<std::int64_t>(it.from))
              .bind(4, static_cast<std::int64_t>(it.result))
              .bind(5, it.output)
              .run();
          if (it.result == status::fail) {
            w->open_incident.bind(1, s.id)
                .bind(2, it.t_ms)
                .bind(3, open_end)
                .bind(4, it.output)
                .run();
          } else if (it.result != status::unknown) {
            w->close_incident.bind(1, s.id).bind(2, it.t_ms).bind(3, open_end).run();
          }
          continue;
        }
        add_run(s, it, delta);
        w->put_result.bind(1, s.id)
            .bind(2, it.t_ms)
            .bind(3, static_cast<std::int64_t>(it.result))
            .bind(4, static_cast<std::int64_t>(it.kind))
            .bind(5, it.duration_us)
            .bind(6, it.output)
            .run();
        ++delta.results_written;
        ++s.raw;
      }
      const std::uint64_t slack = options.raw_per_target / 4 + 1;
      for (auto& [name, s] : targets) {
        if (s.dirty()) write_rows(s, delta);
        if (s.raw > options.raw_per_target + slack) {
          w->trim_raw.bind(1, s.id)
              .bind(2, static_cast<std::int64_t>(options.raw_per_target))
              .run();
          s.raw = options.raw_per_target;
        }
      }
      expire(delta);
      exec(w->db.get(), "COMMIT");
    } catch (const db_error& e) {
      sql().exec(w->db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      // What the rollback undid is written again: the raw rows from `retry`, the rollups from
      // memory (reloaded, as the ids of new targets were rolled back too).
      retry = std::move(batch);
      note_fault(e.what());
      if (e.corrupt()) {
        w.reset();
        move_aside();
      } else {
        w.reset();
        targets.clear();
        next_open = std::chrono::steady_clock::now() + backoff();
      }
      return;
    }
    std::error_code ec;
    std::uint64_t bytes = 0;
    for (const char* suffix : {"", "-wal"}) {
      const auto n = std::filesystem::file_size(options.path + suffix, ec);
      if (!ec) bytes += n;
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

  void expire(history_stats& delta) {
    const std::int64_t now = unix_s(options.clock->wall_now());
    const auto cutoff = [&](std::chrono::hours keep) {
      return now - std::chrono::duration_cast<std::chrono::seconds>(keep).count();
    };
    const auto run = [&](stmt& s, std::int64_t before) {
      s.bind(1, before).run();
      delta.rows_expired += static_cast<std::uint64_t>(sql().changes(w->db.get()));
    };
    run(w->expire_minutes, floor_to(cutoff(options.keep_minutes), hour_s));
    run(w->expire_hours, floor_to(cutoff(options.keep_hours), day_s));
    run(w->expire_days, floor_to(cutoff(options.keep_days), day_s));
    run(w->expire_transitions, cutoff(options.keep_transitions) * 1000);
    run(w->expire_incidents, cutoff(options.keep_transitions) * 1000);
  }

  // --- reading ------------------------------------------------------------------------------

  // Runs `fn(reader_db&)` on a reading connection: the API's (any thread, one at a time) or the
  // writer's own (the writer thread only, for the uptime table); an unreadable file reads as
  // empty.
  template <class T, class Fn>
  T read(Fn&& fn, bool writer_side = false) const {
    std::unique_lock<std::mutex> lock{read_mu, std::defer_lock};
    if (!writer_side) lock.lock();
    auto& conn = writer_side ? own_reader : r;
    auto& generation = writer_side ? own_generation : reader_generation;
    try {
      const std::uint64_t gen = file_generation.load();
      if (!conn || gen != generation) {
        conn.reset();
        conn = std::make_unique<reader_db>(options.path);
        generation = gen;
      }
      return fn(*conn);
    } catch (const db_error&) {
      conn.reset();
      return T{};
    }
  }

  static std::optional<std::int64_t> id_of(reader_db& d, std::string_view name) {
    reset_on_exit g{d.target_id};
    d.target_id.bind(1, name);
    if (!d.target_id.step()) return std::nullopt;
    return d.target_id.integer(0);
  }
};

sqlite_history::sqlite_history(history_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {
  impl_->owner = this;
}

sqlite_history::~sqlite_history() { impl_->stop(); }

void sqlite_history::on_result(const check_state& state) {
  const result& r = state.last_run;
  impl_->enqueue(
      item{.name = state.name,
           .t_ms = impl_->stamp(r.time),
           .result = r.status,
           .kind = r.kind,
           .duration_us = std::chrono::duration_cast<std::chrono::microseconds>(r.duration).count(),
           .output = r.output});
}

void sqlite_history::on_transition(const check_state& state, status from, status to) {
  impl_->enqueue(item{.transition = true,
                      .name = state.name,
                      .t_ms = impl_->stamp(state.reported.time),
                      .result = to,
                      .from = from,
                      .output = state.reported.output});
}

void sqlite_history::flush() {
  std::unique_lock lock{impl_->mu};
  const std::uint64_t ticket = ++impl_->flush_requests;
  impl_->cv.notify_all();
  impl_->flushed.wait(lock, [&] { return impl_->flushes_done >= ticket || impl_->stopping; });
}

history_stats sqlite_history::stats() const {
  const std::lock_guard lock{impl_->mu};
  return impl_->figures;
}

std::vector<history_bucket> sqlite_history::buckets(std::string_view target,
                                                    history_resolution resolution,
                                                    system_clock::time_point from,
                                                    system_clock::time_point to) const {
  const std::int64_t lo = unix_s(from);
  const std::int64_t hi = unix_s(to);
  return impl_->read<std::vector<history_bucket>>([&](reader_db& d) {
    std::vector<history_bucket> out;
    const auto id = impl::id_of(d, target);
    if (!id || hi <= lo) return out;
    const auto collect = [&](stmt& s, std::int64_t row_unit, std::int64_t unit, auto& cells) {
      reset_on_exit g{s};
      s.bind(1, *id).bind(2, floor_to(lo, row_unit)).bind(3, hi);
      while (s.step()) {
        const std::int64_t row = s.integer(0);
        if (!history_detail::decode(s.bytes(1), cells)) continue;
        for (std::size_t i = 0; i < cells.size(); ++i) {
          const std::int64_t start = row + static_cast<std::int64_t>(i) * unit;
          if (cells[i].count == 0 || start < lo || start >= hi) continue;
          out.push_back(cells[i].view(start, unit));
        }
      }
    };
    switch (resolution) {
      case history_resolution::minute: {
        std::array<bucket, 60> cells{};
        collect(d.minutes_rows, hour_s, minute_s, cells);
        break;
      }
      case history_resolution::hour: {
        std::array<bucket, 24> cells{};
        collect(d.hours_rows, day_s, hour_s, cells);
        break;
      }
      case history_resolution::day: {
        std::array<bucket, 1> cells{};
        collect(d.days_rows, day_s, day_s, cells);
        break;
      }
    }
    return out;
  });
}

namespace {

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

}  // namespace

std::optional<target_uptime> sqlite_history::uptime(std::string_view target,
                                                    system_clock::time_point now) const {
  const std::int64_t t = unix_s(now);
  return impl_->read<std::optional<target_uptime>>(
      [&](reader_db& d) -> std::optional<target_uptime> {
        const auto id = impl::id_of(d, target);
        if (!id) return std::nullopt;
        target_uptime u{.target = std::string{target}};
        for (const auto& spec : windows) u.windows.push_back({.window = spec.name});
        const std::int64_t minute_lo = floor_to(t, minute_s) - 59 * minute_s;
        {
          reset_on_exit g{d.minutes_rows};
          d.minutes_rows.bind(1, *id).bind(2, floor_to(minute_lo, hour_s)).bind(3, t + 1);
          while (d.minutes_rows.step()) {
            sum_cells<60>(d.minutes_rows.bytes(1), d.minutes_rows.integer(0), minute_s, minute_lo,
                          u.windows[0]);
          }
        }
        const std::int64_t hour_lo = floor_to(t, hour_s) - 23 * hour_s;
        {
          reset_on_exit g{d.hours_rows};
          d.hours_rows.bind(1, *id).bind(2, floor_to(hour_lo, day_s)).bind(3, t + 1);
          while (d.hours_rows.step()) {
            sum_cells<24>(d.hours_rows.bytes(1), d.hours_rows.integer(0), hour_s, hour_lo,
                          u.windows[1]);
          }
        }
        const std::int64_t today = floor_to(t, day_s);
        std::uint64_t now_count = 0, now_failures = 0;
        {
          reset_on_exit g{d.day_at};
          d.day_at.bind(1, *id).bind(2, today);
          if (d.day_at.step()) {
            now_count = static_cast<std::uint64_t>(d.day_at.integer(0));
            now_failures = static_cast<std::uint64_t>(d.day_at.integer(1));
          }
        }
        for (std::size_t i = 2; i < windows.size(); ++i) {
          std::uint64_t c = 0, f = 0;
          reset_on_exit g{d.cum_before};
          d.cum_before.bind(1, *id).bind(2, today - (windows[i].days - 1) * day_s);
          if (d.cum_before.step()) {
            c = static_cast<std::uint64_t>(d.cum_before.integer(0));
            f = static_cast<std::uint64_t>(d.cum_before.integer(1));
          }
          u.windows[i].count = now_count - std::min(c, now_count);
          u.windows[i].failures = now_failures - std::min(f, now_failures);
        }
        return u;
      });
}

std::shared_ptr<const std::vector<target_uptime>> sqlite_history::latest_uptimes() const {
  {
    const std::lock_guard lock{impl_->mu};
    impl_->uptime_wanted = std::chrono::steady_clock::now();
    if (impl_->uptime_table) return impl_->uptime_table;
  }
  // The first request computes it (the writer keeps it fresh from then on).
  auto table =
      std::make_shared<const std::vector<target_uptime>>(uptimes(impl_->options.clock->wall_now()));
  const std::lock_guard lock{impl_->mu};
  if (!impl_->uptime_table) impl_->uptime_table = table;
  return impl_->uptime_table;
}

std::vector<target_uptime> sqlite_history::uptimes(system_clock::time_point now) const {
  return uptimes_on(now, false);
}

std::vector<target_uptime> sqlite_history::uptimes_on(system_clock::time_point now,
                                                      bool writer_side) const {
  const std::int64_t t = unix_s(now);
  return impl_->read<std::vector<target_uptime>>(
      [&](reader_db& d) {
        std::vector<target_uptime> out;
        std::vector<std::int64_t> ids;  // of out[i]
        {
          reset_on_exit g{d.names};
          while (d.names.step()) {
            ids.push_back(d.names.integer(0));
            target_uptime u{.target = std::string{d.names.bytes(1)}};
            for (const auto& spec : windows) u.windows.push_back({.window = spec.name});
            out.push_back(std::move(u));
          }
        }
        // Ids are the rowids of `targets`: dense, so a vector maps them to their row of `out`.
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
        {
          reset_on_exit g{d.all_minutes};
          d.all_minutes.bind(1, floor_to(minute_lo, hour_s));
          while (d.all_minutes.step()) {
            if (auto* u = row_of(d.all_minutes.integer(0))) {
              sum_cells<60>(d.all_minutes.bytes(2), d.all_minutes.integer(1), minute_s, minute_lo,
                            u->windows[0]);
            }
          }
        }
        const std::int64_t hour_lo = floor_to(t, hour_s) - 23 * hour_s;
        {
          reset_on_exit g{d.all_hours};
          d.all_hours.bind(1, floor_to(hour_lo, day_s));
          while (d.all_hours.step()) {
            if (auto* u = row_of(d.all_hours.integer(0))) {
              sum_cells<24>(d.all_hours.bytes(2), d.all_hours.integer(1), hour_s, hour_lo,
                            u->windows[1]);
            }
          }
        }
        // Whole days: the running totals of today's row minus those of the day before the window.
        // A target without a row on that exact day (the monitor was down, or the target is newer)
        // is looked up alone.
        const std::int64_t today = floor_to(t, day_s);
        std::int64_t first_day = std::numeric_limits<std::int64_t>::max();
        {
          reset_on_exit g{d.min_day};
          if (d.min_day.step() && !d.min_day.null(0)) {
            first_day = d.min_day.integer(0);
          }
        }
        const auto totals_at = [&](std::int64_t day, bool inclusive) {
          std::vector<std::pair<std::uint64_t, std::uint64_t>> cum(out.size());
          std::vector<bool> seen(out.size(), false);
          if (!inclusive && day - day_s < first_day) return cum;  // nothing before the window
          const std::int64_t exact = inclusive ? day : day - day_s;
          {
            reset_on_exit g{d.all_days_at};
            d.all_days_at.bind(1, exact);
            while (d.all_days_at.step()) {
              const std::int32_t i = index_of(d.all_days_at.integer(0));
              if (i < 0) continue;
              cum[static_cast<std::size_t>(i)] = {
                  static_cast<std::uint64_t>(d.all_days_at.integer(1)),
                  static_cast<std::uint64_t>(d.all_days_at.integer(2))};
              seen[static_cast<std::size_t>(i)] = true;
            }
          }
          for (std::size_t i = 0; i < ids.size(); ++i) {
            if (seen[i]) continue;
            stmt& s = d.day_at;  // latest row on or before `exact`
            reset_on_exit g{s};
            s.bind(1, ids[i]).bind(2, exact);
            if (s.step()) {
              cum[i] = {static_cast<std::uint64_t>(s.integer(0)),
                        static_cast<std::uint64_t>(s.integer(1))};
            }
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

std::vector<history_result> sqlite_history::recent(std::string_view target,
                                                   std::size_t limit) const {
  return impl_->read<std::vector<history_result>>([&](reader_db& d) {
    std::vector<history_result> out;
    const auto id = impl::id_of(d, target);
    if (!id || limit == 0) return out;
    reset_on_exit g{d.recent};
    d.recent.bind(1, *id).bind(2, static_cast<std::int64_t>(limit));
    while (d.recent.step()) {
      out.push_back({.time = from_ms(d.recent.integer(0)),
                     .result = static_cast<status>(d.recent.integer(1)),
                     .kind = static_cast<failure_kind>(d.recent.integer(2)),
                     .duration = std::chrono::microseconds{d.recent.integer(3)},
                     .output = std::string{d.recent.bytes(4)}});
    }
    return out;
  });
}

std::vector<history_transition> sqlite_history::transitions(std::string_view target,
                                                            system_clock::time_point from,
                                                            system_clock::time_point to,
                                                            std::size_t limit) const {
  return impl_->read<std::vector<history_transition>>([&](reader_db& d) {
    std::vector<history_transition> out;
    const auto id = impl::id_of(d, target);
    if (!id || limit == 0) return out;
    reset_on_exit g{d.transitions};
    d.transitions.bind(1, *id)
        .bind(2, unix_ms(from))
        .bind(3, unix_ms(to))
        .bind(4, static_cast<std::int64_t>(limit));
    while (d.transitions.step()) {
      out.push_back({.time = from_ms(d.transitions.integer(0)),
                     .from = static_cast<status>(d.transitions.integer(1)),
                     .to = static_cast<status>(d.transitions.integer(2)),
                     .output = std::string{d.transitions.bytes(3)}});
    }
    return out;
  });
}

std::vector<history_incident> sqlite_history::incidents(system_clock::time_point from,
                                                        system_clock::time_point to,
                                                        std::string_view target,
                                                        std::size_t limit) const {
  return impl_->read<std::vector<history_incident>>([&](reader_db& d) {
    std::vector<history_incident> out;
    if (limit == 0) return out;
    stmt& s = target.empty() ? d.incidents : d.target_incidents;
    reset_on_exit g{s};
    s.bind(1, unix_ms(from)).bind(2, unix_ms(to)).bind(3, static_cast<std::int64_t>(limit));
    if (!target.empty()) s.bind(4, target);
    while (s.step()) {
      history_incident i{.target = std::string{s.bytes(0)},
                         .start = from_ms(s.integer(1)),
                         .cause = std::string{s.bytes(3)}};
      if (s.integer(2) != open_end) i.end = from_ms(s.integer(2));
      out.push_back(std::move(i));
    }
    return out;
  });
}

}  // namespace vitals
