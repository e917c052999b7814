// The history's bars (docs/benchmarks.md#history).
//
//   vitals_bench_history generate <file> [targets=10000] [days=30] [interval_s=10]
//       Writes what vitals::sqlite_history holds after `days` of `targets` checked every
//       `interval_s` with the default retention: minute rows of the last 48 h, hour and day rows
//       of every day, the latest 100 runs and the transitions of each target. The buckets are
//       filled with the store's own code (history/bucket.hpp) from simulated runs (latency
//       1-60 ms, a few outages of 1-10 minutes per target), the schema is the store's own.
//   vitals_bench_history query <file> [repeats=20]
//       Times the reads of the API on that file through vitals::sqlite_history: the uptime of
//       every target, one target's uptime, its buckets at each resolution; prints table sizes.
//   vitals_bench_history ingest <file> [targets=10000] [seconds=120] [interval_s=10]
//       Feeds the results of `targets` checked every `interval_s` for `seconds` of simulated
//       time through on_result() and one flush per simulated second: the writer's CPU per
//       second of real traffic. `<file>` may be a PostgreSQL URL (postgresql://...): the same
//       through vitals::postgres_history into a fresh schema `bench_ingest` (dropped first),
//       with the CPU of the server's processes (every `postgres` process) counted apart.
#include <dirent.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "history/bucket.hpp"
#include "vitals/history.hpp"
#include "vitals/snapshot.hpp"

namespace {

using std::chrono::system_clock;
using vitals::history_detail::bucket;
using vitals::history_detail::encode;

double cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// CPU seconds of every process named `postgres` (the server and its backends) so far.
double postgres_cpu_seconds() {
  double total = 0;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return 0;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const std::string stat = std::string{"/proc/"} + e->d_name + "/stat";
    std::FILE* f = std::fopen(stat.c_str(), "r");
    if (f == nullptr) continue;
    char line[1024] = {};
    const std::size_t n = std::fread(line, 1, sizeof line - 1, f);
    std::fclose(f);
    const std::string s{line, n};
    const auto open = s.find('(');
    const auto close = s.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    if (s.substr(open + 1, close - open - 1) != "postgres") continue;
    // After ") ": state, then fields 4..; utime and stime are fields 14 and 15.
    unsigned long long utime = 0, stime = 0;
    const char* p = s.c_str() + close + 2;
    int field = 3;
    while (*p != '\0' && field < 14) {
      if (*p++ == ' ') ++field;
    }
    if (std::sscanf(p, "%llu %llu", &utime, &stime) == 2) {
      total += static_cast<double>(utime + stime) / tick;
    }
  }
  ::closedir(d);
  return total;
}

// Drops the bench's schema in the database of `url`.
void drop_schema(const std::string& url, const char* schema) {
  PGconn* c = ::PQconnectdb(url.c_str());
  if (::PQstatus(c) != CONNECTION_OK) {
    const std::string why = ::PQerrorMessage(c);
    ::PQfinish(c);
    throw std::runtime_error("connect: " + why);
  }
  ::PQclear(::PQexec(c, "SET client_min_messages = warning"));
  ::PQclear(::PQexec(c, (std::string{"DROP SCHEMA IF EXISTS "} + schema + " CASCADE").c_str()));
  ::PQfinish(c);
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw std::runtime_error(std::string{what} + ": " + ::sqlite3_errmsg(db));
  }
}

struct statement {
  sqlite3* db;
  sqlite3_stmt* s = nullptr;
  statement(sqlite3* d, const char* sql) : db(d) {
    check(::sqlite3_prepare_v2(d, sql, -1, &s, nullptr), d, sql);
  }
  ~statement() { ::sqlite3_finalize(s); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  void run() {
    check(::sqlite3_step(s), db, "step");
    ::sqlite3_reset(s);
  }
};

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(system_clock::now().time_since_epoch())
      .count();
}

