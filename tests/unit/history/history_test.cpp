// The SQLite history on real files: rollups, uptime windows, raw results, transitions,
// restarts, retention, a corrupt file, a full disk, a newer schema. Results carry explicit
// times; flush() commits synchronously, so nothing sleeps.
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "vitals/history.hpp"
#include "vitals/snapshot.hpp"
#include "vitals/testing/manual_clock.hpp"

namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;
using vitals::history_options;
using vitals::history_resolution;
using vitals::sqlite_history;
using vitals::status;

namespace fs = std::filesystem;

// The history's clock: 2026-01-01 13:34:56 UTC, fixed (retention is measured against it).
std::shared_ptr<vitals::testing::manual_clock> fixed_clock() {
  auto c = std::make_shared<vitals::testing::manual_clock>();
  c->advance(12h + 34min + 56s);
  return c;
}
const std::shared_ptr<vitals::testing::manual_clock> clk = fixed_clock();
const system_clock::time_point now =
    std::chrono::time_point_cast<std::chrono::seconds>(clk->wall_now());
const system_clock::time_point today = now - now.time_since_epoch() % 24h;

history_options at(std::string path) { return {.path = std::move(path), .clock = clk}; }

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string templ = (fs::temp_directory_path() / "vitals-history-XXXXXX").string();
    path = ::mkdtemp(templ.data());
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  [[nodiscard]] std::string file(const char* name = "history.db") const {
    return (path / name).string();
  }
};

vitals::check_state run(const std::string& name, system_clock::time_point t, status s,
                        std::chrono::milliseconds latency = 10ms, std::string output = "ok") {
  vitals::check_state c;
  c.name = name;
  c.last_run.status = s;
  c.last_run.time = t;
  c.last_run.duration = latency;
  c.last_run.output = std::move(output);
  c.reported = c.last_run;
  return c;
}

const vitals::uptime_window& window(const vitals::target_uptime& u, const std::string& w) {
  for (const auto& x : u.windows) {
    if (x.window == w) return x;
  }
  throw std::runtime_error("no window " + w);
}

TEST(History, RollsUpMinutesHoursAndDays) {
  temp_dir dir;
  sqlite_history h{at(dir.file())};
  const auto hour = today + 10h;
  // Two runs a minute for two hours; every third one fails; latency grows with the minute.
  for (int m = 0; m < 120; ++m) {
    for (int k = 0; k < 2; ++k) {
      const int n = m * 2 + k;
      h.on_result(run("web", hour + std::chrono::minutes{m} + std::chrono::seconds{k * 30},
                      n % 3 == 0 ? status::fail : status::pass, std::chrono::milliseconds{m + 1}));
    }
  }
  h.flush();
  EXPECT_TRUE(h.stats().fault.empty()) << h.stats().fault;
  const auto minutes = h.buckets("web", history_resolution::minute, hour, hour + 2h);
  ASSERT_EQ(minutes.size(), 120U);
  EXPECT_EQ(minutes[0].start, hour);
  EXPECT_EQ(minutes[0].width, 60s);
  EXPECT_EQ(minutes[0].count, 2U);
  EXPECT_EQ(minutes[0].failures, 1U);  // run 0 failed, run 1 passed
  EXPECT_DOUBLE_EQ(minutes[7].min_ms, 8);
  EXPECT_DOUBLE_EQ(minutes[7].max_ms, 8);
  EXPECT_EQ(minutes[119].start, hour + 119min);
  const auto hours = h.buckets("web", history_resolution::hour, today, today + 24h);
  ASSERT_EQ(hours.size(), 2U);
  EXPECT_EQ(hours[0].start, hour);
  EXPECT_EQ(hours[0].count, 120U);
  EXPECT_EQ(hours[0].failures, 40U);
  EXPECT_DOUBLE_EQ(hours[0].min_ms, 1);
  EXPECT_DOUBLE_EQ(hours[0].max_ms, 60);
  EXPECT_NEAR(hours[0].avg_ms, 30.5, 1e-9);
  EXPECT_EQ(hours[1].start, hour + 1h);
  EXPECT_DOUBLE_EQ(hours[1].min_ms, 61);
  const auto days = h.buckets("web", history_resolution::day, today - 24h * 7, today + 24h);
  ASSERT_EQ(days.size(), 1U);
  EXPECT_EQ(days[0].count, 240U);
  EXPECT_EQ(days[0].failures, 80U);
  EXPECT_DOUBLE_EQ(days[0].max_ms, 120);
  // A window cuts the buckets; an unknown target has none.
  EXPECT_EQ(h.buckets("web", history_resolution::minute, hour + 30min, hour + 40min).size(), 10U);
  EXPECT_TRUE(h.buckets("nosuch", history_resolution::minute, hour, hour + 2h).empty());
}

