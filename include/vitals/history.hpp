#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/clock.hpp"
#include "vitals/observer.hpp"
#include "vitals/status.hpp"

namespace vitals {

/// Where and how long results are kept (`storage: {sqlite: ...}` or `storage: {postgres: ...}`
/// in vitalsd, docs/history.md).
struct history_options {
  /// sqlite_history: the SQLite file (created with its directory's permissions; WAL mode).
  std::string path{};
  /// postgres_history: the server, as a libpq URL or keyword string
  /// (`postgresql://vitals:secret@db:5432/monitor`); its password never reaches a log or a fault.
  std::string url{};
  /// postgres_history: the PostgreSQL schema holding the tables (created if missing).
  std::string schema = "vitals";
  /// postgres_history: the name of the writer lock (a session advisory lock). Of the instances
  /// sharing a database with the same lock name, one writes and the others stand by (they
  /// check, serve and read, and take over within seconds when the writer goes away): replicas
  /// of one shard. Empty: no lock (every instance writes its own targets).
  std::string writer_lock{};
  /// The latest raw results kept per target (transitions are kept apart, all of them).
  std::size_t raw_per_target = 100;
  /// Retention of each rollup level and of transitions.
  std::chrono::hours keep_minutes{48};
  std::chrono::hours keep_hours{24 * 90};
  std::chrono::hours keep_days{24 * 730};
  std::chrono::hours keep_transitions{24 * 730};
  /// How often the writer commits what arrived (one transaction each time).
  std::chrono::milliseconds flush_interval{1000};
  /// Results and transitions waiting for the writer; past it the oldest are dropped and
  /// counted in history_stats::dropped.
  std::size_t max_pending = 100000;
  /// The wall clock retention is measured against (null: the real one; tests inject a
  /// vitals::testing::manual_clock).
  std::shared_ptr<vitals::clock> clock{};
  friend bool operator==(const history_options&, const history_options&) = default;
};

/// One rollup bucket: the runs of one target that finished in [start, start + width).
struct history_bucket {
  std::chrono::system_clock::time_point start{};
  std::chrono::seconds width{60};
  std::uint64_t count = 0;
  std::uint64_t failures = 0;  ///< runs that failed (warnings are not failures)
  /// Latency of the runs, in milliseconds (0 when count is 0). The percentiles are estimated
  /// from a fixed histogram (history_latency_bounds_ms) and clamped to [min, max].
  double min_ms = 0, avg_ms = 0, max_ms = 0, p50_ms = 0, p95_ms = 0, p99_ms = 0;
};

/// Upper bounds (milliseconds) of the latency histogram kept in every bucket; the last bucket
/// is unbounded.
inline constexpr std::array<double, 13> history_latency_bounds_ms{
    1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};

enum class history_resolution : std::uint8_t { minute, hour, day };

/// A window of uptime: the runs counted and how many failed.
struct uptime_window {
  std::string window{};  ///< "1h", "24h", "7d", "30d", "365d"
  std::uint64_t count = 0;
  std::uint64_t failures = 0;
  /// (count - failures) / count, or nothing when no run was counted.
  [[nodiscard]] std::optional<double> ratio() const noexcept {
    if (count == 0) return std::nullopt;
    return static_cast<double>(count - failures) / static_cast<double>(count);
  }
};

struct target_uptime {
  std::string target{};
  std::vector<uptime_window> windows{};
};

/// One kept run.
struct history_result {
  std::chrono::system_clock::time_point time{};
  status result = status::unknown;
  failure_kind kind = failure_kind::none;
  std::chrono::microseconds duration{0};
  std::string output{};
};

/// One change of a target's reported status.
struct history_transition {
  std::chrono::system_clock::time_point time{};
  status from = status::unknown;
  status to = status::unknown;
  std::string output{};
};

/// A span during which a target reported `fail`: from its transition to fail to the next
/// transition to pass or warn (none yet: ongoing). A restart during an incident continues it.
struct history_incident {
  std::string target{};
  std::chrono::system_clock::time_point start{};
  std::optional<std::chrono::system_clock::time_point> end{};
  std::string cause{};  ///< the output of the transition that opened it
};

/// The writer's own figures, for /metrics and the storage check.
struct history_stats {
  std::uint64_t flushes = 0;          ///< committed transactions
  std::uint64_t results_written = 0;  ///< raw result rows
  std::uint64_t rows_written = 0;     ///< rollup rows upserted
  std::uint64_t rows_expired = 0;     ///< rows removed by retention
  std::uint64_t dropped = 0;          ///< raw results/transitions dropped (writer behind/fault)
  std::uint64_t faults = 0;           ///< failed flushes or opens
  std::uint64_t recovered_files = 0;  ///< corrupt files moved aside and started again
  std::chrono::nanoseconds last_flush{0};
  std::uint64_t file_bytes = 0;  ///< the database and its WAL (PostgreSQL: its tables)
  /// Empty while healthy; otherwise why the last write failed.
  std::string fault{};
  /// PostgreSQL: another instance holds the writer lock; this one writes nothing (its runs are
  /// counted in skipped) and takes over when the lock is free.
  bool standby = false;
  std::uint64_t skipped = 0;  ///< results and transitions not written while standing by
};

/// What the read API asks of a history (implemented by sqlite_history and postgres_history).
/// Thread-safe.
class history_reader {
 public:
  virtual ~history_reader() = default;
  /// The rollup buckets of `target` that start in [from, to), oldest first.
  [[nodiscard]] virtual std::vector<history_bucket> buckets(
      std::string_view target, history_resolution resolution,
      std::chrono::system_clock::time_point from,
      std::chrono::system_clock::time_point to) const = 0;
  /// The uptime of every target in the history over 1h, 24h (minute and hour buckets), 7d, 30d
  /// and 365d (whole UTC days, today included), as of `now`. Never scans raw rows.
  [[nodiscard]] virtual std::vector<target_uptime> uptimes(
      std::chrono::system_clock::time_point now) const = 0;
  /// uptimes() as of the latest flush, kept fresh by the writer while it is asked for (at most
  /// one flush interval old): what the API serves, so a page never waits for the query.
  [[nodiscard]] virtual std::shared_ptr<const std::vector<target_uptime>> latest_uptimes()
      const = 0;
  /// The same for one target (nothing if it has no history).
  [[nodiscard]] virtual std::optional<target_uptime> uptime(
      std::string_view target, std::chrono::system_clock::time_point now) const = 0;
  /// The latest kept runs, newest first (at most `limit`).
  [[nodiscard]] virtual std::vector<history_result> recent(std::string_view target,
                                                           std::size_t limit) const = 0;
  /// Transitions in [from, to), newest first (at most `limit`).
  [[nodiscard]] virtual std::vector<history_transition> transitions(
      std::string_view target, std::chrono::system_clock::time_point from,
      std::chrono::system_clock::time_point to, std::size_t limit) const = 0;
  /// Incidents that overlap [from, to) (of `target` only, unless empty), newest first (at
  /// most `limit`).
  [[nodiscard]] virtual std::vector<history_incident> incidents(
      std::chrono::system_clock::time_point from, std::chrono::system_clock::time_point to,
      std::string_view target, std::size_t limit) const = 0;
  [[nodiscard]] virtual history_stats stats() const = 0;
};

/// A results history: a single writer thread batches every finished run into per-minute /
/// per-hour / per-day rollups (count, failures, min/avg/max latency, a latency histogram), the
/// latest raw results and every transition, commits them once per flush_interval, and expires
/// old rows a few at a time. The checks never wait for it: it is an observer of the service
/// (give it to service_options::observers; one history can observe the successive services of
/// reloads). A failing disk, a corrupt file or a lost server is reported by stats() and the
/// writer keeps retrying. Made as a sqlite_history or a postgres_history.
class results_history : public observer, public history_reader {
 public:
  ~results_history() override;
  results_history(const results_history&) = delete;
  results_history& operator=(const results_history&) = delete;