int generate(const std::string& path, int targets, int days, int interval) {
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  { vitals::sqlite_history schema{{.path = path}}; }  // the store's own schema, empty
  sqlite3* db = nullptr;
  check(::sqlite3_open(path.c_str(), &db), db, "open");
  check(::sqlite3_exec(db, "PRAGMA synchronous=OFF; BEGIN", nullptr, nullptr, nullptr), db,
        "begin");
  statement add_target{db, "INSERT INTO targets(id, name) VALUES(?1, ?2)"};
  statement minutes{
      db, "INSERT INTO minutes(target, hour, count, failures, data) VALUES(?1, ?2, ?3, ?4, ?5)"};
  statement hours{
      db, "INSERT INTO hours(target, day, count, failures, data) VALUES(?1, ?2, ?3, ?4, ?5)"};
  statement daily{db,
                  "INSERT INTO days(target, day, count, failures, cum_count, cum_failures, data) "
                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"};
  statement result{db,
                   "INSERT INTO results(target, t, status, kind, duration_us, output) "
                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6)"};
  statement transition{db,
                       "INSERT INTO transitions(target, t, from_status, to_status, output) "
                       "VALUES(?1, ?2, ?3, ?4, ?5)"};

  const auto t0 = std::chrono::steady_clock::now();
  const std::int64_t now = unix_now() / 60 * 60;
  const std::int64_t first_day = (now - std::int64_t{days} * 86400) / 86400 * 86400;
  const std::int64_t keep_minutes_from = now - std::int64_t{48} * 3600;
  const int runs_per_minute = std::max(1, 60 / interval);
  std::mt19937_64 rng{42};
  std::string blob;
  std::uint64_t rows = 0;
  std::uint64_t runs = 0;
  for (int id = 1; id <= targets; ++id) {
    const std::string name = "t." + std::to_string(id);
    sqlite3_bind_int(add_target.s, 1, id);
    sqlite3_bind_text(add_target.s, 2, name.c_str(), -1, SQLITE_TRANSIENT);
    add_target.run();
    // A few outages of 1 to 10 minutes over the period.
    std::vector<std::pair<std::int64_t, std::int64_t>> outages;
    for (int i = 0; i < days / 3 + 1; ++i) {
      const std::int64_t at = first_day + static_cast<std::int64_t>(
                                              rng() % static_cast<std::uint64_t>(now - first_day));
      outages.emplace_back(at / 60 * 60,
                           at / 60 * 60 + 60 * static_cast<std::int64_t>(1 + rng() % 10));
    }
    std::sort(outages.begin(), outages.end());
    for (const auto& [from, to] : outages) {
      for (const auto& [t, a, b] : {std::tuple{from, 1, 3}, std::tuple{to, 3, 1}}) {
        sqlite3_bind_int(transition.s, 1, id);
        sqlite3_bind_int64(transition.s, 2, t * 1000);
        sqlite3_bind_int(transition.s, 3, a);
        sqlite3_bind_int(transition.s, 4, b);
        sqlite3_bind_text(transition.s, 5, a == 1 ? "dial tcp: connection refused" : "", -1,
                          SQLITE_STATIC);
        transition.run();
        ++rows;
      }
    }
    std::uint64_t cum_count = 0, cum_failures = 0;
    for (std::int64_t day = first_day; day < now; day += 86400) {
      std::array<bucket, 24> hour_cells{};
      bucket day_cell;
      for (int h = 0; h < 24; ++h) {
        const std::int64_t hour = day + std::int64_t{h} * 3600;
        if (hour >= now) break;
        std::array<bucket, 60> minute_cells{};
        for (int m = 0; m < 60; ++m) {
          const std::int64_t minute = hour + std::int64_t{m} * 60;
          if (minute >= now) break;
          bool down = false;
          for (const auto& [from, to] : outages) down = down || (minute >= from && minute < to);
          for (int k = 0; k < runs_per_minute; ++k) {
            const std::uint64_t latency_us = down ? 2000000 : 1000 + rng() % 59000;
            minute_cells[static_cast<std::size_t>(m)].add(latency_us, down);
          }
          runs += static_cast<std::uint64_t>(runs_per_minute);
          hour_cells[static_cast<std::size_t>(h)].merge(minute_cells[static_cast<std::size_t>(m)]);
        }
        day_cell.merge(hour_cells[static_cast<std::size_t>(h)]);
        if (hour + 3600 > keep_minutes_from) {
          blob.clear();
          encode(minute_cells, blob);
          std::uint64_t c = 0, f = 0;
          for (const auto& b : minute_cells) c += b.count, f += b.failures;
          sqlite3_bind_int(minutes.s, 1, id);
          sqlite3_bind_int64(minutes.s, 2, hour);
          sqlite3_bind_int64(minutes.s, 3, static_cast<std::int64_t>(c));
          sqlite3_bind_int64(minutes.s, 4, static_cast<std::int64_t>(f));
          sqlite3_bind_blob(minutes.s, 5, blob.data(), static_cast<int>(blob.size()),
                            SQLITE_TRANSIENT);
          minutes.run();
          ++rows;
        }
      }
      blob.clear();
      encode(hour_cells, blob);
      sqlite3_bind_int(hours.s, 1, id);
      sqlite3_bind_int64(hours.s, 2, day);
      sqlite3_bind_int64(hours.s, 3, day_cell.count);
      sqlite3_bind_int64(hours.s, 4, day_cell.failures);
      sqlite3_bind_blob(hours.s, 5, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
      hours.run();
      cum_count += day_cell.count;
      cum_failures += day_cell.failures;
      blob.clear();
      encode(std::span<const bucket>{&day_cell, 1}, blob);
      sqlite3_bind_int(daily.s, 1, id);
      sqlite3_bind_int64(daily.s, 2, day);
      sqlite3_bind_int64(daily.s, 3, day_cell.count);
      sqlite3_bind_int64(daily.s, 4, day_cell.failures);
      sqlite3_bind_int64(daily.s, 5, static_cast<std::int64_t>(cum_count));
      sqlite3_bind_int64(daily.s, 6, static_cast<std::int64_t>(cum_failures));
      sqlite3_bind_blob(daily.s, 7, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
      daily.run();
      rows += 2;
    }
    for (int k = 0; k < 100; ++k) {
      sqlite3_bind_int(result.s, 1, id);
      sqlite3_bind_int64(result.s, 2, (now - std::int64_t{100 - k} * interval) * 1000);
      sqlite3_bind_int(result.s, 3, 1);
      sqlite3_bind_int(result.s, 4, 0);
      sqlite3_bind_int64(result.s, 5, static_cast<std::int64_t>(1000 + rng() % 59000));
      sqlite3_bind_text(result.s, 6, "", -1, SQLITE_STATIC);
      result.run();
      ++rows;
    }
    if (id % 1000 == 0) {
      check(::sqlite3_exec(db, "COMMIT; BEGIN", nullptr, nullptr, nullptr), db, "commit");
      std::fprintf(stderr, "  %d targets, %.0f s\n", id, since(t0));
    }
  }
  check(::sqlite3_exec(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr),
        db, "commit");
  ::sqlite3_close(db);
  const auto bytes = std::filesystem::file_size(path);
  std::printf("generated %d targets x %d days at %d s: %llu runs in %llu rows, %.1f s\n", targets,
              days, interval, static_cast<unsigned long long>(runs),
              static_cast<unsigned long long>(rows), since(t0));
  std::printf("file %s: %.1f MiB\n", path.c_str(), static_cast<double>(bytes) / 1048576.0);
  return 0;
}

template <class F>
void timed(const char* what, int repeats, F&& f) {
  std::vector<double> ms;
  std::size_t n = 0;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    n = f();
    ms.push_back(since(t0) * 1000.0);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%-44s median %8.2f ms  min %8.2f ms  max %8.2f ms  (%zu items)\n", what,
              ms[ms.size() / 2], ms.front(), ms.back(), n);
}

int query(const std::string& path, int repeats) {
  {
    sqlite3* db = nullptr;
    check(::sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), db, "open");
    sqlite3_stmt* s = nullptr;
    const char* sql =
        "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY sum(pgsize) DESC";
    if (::sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK) {
      std::printf("table/index sizes (dbstat):\n");
      while (::sqlite3_step(s) == SQLITE_ROW) {
        std::printf("  %-24s %9.1f MiB\n", reinterpret_cast<const char*>(sqlite3_column_text(s, 0)),
                    static_cast<double>(sqlite3_column_int64(s, 1)) / 1048576.0);
      }
      ::sqlite3_finalize(s);
    }
    ::sqlite3_close(db);
  }
  std::printf("file: %.1f MiB\n",
              static_cast<double>(std::filesystem::file_size(path)) / 1048576.0);
  vitals::sqlite_history h{{.path = path}};
  const auto now = system_clock::now();
  std::vector<vitals::target_uptime> all;
  timed("uptime of every target (1h..365d)", repeats, [&] {
    all = h.uptimes(now);
    return all.size();
  });
  if (!all.empty()) {
    const auto& u = all.front();
    std::printf("  e.g. %s:", u.target.c_str());
    for (const auto& w : u.windows) {
      std::printf(" %s %.5f (%llu runs)", w.window.c_str(), w.ratio().value_or(-1),
                  static_cast<unsigned long long>(w.count));
    }
    std::printf("\n");
  }
  const std::string one = all.empty() ? "t.1" : all[all.size() / 2].target;
  timed("uptime of one target", repeats, [&] { return h.uptime(one, now)->windows.size(); });
  timed("minute buckets of one target, 24h", repeats, [&] {
    return h.buckets(one, vitals::history_resolution::minute, now - std::chrono::hours{24}, now)
        .size();
  });
  timed("hour buckets of one target, 30d", repeats, [&] {
    return h.buckets(one, vitals::history_resolution::hour, now - std::chrono::hours{24 * 30}, now)
        .size();
  });
  timed("day buckets of one target, 365d", repeats, [&] {
    return h.buckets(one, vitals::history_resolution::day, now - std::chrono::hours{24 * 365}, now)
        .size();
  });
  timed("latest 20 runs + 30d of transitions", repeats, [&] {
    return h.recent(one, 20).size() +
           h.transitions(one, now - std::chrono::hours{24 * 30}, now, 100).size();
  });
  return 0;
}

long rss_kib() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "VmRSS: %ld", &kib) == 1) break;
  }
  std::fclose(f);
  return kib;
}