// The uptime figures are computed by hand from the same runs.
TEST(History, UptimeWindowsFromTheRollups) {
  temp_dir dir;
  sqlite_history h{at(dir.file())};
  // One run an hour for 40 days before now; days 3 and 20 ago fail entirely; in the last hour
  // one run a minute, every fifth failing.
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> expect;
  const auto count = [&](const char* w, bool failed) {
    auto& e = expect[w];
    ++e.first;
    if (failed) ++e.second;
  };
  for (auto t = today - 24h * 40; t < now - 1h; t += 1h) {
    const auto day = (today - (t - (t.time_since_epoch() % 24h))) / 24h;
    const bool failed = day == 3 || day == 20;
    h.on_result(run("api", t, failed ? status::fail : status::pass));
    if (t >= now - 24h) count("24h", failed);  // hour buckets starting after now-24h (rounded)
    if (t >= today - 24h * 6) count("7d", failed);
    if (t >= today - 24h * 29) count("30d", failed);
    count("365d", failed);
  }
  for (int m = 59; m >= 0; --m) {
    const auto t = now - std::chrono::minutes{m};
    const bool failed = m % 5 == 0;
    h.on_result(run("api", t, failed ? status::fail : status::pass));
    count("1h", failed), count("24h", failed), count("7d", failed), count("30d", failed),
        count("365d", failed);
  }
  h.flush();
  const auto u = h.uptime("api", now);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->target, "api");
  for (const char* w : {"1h", "7d", "30d", "365d"}) {
    EXPECT_EQ(window(*u, w).count, expect[w].first) << w;
    EXPECT_EQ(window(*u, w).failures, expect[w].second) << w;
  }
  // 24h counts whole hour buckets from the hour of now-23h: the hourly runs of that first hour
  // bucket are in (now-24h rounded down to the hour, now-24h) too.
  const auto& day = window(*u, "24h");
  EXPECT_GE(day.count, expect["24h"].first);
  EXPECT_LE(day.count, expect["24h"].first + 1);
  ASSERT_TRUE(window(*u, "1h").ratio().has_value());
  EXPECT_NEAR(*window(*u, "1h").ratio(), 48.0 / 60.0, 1e-12);
  EXPECT_FALSE(h.uptime("nosuch", now).has_value());
}

TEST(History, UptimesOfAllTargetsAgreeWithEachTarget) {
  temp_dir dir;
  sqlite_history h{at(dir.file())};
  // a: every day for 35 days; b: only the last 3 days (newer than most windows); c: days 30
  // to 10 ago, then nothing (a gap in its rows until today).
  for (int d = 35; d >= 0; --d) {
    const auto base = today - std::chrono::hours{24 * d} + 6h;
    h.on_result(run("a", base, d % 4 == 0 ? status::fail : status::pass));
    if (d <= 3) h.on_result(run("b", base, status::pass));
    if (d <= 30 && d >= 10) h.on_result(run("c", base, d == 12 ? status::fail : status::pass));
  }
  h.on_result(run("a", now - 10min, status::pass));
  h.flush();
  const auto all = h.uptimes(now);
  ASSERT_EQ(all.size(), 3U);
  for (const auto& u : all) {
    const auto one = h.uptime(u.target, now);
    ASSERT_TRUE(one.has_value()) << u.target;
    ASSERT_EQ(u.windows.size(), one->windows.size());
    for (std::size_t i = 0; i < u.windows.size(); ++i) {
      EXPECT_EQ(u.windows[i].window, one->windows[i].window);
      EXPECT_EQ(u.windows[i].count, one->windows[i].count)
          << u.target << " " << u.windows[i].window;
      EXPECT_EQ(u.windows[i].failures, one->windows[i].failures)
          << u.target << " " << u.windows[i].window;
    }
  }
  const auto find = [&](const std::string& n) {
    for (const auto& u : all) {
      if (u.target == n) return u;
    }
    throw std::runtime_error(n);
  };
  EXPECT_EQ(window(find("a"), "7d").count, 8U);  // 7 days of one run + the run 10 min ago
  EXPECT_EQ(window(find("a"), "30d").count, 31U);
  EXPECT_EQ(window(find("a"), "365d").count, 37U);
  EXPECT_EQ(window(find("a"), "1h").count, 1U);
  EXPECT_EQ(window(find("b"), "7d").count, 4U);
  EXPECT_EQ(window(find("b"), "365d").count, 4U);
  EXPECT_EQ(window(find("c"), "7d").count, 0U);
  EXPECT_EQ(window(find("c"), "30d").count, 20U);  // days 29..10
  EXPECT_EQ(window(find("c"), "30d").failures, 1U);
  EXPECT_EQ(window(find("c"), "365d").count, 21U);
  EXPECT_FALSE(window(find("c"), "1h").ratio().has_value());
}

