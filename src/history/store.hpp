#pragma once
// Private: what the history engine (history.cpp) asks of a database. One engine — the queue,
// the single writer thread, the rollup arithmetic, retention, the uptime algorithm — over two
// stores: SQLite (sqlite_store.cpp, one file) and PostgreSQL (postgres_store.cpp, shared by
// the shards of a monitor). Times of rows are seconds since the epoch for rollup rows and
// milliseconds for results, transitions and incidents.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/history.hpp"

namespace vitals::history_detail {

/// A time stored as milliseconds since the epoch.
inline std::chrono::system_clock::time_point from_ms(std::int64_t ms) {
  return std::chrono::system_clock::time_point{std::chrono::milliseconds{ms}};
}

/// A failed database call. `corrupt`: the store cannot be read at all (SQLite: not a database,
/// malformed), so it is moved aside and started again. `standby`: another instance holds the
/// writer lock (PostgreSQL); not a fault.
struct store_error : std::runtime_error {
  bool corrupt = false;
  bool standby = false;
  explicit store_error(const std::string& what, bool is_corrupt = false, bool is_standby = false)
      : std::runtime_error(what), corrupt(is_corrupt), standby(is_standby) {}
};

/// Running totals: every run (and failure) of a target up to the end of a day.
struct totals {
  std::uint64_t count = 0;
  std::uint64_t failures = 0;
};

/// A target's row of one day, as the writer reloads it.
struct day_row {
  std::string data;
  totals before{};  ///< the running totals before that day
  totals day{};     ///< the day's own
};

/// A rollup row: one target, one period (minutes: an hour of 60 buckets; hours: a day of 24;
/// days: one bucket, with the running totals).
struct rollup_row {
  std::int64_t target = 0;
  std::int64_t period = 0;
  totals own{};
  totals cumulative{};  ///< days only
  std::string data;
};

enum class rollup : std::uint8_t { minutes, hours, days };

/// Cutoffs of one round of retention (each removes at most `batch` rows per table).
struct expiry {
  std::int64_t minutes_before = 0;    ///< hour rows starting before (s)
  std::int64_t hours_before = 0;      ///< day rows (s)
  std::int64_t days_before = 0;       ///< day rows (s)
  std::int64_t events_before_ms = 0;  ///< transitions and closed incidents
  int batch = 2000;
};

/// A target the writer meets for the first time in a flush, with the hour and day (s) of its
/// first result there.
struct first_seen {
  std::string name;
  std::int64_t hour = 0;
  std::int64_t day = 0;
};

/// The writer's connection. Between begin() and commit() the writes may be applied at once
/// (SQLite) or gathered and sent together at commit (PostgreSQL): callers read nothing they
/// wrote in the same transaction.
class writer_store {
 public:
  virtual ~writer_store() = default;
  virtual void begin() = 0;
  /// After begin(): the targets of this flush the writer does not know yet. A store for which
  /// a read is a round trip (PostgreSQL) loads their ids, raw counts and rows of those periods
  /// at once here, so that target(), rollup_data(), day() and totals_before() answer them
  /// without one; by default nothing is done.
  virtual void preload(const std::vector<first_seen>& targets) { static_cast<void>(targets); }
  /// Commits; returns the rows that the transaction's expire() removed.
  virtual std::uint64_t commit() = 0;
  virtual void rollback() noexcept = 0;

  /// The id of a target (added if new) and how many raw results it keeps.
  virtual std::pair<std::int64_t, std::uint64_t> target(const std::string& name) = 0;
  /// The stored row of a target and period (empty when none).
  virtual std::string rollup_data(rollup level, std::int64_t target, std::int64_t period) = 0;
  virtual std::optional<day_row> day(std::int64_t target, std::int64_t day) = 0;
  /// The running totals of the latest day row before `day` (zero when none).
  virtual totals totals_before(std::int64_t target, std::int64_t day) = 0;

  virtual void put(rollup level, const rollup_row& row) = 0;
  virtual void put_result(std::int64_t target, std::int64_t t_ms, status result, failure_kind kind,
                          std::int64_t duration_us, const std::string& output) = 0;
  virtual void put_transition(std::int64_t target, std::int64_t t_ms, status from, status to,
                              const std::string& output) = 0;
  /// A failure opens an incident unless one is open (a restart during an incident sees
  /// unknown -> fail again: the same incident goes on); a recovery closes it.
  virtual void open_incident(std::int64_t target, std::int64_t t_ms, const std::string& cause) = 0;
  virtual void close_incident(std::int64_t target, std::int64_t t_ms) = 0;
  /// Keeps the latest `keep` raw results of a target.
  virtual void trim_results(std::int64_t target, std::uint64_t keep) = 0;
  virtual void expire(const expiry& e) = 0;
};

/// A reading connection (one caller at a time).
class reader_store {
 public:
  virtual ~reader_store() = default;
  using row_fn = std::function<void(std::int64_t target, std::int64_t period, std::string_view)>;

  virtual std::optional<std::int64_t> id_of(std::string_view name) = 0;
  /// Rows of one target with period in [lo, hi), oldest first.
  virtual void rows(rollup level, std::int64_t target, std::int64_t lo, std::int64_t hi,
                    const row_fn& fn) = 0;
  /// Rows of every target with period >= lo (minutes and hours).
  virtual void rows_since(rollup level, std::int64_t lo, const row_fn& fn) = 0;
  /// The running totals of a target's latest day row on or before `day` (none: zero).
  virtual totals totals_at(std::int64_t target, std::int64_t day) = 0;
  /// The running totals of every target with a row on exactly `day`.
  virtual void totals_on(std::int64_t day,
                         const std::function<void(std::int64_t target, totals)>& fn) = 0;
  /// The first day with a row of any target.
  virtual std::optional<std::int64_t> first_day() = 0;
  /// Every target, by name.
  virtual void names(const std::function<void(std::int64_t id, std::string_view name)>& fn) = 0;
  virtual std::vector<history_result> recent(std::int64_t target, std::size_t limit) = 0;
  virtual std::vector<history_transition> transitions(std::int64_t target, std::int64_t from_ms,
                                                      std::int64_t to_ms, std::size_t limit) = 0;
  /// Incidents overlapping [from_ms, to_ms), of `target` only unless empty, newest first.
  virtual std::vector<history_incident> incidents(std::int64_t from_ms, std::int64_t to_ms,
                                                  std::string_view target, std::size_t limit) = 0;
};

/// Opens connections to one database.
class store {
 public:
  virtual ~store() = default;
  /// What log lines and faults call it (a path, or a URL without its password).
  [[nodiscard]] virtual std::string where() const = 0;
  /// Opens the writer's connection, migrating the schema. Throws store_error.
  virtual std::unique_ptr<writer_store> open_writer() = 0;
  virtual std::unique_ptr<reader_store> open_reader() = 0;
  /// A corrupt store is moved aside (the next open starts again); returns what happened.
  virtual std::string move_aside(std::int64_t now_s) = 0;
  /// The size of the database (file and log, or relations), after a commit.
  virtual std::uint64_t bytes(writer_store& w) = 0;
};

/// The two stores (they throw std::runtime_error on invalid options).
std::unique_ptr<store> make_sqlite_store(const history_options& options);
std::unique_ptr<store> make_postgres_store(const history_options& options);

}  // namespace vitals::history_detail