  void on_result(const check_state& state) override;
  void on_transition(const check_state& state, status from, status to) override;

  /// Commits what is pending now and waits for it (tests, shutdown).
  void flush();

  [[nodiscard]] std::vector<history_bucket> buckets(
      std::string_view target, history_resolution resolution,
      std::chrono::system_clock::time_point from,
      std::chrono::system_clock::time_point to) const override;
  [[nodiscard]] std::vector<target_uptime> uptimes(
      std::chrono::system_clock::time_point now) const override;
  [[nodiscard]] std::shared_ptr<const std::vector<target_uptime>> latest_uptimes() const override;
  [[nodiscard]] std::optional<target_uptime> uptime(
      std::string_view target, std::chrono::system_clock::time_point now) const override;
  [[nodiscard]] std::vector<history_result> recent(std::string_view target,
                                                   std::size_t limit) const override;
  [[nodiscard]] std::vector<history_transition> transitions(
      std::string_view target, std::chrono::system_clock::time_point from,
      std::chrono::system_clock::time_point to, std::size_t limit) const override;
  [[nodiscard]] std::vector<history_incident> incidents(std::chrono::system_clock::time_point from,
                                                        std::chrono::system_clock::time_point to,
                                                        std::string_view target,
                                                        std::size_t limit) const override;
  [[nodiscard]] history_stats stats() const override;
  /// Where the history is: the SQLite path, or the PostgreSQL URL without its password.
  [[nodiscard]] std::string where() const;

  struct impl;

 protected:
  explicit results_history(std::unique_ptr<impl> engine);

 private:
  std::unique_ptr<impl> impl_;
};

/// The history in one SQLite file (WAL mode, libsqlite3 loaded when the first one opens):
///
///     auto h = std::make_shared<vitals::sqlite_history>(
///         vitals::history_options{.path = "/var/lib/vitalsd/history.db"});
///     vitals::service svc{std::move(reg), {.observers = {h}}};
///
/// A corrupt file is moved aside and started again. Throws std::runtime_error when the options
/// are invalid (empty path, zero retention).
class sqlite_history final : public results_history {
 public:
  explicit sqlite_history(history_options options);
  /// The schema version this build writes (PRAGMA user_version); older files are migrated.
  static constexpr int schema_version = 2;
};

/// The history in a PostgreSQL database (libpq loaded when the first one opens), which the
/// shards of a monitor share: any of them reads every target's history.
///
///     auto h = std::make_shared<vitals::postgres_history>(vitals::history_options{
///         .url = "postgresql://vitals@db/monitor", .writer_lock = "shard 0/4"});
///
/// A lost server is retried (1 s, doubling to 5 s) while results wait, bounded by
/// max_pending. Throws std::runtime_error when the options are invalid (empty url or schema,
/// zero retention).
class postgres_history final : public results_history {
 public:
  explicit postgres_history(history_options options);
  /// The schema version this build writes (the `meta` table); older schemas are migrated.
  static constexpr int schema_version = 1;
};

}  // namespace vitals