TEST(History, KeepsTheLatestRawResultsAndEveryTransition) {
  temp_dir dir;
  auto o = at(dir.file());
  o.raw_per_target = 10;
  sqlite_history h{o};
  for (int i = 0; i < 100; ++i) {
    h.on_result(run("db", now - std::chrono::seconds{100 - i}, status::pass, 5ms,
                    "run " + std::to_string(i)));
    if (i % 10 == 9) h.flush();
  }
  auto c = run("db", now, status::fail, 2s, "connection refused");
  h.on_result(c);
  h.on_transition(c, status::pass, status::fail);
  h.flush();
  const auto recent = h.recent("db", 1000);
  ASSERT_GE(recent.size(), 10U);
  EXPECT_LE(recent.size(), 10U + 10 / 4 + 1);
  EXPECT_EQ(recent[0].output, "connection refused");
  EXPECT_EQ(recent[0].result, status::fail);
  EXPECT_EQ(recent[0].duration, 2s);
  EXPECT_EQ(recent[0].time, now);
  EXPECT_EQ(recent[1].output, "run 99");
  EXPECT_EQ(h.recent("db", 3).size(), 3U);
  const auto tr = h.transitions("db", now - 1h, now + 1s, 10);
  ASSERT_EQ(tr.size(), 1U);
  EXPECT_EQ(tr[0].from, status::pass);
  EXPECT_EQ(tr[0].to, status::fail);
  EXPECT_EQ(tr[0].output, "connection refused");
  EXPECT_TRUE(h.transitions("db", now - 2h, now - 1h, 10).empty());
  // The rollups count every run, not only the kept ones.
  const auto minutes = h.buckets("db", history_resolution::minute, now - 1h, now + 1min);
  std::uint64_t total = 0;
  for (const auto& b : minutes) total += b.count;
  EXPECT_EQ(total, 101U);
}

TEST(History, ARestartContinuesTheSameBuckets) {
  temp_dir dir;
  const auto t = today + 8h + 5min;
  {
    sqlite_history h{at(dir.file())};
    h.on_result(run("x", today - 24h + 1h, status::pass));  // yesterday, for the running totals
    h.on_result(run("x", t, status::pass, 3ms));
    h.on_result(run("x", t + 10s, status::fail, 7ms));
  }  // the destructor commits what is pending
  sqlite_history h{at(dir.file())};
  h.on_result(run("x", t + 20s, status::pass, 5ms));
  h.flush();
  const auto m = h.buckets("x", history_resolution::minute, t - 5min, t + 1min);
  ASSERT_EQ(m.size(), 1U);
  EXPECT_EQ(m[0].count, 3U);
  EXPECT_EQ(m[0].failures, 1U);
  EXPECT_DOUBLE_EQ(m[0].min_ms, 3);
  EXPECT_DOUBLE_EQ(m[0].max_ms, 7);
  const auto u = h.uptime("x", today + 9h);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(window(*u, "7d").count, 4U);
  EXPECT_EQ(window(*u, "7d").failures, 1U);
}

