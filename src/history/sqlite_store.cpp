// The SQLite store of the history (store.hpp, docs/history.md): one file in WAL mode, the
// writer's statements applied as they come inside BEGIN IMMEDIATE ... COMMIT, a mapped reading
// connection for the API. libsqlite3 is dlopen()ed when the first history opens.
#include <sqlite3.h>

#include <array>
#include <filesystem>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "sqlite_api.hpp"
#include "store.hpp"

namespace vitals::history_detail {
namespace {

constexpr int expire_batch = 2000;  // rows per table and flush

// A failed SQLite call, with its primary code (corruption is told apart from a full disk).
struct db_error : store_error {
  int code;
  db_error(int rc, const std::string& what)
      : store_error(what, (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB),
        code(rc & 0xff) {}
};

// The loaded library: need_sqlite() has succeeded before any connection exists, so every other
// call finds it.
const sqlite_api& sql() noexcept { return sqlite_library().api; }

// Loads libsqlite3 (once); a failure is a fault like a missing file.
void need_sqlite() {
  if (const auto& l = sqlite_library(); !l.ok) throw db_error{SQLITE_ERROR, l.why};
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
constexpr int schema_version = sqlite_history::schema_version;

void migrate(sqlite3* db) {
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, "PRAGMA synchronous=NORMAL");
  stmt version{db, "PRAGMA user_version"};
  int v = version.step() ? static_cast<int>(version.integer(0)) : 0;
  version.reset();
  if (v > schema_version) {
    throw db_error{SQLITE_ERROR, "the history file has schema version " + std::to_string(v) +
                                     ", newer than this vitals (" + std::to_string(schema_version) +
                                     ")"};
  }
  for (; v < schema_version; ++v) {
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
                  "ORDER BY i.start DESC, i.rowid DESC LIMIT ?3"},
        target_incidents{db.get(),
                         "SELECT t.name, i.start, i.end, i.cause FROM incidents i JOIN targets t "
                         "ON t.id = i.target WHERE t.name = ?4 AND i.end >= ?1 AND i.start < ?2 "
                         "ORDER BY i.start DESC, i.rowid DESC LIMIT ?3"} {}
};

std::uint64_t u64(std::int64_t v) { return static_cast<std::uint64_t>(v); }
std::int64_t i64(std::uint64_t v) { return static_cast<std::int64_t>(v); }

class sqlite_writer final : public writer_store {
 public:
  explicit sqlite_writer(const std::string& path) : d_(path) {}