int ingest(const std::string& path, int targets, int seconds, int interval) {
  const bool pg = path.starts_with("postgres");
  std::unique_ptr<vitals::results_history> store;
  if (pg) {
    drop_schema(path, "bench_ingest");
    store = std::make_unique<vitals::postgres_history>(vitals::history_options{
        .url = path, .schema = "bench_ingest", .flush_interval = std::chrono::hours{1}});
  } else {
    std::filesystem::remove(path);
    std::filesystem::remove(path + "-wal");
    std::filesystem::remove(path + "-shm");
    store = std::make_unique<vitals::sqlite_history>(
        vitals::history_options{.path = path, .flush_interval = std::chrono::hours{1}});
  }
  vitals::results_history& h = *store;
  std::vector<vitals::check_state> states(static_cast<std::size_t>(targets));
  for (int i = 0; i < targets; ++i) {
    states[static_cast<std::size_t>(i)].name = "t." + std::to_string(i);
    states[static_cast<std::size_t>(i)].last_run.status = vitals::status::pass;
    states[static_cast<std::size_t>(i)].last_run.output = "ok";
  }
  const auto start = system_clock::now();
  std::mt19937_64 rng{7};
  const long rss_before = rss_kib();
  const double cpu0 = cpu_seconds();
  const double server0 = pg ? postgres_cpu_seconds() : 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<double> flush_ms;
  std::uint64_t fed = 0;
  // From the second interval on every target is known to the writer: the steady state.
  double steady_cpu0 = 0, steady_server0 = 0;
  std::vector<double> steady_ms;
  for (int s = 0; s < seconds; ++s) {
    if (s == interval) {
      steady_cpu0 = cpu_seconds();
      steady_server0 = pg ? postgres_cpu_seconds() : 0;
    }
    // Each target runs once per interval, spread evenly: targets/interval results a second.
    const int per_second = targets / interval;
    const int offset = (s % interval) * per_second;
    for (int k = 0; k < per_second; ++k) {
      auto& c = states[static_cast<std::size_t>(offset) + static_cast<std::size_t>(k)];
      c.last_run.time = start + std::chrono::seconds{s} + std::chrono::milliseconds{k % 1000};
      c.last_run.duration = std::chrono::microseconds{1000 + rng() % 59000};
      h.on_result(c);
      ++fed;
    }
    const auto f0 = std::chrono::steady_clock::now();
    h.flush();
    flush_ms.push_back(since(f0) * 1000.0);
    if (s >= interval) steady_ms.push_back(flush_ms.back());
  }
  const double wall = since(t0);
  const double cpu = cpu_seconds() - cpu0;
  const double server = pg ? postgres_cpu_seconds() - server0 : 0;
  const double steady_cpu = cpu_seconds() - steady_cpu0;
  const double steady_server = pg ? postgres_cpu_seconds() - steady_server0 : 0;
  std::sort(flush_ms.begin(), flush_ms.end());
  std::sort(steady_ms.begin(), steady_ms.end());
  const auto st = h.stats();
  std::printf(
      "ingest: %d targets at %d s for %d simulated s: %llu results in %.2f s wall, %.2f s CPU\n"
      "  CPU per simulated second: %.1f ms (%.2f %% of a core at real time)\n"
      "  flush (one transaction, %d results): median %.1f ms, p99 %.1f ms, max %.1f ms\n"
      "  rows written %llu, file %.1f MiB, faults %llu, dropped %llu\n"
      "  RSS %.1f MiB before the first result, %.1f MiB after (the writer's state of %d targets)\n",
      targets, interval, seconds, static_cast<unsigned long long>(fed), wall, cpu,
      cpu / seconds * 1000.0, cpu / seconds * 100.0, targets / interval,
      flush_ms[flush_ms.size() / 2], flush_ms[flush_ms.size() * 99 / 100], flush_ms.back(),
      static_cast<unsigned long long>(st.rows_written),
      static_cast<double>(st.file_bytes) / 1048576.0, static_cast<unsigned long long>(st.faults),
      static_cast<unsigned long long>(st.dropped), static_cast<double>(rss_before) / 1024.0,
      static_cast<double>(rss_kib()) / 1024.0, targets);
  if (pg) {
    std::printf(
        "  PostgreSQL server: %.2f s CPU, %.1f ms per simulated second (%.2f %% of a core)\n",
        server, server / seconds * 1000.0, server / seconds * 100.0);
  }
  const int steady = seconds - interval;
  if (steady > 0 && !steady_ms.empty()) {
    std::printf(
        "  steady state (from the 2nd interval, every target known): CPU %.1f ms per simulated s "
        "(%.2f %%)%s, flush median %.1f ms, p99 %.1f ms\n",
        steady_cpu / steady * 1000.0, steady_cpu / steady * 100.0,
        pg ? (", server " + std::to_string(steady_server / steady * 1000.0).substr(0, 5) +
              " ms per s")
                 .c_str()
           : "",
        steady_ms[steady_ms.size() / 2], steady_ms[steady_ms.size() * 99 / 100]);
  }
  if (st.fault.empty()) return 0;
  std::fprintf(stderr, "history fault: %s\n", st.fault.c_str());
  return 1;
}

int arg(int argc, char** argv, int i, int fallback) {
  return argc > i ? std::atoi(argv[i]) : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s generate <file> [targets] [days] [interval_s]\n"
                 "       %s query <file> [repeats]\n"
                 "       %s ingest <file> [targets] [seconds] [interval_s]\n",
                 argv[0], argv[0], argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const std::string path = argv[2];
  try {
    if (mode == "generate") {
      return generate(path, arg(argc, argv, 3, 10000), arg(argc, argv, 4, 30),
                      arg(argc, argv, 5, 10));
    }
    if (mode == "query") return query(path, arg(argc, argv, 3, 20));
    if (mode == "ingest") {
      return ingest(path, arg(argc, argv, 3, 10000), arg(argc, argv, 4, 120),
                    arg(argc, argv, 5, 10));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