TEST(History, RetentionExpiresOldRowsAndKeepsTheCoarserOnes) {
  temp_dir dir;
  auto o = at(dir.file());
  o.keep_hours = 24h * 10;
  sqlite_history h{o};
  const auto real_now = now;
  const auto old = real_now - 24h * 5;     // minutes expired, hours and days kept
  const auto older = real_now - 24h * 20;  // only the day kept
  h.on_result(run("r", older, status::pass));
  h.on_result(run("r", old, status::fail));
  h.on_result(run("r", real_now - 1min, status::pass));
  h.flush();
  h.flush();  // expiry runs in every flush, a batch at a time
  EXPECT_GT(h.stats().rows_expired, 0U);
  const auto range_from = real_now - 24h * 30;
  const auto m = h.buckets("r", history_resolution::minute, range_from, real_now + 1h);
  ASSERT_EQ(m.size(), 1U);
  EXPECT_GT(m[0].start, real_now - 1h);
  const auto hr = h.buckets("r", history_resolution::hour, range_from, real_now + 1h);
  ASSERT_EQ(hr.size(), 2U);
  EXPECT_EQ(hr[0].failures, 1U);
  const auto d = h.buckets("r", history_resolution::day, range_from, real_now + 24h);
  EXPECT_EQ(d.size(), 3U);
}

TEST(History, ACorruptFileIsMovedAsideAndHistoryStartsAgain) {
  temp_dir dir;
  {
    std::ofstream f{dir.file(), std::ios::binary};
    f << std::string(8192, 'x');
  }
  sqlite_history h{at(dir.file())};
  h.on_result(run("y", now, status::pass));
  h.flush();
  const auto st = h.stats();
  EXPECT_EQ(st.recovered_files, 1U);
  EXPECT_TRUE(st.fault.empty()) << st.fault;
  EXPECT_EQ(h.recent("y", 5).size(), 1U);
  bool aside = false;
  for (const auto& e : fs::directory_iterator(dir.path)) {
    aside = aside || e.path().filename().string().starts_with("history.db.corrupt-");
  }
  EXPECT_TRUE(aside);
}

TEST(History, AFullDiskIsReportedAndWhatWaitedIsWrittenOnRecovery) {
  temp_dir dir;
  auto o = at(dir.file());
  o.flush_interval = 1h;
  sqlite_history h{o};
  h.on_result(run("z", now - 1min, status::pass));
  h.flush();
  ASSERT_TRUE(h.stats().fault.empty());
  // A file size limit stands in for a full disk: writes past it fail with EFBIG.
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &before), 0);
  const auto previous = std::signal(SIGXFSZ, SIG_IGN);
  const std::uint64_t used = fs::file_size(dir.file()) + fs::file_size(dir.file() + "-wal");
  rlimit small = before;
  small.rlim_cur = used + 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  for (int i = 0; i < 200; ++i) {
    h.on_result(run("z", now - 30s + std::chrono::milliseconds{i}, status::fail, 1ms,
                    std::string(2000, static_cast<char>('a' + i % 26))));
  }
  h.flush();
  const auto faulty = h.stats();
  ::setrlimit(RLIMIT_FSIZE, &before);
  std::signal(SIGXFSZ, previous);
  EXPECT_FALSE(faulty.fault.empty());
  EXPECT_GE(faulty.faults, 1U);
  // The reader still answers from what was committed.
  EXPECT_EQ(h.recent("z", 500).size(), 1U);
  // The space is back: the next flush writes what waited (the writer retries after a second).
  for (int i = 0; i < 50 && !h.stats().fault.empty(); ++i) {
    std::this_thread::sleep_for(50ms);  // the bounded reopen delay of the writer
    h.flush();
  }
  EXPECT_TRUE(h.stats().fault.empty()) << h.stats().fault;
  EXPECT_EQ(h.recent("z", 500).size(), 100U);  // 201 runs, trimmed to the latest 100
  const auto m = h.buckets("z", history_resolution::minute, now - 5min, now + 1min);
  std::uint64_t total = 0, failures = 0;
  for (const auto& b : m) total += b.count, failures += b.failures;
  EXPECT_EQ(total, 201U);
  EXPECT_EQ(failures, 200U);
}