  void begin() override {
    exec(d_.db.get(), "BEGIN IMMEDIATE");
    expired_ = 0;
  }
  std::uint64_t commit() override {
    exec(d_.db.get(), "COMMIT");
    return expired_;
  }
  void rollback() noexcept override {
    sql().exec(d_.db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }

  std::pair<std::int64_t, std::uint64_t> target(const std::string& name) override {
    std::int64_t id = 0;
    {
      reset_on_exit g{d_.find_target};
      d_.find_target.bind(1, name);
      if (d_.find_target.step()) {
        id = d_.find_target.integer(0);
      } else {
        d_.find_target.reset();
        d_.add_target.bind(1, name).run();
        id = sql().last_insert_rowid(d_.db.get());
      }
    }
    reset_on_exit g{d_.count_raw};
    d_.count_raw.bind(1, id);
    return {id, d_.count_raw.step() ? u64(d_.count_raw.integer(0)) : 0};
  }

  std::string rollup_data(rollup level, std::int64_t target, std::int64_t period) override {
    stmt& s = level == rollup::minutes ? d_.load_minutes : d_.load_hours;
    reset_on_exit g{s};
    s.bind(1, target).bind(2, period);
    return s.step() ? std::string{s.bytes(0)} : std::string{};
  }

  std::optional<day_row> day(std::int64_t target, std::int64_t day) override {
    reset_on_exit g{d_.load_day};
    d_.load_day.bind(1, target).bind(2, day);
    if (!d_.load_day.step()) return std::nullopt;
    return day_row{.data = std::string{d_.load_day.bytes(0)},
                   .before = {u64(d_.load_day.integer(1)), u64(d_.load_day.integer(2))},
                   .day = {u64(d_.load_day.integer(3)), u64(d_.load_day.integer(4))}};
  }

  totals totals_before(std::int64_t target, std::int64_t day) override {
    reset_on_exit g{d_.load_cum};
    d_.load_cum.bind(1, target).bind(2, day);
    if (!d_.load_cum.step()) return {};
    return {u64(d_.load_cum.integer(0)), u64(d_.load_cum.integer(1))};
  }

  void put(rollup level, const rollup_row& row) override {
    if (level == rollup::days) {
      d_.put_day.bind(1, row.target)
          .bind(2, row.period)
          .bind(3, i64(row.own.count))
          .bind(4, i64(row.own.failures))
          .bind(5, i64(row.cumulative.count))
          .bind(6, i64(row.cumulative.failures))
          .blob(7, row.data)
          .run();
      return;
    }
    stmt& s = level == rollup::minutes ? d_.put_minutes : d_.put_hours;
    s.bind(1, row.target)
        .bind(2, row.period)
        .bind(3, i64(row.own.count))
        .bind(4, i64(row.own.failures))
        .blob(5, row.data)
        .run();
  }

  void put_result(std::int64_t target, std::int64_t t_ms, status result, failure_kind kind,
                  std::int64_t duration_us, const std::string& output) override {
    d_.put_result.bind(1, target)
        .bind(2, t_ms)
        .bind(3, static_cast<std::int64_t>(result))
        .bind(4, static_cast<std::int64_t>(kind))
        .bind(5, duration_us)
        .bind(6, output)
        .run();
  }

  void put_transition(std::int64_t target, std::int64_t t_ms, status from, status to,
                      const std::string& output) override {
    d_.put_transition.bind(1, target)
        .bind(2, t_ms)
        .bind(3, static_cast<std::int64_t>(from))
        .bind(4, static_cast<std::int64_t>(to))
        .bind(5, output)
        .run();
  }

  void open_incident(std::int64_t target, std::int64_t t_ms, const std::string& cause) override {
    d_.open_incident.bind(1, target).bind(2, t_ms).bind(3, open_end).bind(4, cause).run();
  }

  void close_incident(std::int64_t target, std::int64_t t_ms) override {
    d_.close_incident.bind(1, target).bind(2, t_ms).bind(3, open_end).run();
  }

  void trim_results(std::int64_t target, std::uint64_t keep) override {
    d_.trim_raw.bind(1, target).bind(2, i64(keep)).run();
  }

  void expire(const expiry& e) override {
    const auto run = [&](stmt& s, std::int64_t before) {
      s.bind(1, before).run();
      expired_ += u64(sql().changes(d_.db.get()));
    };
    run(d_.expire_minutes, e.minutes_before);
    run(d_.expire_hours, e.hours_before);
    run(d_.expire_days, e.days_before);
    run(d_.expire_transitions, e.events_before_ms);
    run(d_.expire_incidents, e.events_before_ms);
  }

 private:
  writer_db d_;
  std::uint64_t expired_ = 0;
};

class sqlite_reader final : public reader_store {
 public:
  explicit sqlite_reader(const std::string& path) : d_(path) {}

  std::optional<std::int64_t> id_of(std::string_view name) override {
    reset_on_exit g{d_.target_id};
    d_.target_id.bind(1, name);
    if (!d_.target_id.step()) return std::nullopt;
    return d_.target_id.integer(0);
  }

  void rows(rollup level, std::int64_t target, std::int64_t lo, std::int64_t hi,
            const row_fn& fn) override {
    stmt& s = level == rollup::minutes ? d_.minutes_rows
              : level == rollup::hours ? d_.hours_rows
                                       : d_.days_rows;
    reset_on_exit g{s};
    s.bind(1, target).bind(2, lo).bind(3, hi);
    while (s.step()) fn(target, s.integer(0), s.bytes(1));
  }

  void rows_since(rollup level, std::int64_t lo, const row_fn& fn) override {
    stmt& s = level == rollup::minutes ? d_.all_minutes : d_.all_hours;
    reset_on_exit g{s};
    s.bind(1, lo);
    while (s.step()) fn(s.integer(0), s.integer(1), s.bytes(2));
  }

  totals totals_at(std::int64_t target, std::int64_t day) override {
    reset_on_exit g{d_.day_at};
    d_.day_at.bind(1, target).bind(2, day);
    if (!d_.day_at.step()) return {};
    return {u64(d_.day_at.integer(0)), u64(d_.day_at.integer(1))};
  }