TEST(History, AFileOfANewerSchemaIsRefusedNotRewritten) {
  temp_dir dir;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(::sqlite3_open(dir.file().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(::sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
    ::sqlite3_close(db);
  }
  sqlite_history h{at(dir.file())};
  h.on_result(run("n", now, status::pass));
  h.flush();
  const auto st = h.stats();
  EXPECT_NE(st.fault.find("newer"), std::string::npos) << st.fault;
  EXPECT_EQ(st.recovered_files, 0U);
  EXPECT_TRUE(h.recent("n", 5).empty());
}

TEST(History, IncidentsSpanFromAFailureToTheRecoveryAndSurviveARestart) {
  temp_dir dir;
  const auto fail_at = now - 50min;
  const auto ok_at = now - 40min;
  {
    sqlite_history h{at(dir.file())};
    auto a = run("api", fail_at, status::fail, 1ms, "connection refused");
    h.on_transition(a, status::pass, status::fail);
    h.on_transition(run("api", ok_at, status::pass), status::fail, status::pass);
    h.on_transition(run("db", now - 30min, status::fail, 1ms, "timeout"), status::unknown,
                    status::fail);
    h.on_transition(run("cache", now - 20min, status::warn), status::pass, status::warn);
  }
  // A restart during db's incident: its checks start unknown and fail again; the incident
  // that was open goes on.
  sqlite_history h{at(dir.file())};
  h.on_transition(run("db", now - 5min, status::fail, 1ms, "timeout"), status::unknown,
                  status::fail);
  h.flush();
  const auto all = h.incidents(now - 1h, now + 1s, "", 10);
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0].target, "db");  // newest first
  EXPECT_EQ(all[0].start, now - 30min);
  EXPECT_FALSE(all[0].end.has_value());
  EXPECT_EQ(all[0].cause, "timeout");
  EXPECT_EQ(all[1].target, "api");
  EXPECT_EQ(all[1].start, fail_at);
  ASSERT_TRUE(all[1].end.has_value());
  EXPECT_EQ(*all[1].end, ok_at);
  EXPECT_EQ(all[1].cause, "connection refused");
  // Overlap: api's incident ended before this window; db's is still open.
  const auto late = h.incidents(now - 35min, now + 1s, "", 10);
  ASSERT_EQ(late.size(), 1U);
  EXPECT_EQ(late[0].target, "db");
  EXPECT_EQ(h.incidents(now - 1h, now + 1s, "api", 10).size(), 1U);
  EXPECT_TRUE(h.incidents(now - 1h, now + 1s, "cache", 10).empty());  // a warning is no incident
  EXPECT_EQ(h.incidents(now - 1h, now + 1s, "", 1).size(), 1U);
  // The recovery closes it.
  h.on_transition(run("db", now - 1min, status::pass), status::fail, status::pass);
  h.flush();
  const auto closed = h.incidents(now - 1h, now + 1s, "db", 10);
  ASSERT_EQ(closed.size(), 1U);
  ASSERT_TRUE(closed[0].end.has_value());
  EXPECT_EQ(*closed[0].end, now - 1min);
}

TEST(History, AnOlderSchemaIsMigratedInPlace) {
  temp_dir dir;
  {
    sqlite_history h{at(dir.file())};
    h.on_result(run("m", now - 1min, status::pass));
  }
  {
    // Back to version 1: no incidents table.
    sqlite3* db = nullptr;
    ASSERT_EQ(::sqlite3_open(dir.file().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(::sqlite3_exec(db, "DROP TABLE incidents; PRAGMA user_version=1", nullptr, nullptr,
                             nullptr),
              SQLITE_OK);
    ::sqlite3_close(db);
  }
  sqlite_history h{at(dir.file())};
  h.on_transition(run("m", now, status::fail, 1ms, "down"), status::pass, status::fail);
  h.flush();
  EXPECT_TRUE(h.stats().fault.empty()) << h.stats().fault;
  EXPECT_EQ(h.incidents(now - 1h, now + 1s, "m", 10).size(), 1U);
  EXPECT_EQ(h.recent("m", 10).size(), 1U);  // what version 1 held is still there
  sqlite3* db = nullptr;
  ASSERT_EQ(::sqlite3_open(dir.file().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(::sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(::sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(::sqlite3_column_int(st, 0), sqlite_history::schema_version);
  ::sqlite3_finalize(st);
  ::sqlite3_close(db);
}

TEST(History, BadOptionsAreRefused) {
  EXPECT_THROW(sqlite_history({.path = ""}), std::runtime_error);
  temp_dir dir;
  EXPECT_THROW(sqlite_history({.path = dir.file(), .keep_minutes = 0h}), std::runtime_error);
  EXPECT_THROW(sqlite_history({.path = dir.file(), .flush_interval = 0ms}), std::runtime_error);
}

}  // namespace