  void totals_on(std::int64_t day, const std::function<void(std::int64_t, totals)>& fn) override {
    reset_on_exit g{d_.all_days_at};
    d_.all_days_at.bind(1, day);
    while (d_.all_days_at.step()) {
      fn(d_.all_days_at.integer(0),
         {u64(d_.all_days_at.integer(1)), u64(d_.all_days_at.integer(2))});
    }
  }

  std::optional<std::int64_t> first_day() override {
    reset_on_exit g{d_.min_day};
    if (d_.min_day.step() && !d_.min_day.null(0)) return d_.min_day.integer(0);
    return std::nullopt;
  }

  void names(const std::function<void(std::int64_t, std::string_view)>& fn) override {
    reset_on_exit g{d_.names};
    while (d_.names.step()) fn(d_.names.integer(0), d_.names.bytes(1));
  }

  std::vector<history_result> recent(std::int64_t target, std::size_t limit) override {
    std::vector<history_result> out;
    reset_on_exit g{d_.recent};
    d_.recent.bind(1, target).bind(2, static_cast<std::int64_t>(limit));
    while (d_.recent.step()) {
      out.push_back({.time = from_ms(d_.recent.integer(0)),
                     .result = static_cast<status>(d_.recent.integer(1)),
                     .kind = static_cast<failure_kind>(d_.recent.integer(2)),
                     .duration = std::chrono::microseconds{d_.recent.integer(3)},
                     .output = std::string{d_.recent.bytes(4)}});
    }
    return out;
  }

  std::vector<history_transition> transitions(std::int64_t target, std::int64_t lo_ms,
                                              std::int64_t hi_ms, std::size_t limit) override {
    std::vector<history_transition> out;
    reset_on_exit g{d_.transitions};
    d_.transitions.bind(1, target).bind(2, lo_ms).bind(3, hi_ms).bind(
        4, static_cast<std::int64_t>(limit));
    while (d_.transitions.step()) {
      out.push_back({.time = from_ms(d_.transitions.integer(0)),
                     .from = static_cast<status>(d_.transitions.integer(1)),
                     .to = static_cast<status>(d_.transitions.integer(2)),
                     .output = std::string{d_.transitions.bytes(3)}});
    }
    return out;
  }

  std::vector<history_incident> incidents(std::int64_t lo_ms, std::int64_t hi_ms,
                                          std::string_view target, std::size_t limit) override {
    std::vector<history_incident> out;
    stmt& s = target.empty() ? d_.incidents : d_.target_incidents;
    reset_on_exit g{s};
    s.bind(1, lo_ms).bind(2, hi_ms).bind(3, static_cast<std::int64_t>(limit));
    if (!target.empty()) s.bind(4, target);
    while (s.step()) {
      history_incident i{.target = std::string{s.bytes(0)},
                         .start = from_ms(s.integer(1)),
                         .cause = std::string{s.bytes(3)}};
      if (s.integer(2) != open_end) i.end = from_ms(s.integer(2));
      out.push_back(std::move(i));
    }
    return out;
  }

 private:
  reader_db d_;
};

class sqlite_store final : public store {
 public:
  explicit sqlite_store(std::string path) : path_(std::move(path)) {}
  [[nodiscard]] std::string where() const override { return path_; }
  std::unique_ptr<writer_store> open_writer() override {
    return std::make_unique<sqlite_writer>(path_);
  }
  std::unique_ptr<reader_store> open_reader() override {
    return std::make_unique<sqlite_reader>(path_);
  }
  std::string move_aside(std::int64_t now_s) override {
    std::error_code ec;
    const std::string aside = path_ + ".corrupt-" + std::to_string(now_s);
    std::filesystem::rename(path_, aside, ec);
    std::filesystem::remove(path_ + "-wal", ec);
    std::filesystem::remove(path_ + "-shm", ec);
    return "the history file was corrupt: moved to " + aside + ", started again";
  }
  std::uint64_t bytes(writer_store&) override {
    std::error_code ec;
    std::uint64_t n = 0;
    for (const char* suffix : {"", "-wal"}) {
      const auto size = std::filesystem::file_size(path_ + suffix, ec);
      if (!ec) n += size;
    }
    return n;
  }

 private:
  std::string path_;
};

}  // namespace

std::unique_ptr<store> make_sqlite_store(const history_options& options) {
  if (options.path.empty()) throw std::runtime_error("history: the path is empty");
  return std::make_unique<sqlite_store>(options.path);
}

}  // namespace vitals::history_detail
