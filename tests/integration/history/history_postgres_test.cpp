// The PostgreSQL history against the real server of scripts/test-servers.sh
// (VITALS_TEST_PG_URL), each test in a schema of its own (dropped after): the same answers as
// the SQLite history for the same runs (whose own tests check them against figures computed
// by hand), a restart that continues the buckets, shards sharing one database, the writer
// lock of replicas (one writes, the other stands by and takes over), a lost connection, a
// schema of a newer vitals, and the password in no fault and no log line.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "db_support.hpp"
#include "vitals/history.hpp"
#include "vitals/snapshot.hpp"
#include "vitals/testing/manual_clock.hpp"

namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;
using vitals::history_options;
using vitals::history_resolution;
using vitals::postgres_history;
using vitals::sqlite_history;
using vitals::status;
namespace fs = std::filesystem;

// The history's clock, fixed an hour past the last whole hour (retention counts from it).
std::shared_ptr<vitals::testing::manual_clock> fixed_clock() {
  auto c = std::make_shared<vitals::testing::manual_clock>();
  c->advance(12h + 34min + 56s);
  return c;
}
const std::shared_ptr<vitals::testing::manual_clock> clk = fixed_clock();
const system_clock::time_point now =
    std::chrono::time_point_cast<std::chrono::seconds>(clk->wall_now());
const system_clock::time_point today = now - now.time_since_epoch() % 24h;

// An admin connection of the test itself (plain blocking libpq).
class admin {
 public:
  explicit admin(const std::string& url) : c_(PQconnectdb(url.c_str())) {
    PQclear(PQexec(c_, "SET client_min_messages = warning"));
  }
  ~admin() { PQfinish(c_); }
  admin(const admin&) = delete;
  admin& operator=(const admin&) = delete;
  [[nodiscard]] bool ok() const { return PQstatus(c_) == CONNECTION_OK; }
  // First column of the first row ("" for none), or "<error: ...>".
  std::string scalar(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    std::string out;
    const auto st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK && PQntuples(r) > 0) {
      out = PQgetvalue(r, 0, 0);
    } else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      out = std::string{"<error: "} + PQresultErrorMessage(r) + ">";
    }
    PQclear(r);
    return out;
  }

 private:
  PGconn* c_;
};

// A schema of this test (the same name is the application name of its connections).
class pg_schema {
 public:
  pg_schema(std::string url, const std::string& tag)
      : url_(std::move(url)), name_("it_" + tag + "_" + std::to_string(::getpid())), admin_(url_) {
    drop();
  }
  ~pg_schema() { drop(); }
  pg_schema(const pg_schema&) = delete;
  pg_schema& operator=(const pg_schema&) = delete;

  [[nodiscard]] history_options options(std::string lock = {}) const {
    return {.url = url_with_app(), .schema = name_, .writer_lock = std::move(lock), .clock = clk};
  }
  [[nodiscard]] std::string url_with_app() const {
    return url_ + (url_.find('?') == std::string::npos ? "?" : "&") + "application_name=" + name_;
  }
  [[nodiscard]] const std::string& name() const { return name_; }
  admin& sql() { return admin_; }
  // Ends the server side of every connection of this test's histories.
  int terminate_connections() {
    return std::stoi(
        admin_.scalar("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                      "application_name = '" +
                      name_ + "'"));
  }

 private:
  void drop() { admin_.scalar("DROP SCHEMA IF EXISTS " + name_ + " CASCADE"); }
  std::string url_;
  std::string name_;
  admin admin_;
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

// A month of runs of a few targets: hourly runs, whole failing days, a last hour of minutes,
// transitions and incidents (one still open).
void month_of_runs(vitals::results_history& h, const std::string& prefix = "") {
  for (int target = 0; target < 4; ++target) {
    const std::string name = prefix + "t" + std::to_string(target);
    int n = 0;
    for (auto t = today - 24h * (10 * target + 5); t < now - 1h; t += 1h, ++n) {
      const auto day = (today - (t - (t.time_since_epoch() % 24h))) / 24h;
      const bool failed = day == 3 + target || n % (7 + target) == 0;
      h.on_result(run(name, t, failed ? status::fail : status::pass,
                      std::chrono::milliseconds{1 + (n * 37) % 900}));
    }
    for (int m = 59; m >= 0; --m) {
      h.on_result(run(name, now - std::chrono::minutes{m},
                      m % (5 + target) == 0 ? status::fail : status::warn,
                      std::chrono::milliseconds{m + target}));
    }
    h.on_transition(run(name, now - 50min, status::fail, 1ms, "refused " + name), status::pass,
                    status::fail);
    if (target % 2 == 0) {
      h.on_transition(run(name, now - 40min, status::pass), status::fail, status::pass);
    }
  }
}

void expect_same_buckets(const std::vector<vitals::history_bucket>& a,
                         const std::vector<vitals::history_bucket>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].start, b[i].start) << what << " " << i;
    EXPECT_EQ(a[i].width, b[i].width) << what << " " << i;
    EXPECT_EQ(a[i].count, b[i].count) << what << " " << i;
    EXPECT_EQ(a[i].failures, b[i].failures) << what << " " << i;
    EXPECT_DOUBLE_EQ(a[i].min_ms, b[i].min_ms) << what << " " << i;
    EXPECT_DOUBLE_EQ(a[i].avg_ms, b[i].avg_ms) << what << " " << i;
    EXPECT_DOUBLE_EQ(a[i].max_ms, b[i].max_ms) << what << " " << i;
    EXPECT_DOUBLE_EQ(a[i].p95_ms, b[i].p95_ms) << what << " " << i;
  }
}

void expect_same_uptimes(const std::vector<vitals::target_uptime>& a,
                         const std::vector<vitals::target_uptime>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].target, b[i].target);
    ASSERT_EQ(a[i].windows.size(), b[i].windows.size());
    for (std::size_t w = 0; w < a[i].windows.size(); ++w) {
      EXPECT_EQ(a[i].windows[w].count, b[i].windows[w].count)
          << a[i].target << " " << a[i].windows[w].window;
      EXPECT_EQ(a[i].windows[w].failures, b[i].windows[w].failures)
          << a[i].target << " " << a[i].windows[w].window;
    }
  }
}

// Everything the read API serves, compared between two histories of the same runs.
void expect_same_answers(const vitals::results_history& pg, const vitals::results_history& lite,
                         const std::vector<std::string>& names) {
  expect_same_uptimes(pg.uptimes(now), lite.uptimes(now));
  for (const auto& name : names) {
    for (const auto r :
         {history_resolution::minute, history_resolution::hour, history_resolution::day}) {
      expect_same_buckets(pg.buckets(name, r, today - 24h * 60, now + 1h),
                          lite.buckets(name, r, today - 24h * 60, now + 1h),
                          name + " resolution " + std::to_string(static_cast<int>(r)));
    }
    const auto a = pg.recent(name, 1000);
    const auto b = lite.recent(name, 1000);
    ASSERT_EQ(a.size(), b.size()) << name;
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].time, b[i].time) << name << " " << i;
      EXPECT_EQ(a[i].result, b[i].result) << name << " " << i;
      EXPECT_EQ(a[i].duration, b[i].duration) << name << " " << i;
      EXPECT_EQ(a[i].output, b[i].output) << name << " " << i;
    }
    const auto ta = pg.transitions(name, now - 24h, now + 1s, 100);
    const auto tb = lite.transitions(name, now - 24h, now + 1s, 100);
    ASSERT_EQ(ta.size(), tb.size()) << name;
    for (std::size_t i = 0; i < ta.size(); ++i) {
      EXPECT_EQ(ta[i].time, tb[i].time);
      EXPECT_EQ(ta[i].to, tb[i].to);
      EXPECT_EQ(ta[i].output, tb[i].output);
    }
  }
  const auto ia = pg.incidents(now - 24h, now + 1s, "", 100);
  const auto ib = lite.incidents(now - 24h, now + 1s, "", 100);
  ASSERT_EQ(ia.size(), ib.size());
  for (std::size_t i = 0; i < ia.size(); ++i) {
    EXPECT_EQ(ia[i].target, ib[i].target);
    EXPECT_EQ(ia[i].start, ib[i].start);
    EXPECT_EQ(ia[i].end, ib[i].end);
    EXPECT_EQ(ia[i].cause, ib[i].cause);
  }
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string templ = (fs::temp_directory_path() / "vitals-history-pg-XXXXXX").string();
    path = ::mkdtemp(templ.data());
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Polls `done` (flushing `h` each time) for up to `limit`.
bool eventually(vitals::results_history& h, const std::function<bool()>& done,
                std::chrono::milliseconds limit = 15s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    h.flush();
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return done();
}

std::vector<std::string> names_of(const std::string& prefix = "") {
  return {prefix + "t0", prefix + "t1", prefix + "t2", prefix + "t3"};
}

TEST(PostgresHistory, AnswersAsTheSqliteHistoryDoesForTheSameRuns) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  pg_schema s{url, "same"};
  temp_dir dir;
  postgres_history pg{s.options()};
  sqlite_history lite{{.path = (dir.path / "h.db").string(), .clock = clk}};
  month_of_runs(pg);
  month_of_runs(lite);
  pg.flush();
  lite.flush();
  ASSERT_TRUE(pg.stats().fault.empty()) << pg.stats().fault;
  EXPECT_FALSE(pg.stats().standby);
  EXPECT_GT(pg.stats().file_bytes, 0U);
  EXPECT_EQ(pg.stats().results_written, lite.stats().results_written);
  // Past raw_per_target the raw rows are trimmed to the same latest ones.
  EXPECT_EQ(pg.recent("t0", 1000).size(), 100U);
  EXPECT_EQ(pg.incidents(now - 24h, now + 1s, "", 100).size(), 4U);
  expect_same_answers(pg, lite, names_of());
  // The latest uptimes the API serves are those of the latest flush.
  const auto latest = pg.latest_uptimes();
  ASSERT_TRUE(latest != nullptr);
  EXPECT_EQ(pg.where().find("(schema " + s.name() + ")") != std::string::npos, true) << pg.where();
}

TEST(PostgresHistory, ARestartContinuesTheBucketsAndTheOpenIncidents) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  pg_schema s{url, "restart"};
  temp_dir dir;
  sqlite_history lite{{.path = (dir.path / "h.db").string(), .clock = clk}};
  {
    postgres_history pg{s.options()};
    month_of_runs(pg);
  }  // committed on destruction
  month_of_runs(lite);
  lite.flush();  // as the first instance's last flush
  postgres_history pg{s.options()};
  // After the restart: more runs in the same minute, hour and day buckets, and t1's incident
  // (open before the restart) failing again from unknown: the same incident goes on.
  for (auto* h : std::initializer_list<vitals::results_history*>{&pg, &lite}) {
    for (int k = 0; k < 5; ++k)
      h->on_result(run("t1", now - 10s + std::chrono::seconds{k},
                       k == 2 ? status::fail : status::pass, 3ms));
    h->on_transition(run("t1", now, status::fail, 1ms, "refused again"), status::unknown,
                     status::fail);
    // t2's first run after the restart is on the next day: its running totals go on from its
    // last day's row.
    h->on_result(run("t2", today + 25h, status::fail, 3ms));
    h->flush();
  }
  ASSERT_TRUE(pg.stats().fault.empty()) << pg.stats().fault;
  expect_same_answers(pg, lite, names_of());
  expect_same_uptimes(pg.uptimes(now + 24h), lite.uptimes(now + 24h));
  const auto open = pg.incidents(now - 24h, now + 1s, "t1", 10);
  ASSERT_EQ(open.size(), 1U);
  EXPECT_FALSE(open[0].end.has_value());
  EXPECT_EQ(open[0].cause, "refused t1");
}

TEST(PostgresHistory, ShardsShareOneDatabaseAndEachReadsEveryTarget) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  pg_schema s{url, "shards"};
  // Four shards open the same empty schema together: the migration runs once, under its lock.
  std::vector<std::unique_ptr<postgres_history>> shards(4);
  {
    std::vector<std::thread> openers;
    for (std::size_t i = 0; i < shards.size(); ++i) {
      openers.emplace_back([&, i] {
        shards[i] = std::make_unique<postgres_history>(
            s.options("shard " + std::to_string(i) + "/4 " + s.name()));
      });
    }
    for (auto& t : openers) t.join();
  }
  for (std::size_t i = 0; i < shards.size(); ++i) {
    ASSERT_TRUE(shards[i]->stats().fault.empty()) << i << ": " << shards[i]->stats().fault;
    ASSERT_FALSE(shards[i]->stats().standby) << i;  // each shard has a lock of its own
    for (int k = 0; k < 30; ++k) {
      shards[i]->on_result(run("s" + std::to_string(i) + ".target" + std::to_string(k),
                               now - std::chrono::minutes{k},
                               k % 10 == 0 ? status::fail : status::pass));
    }
  }
  for (auto& h : shards) h->flush();
  EXPECT_EQ(s.sql().scalar("SELECT version FROM " + s.name() + ".meta"),
            std::to_string(postgres_history::schema_version));
  EXPECT_EQ(s.sql().scalar("SELECT count(*) FROM " + s.name() + ".meta"), "1");
  for (auto& h : shards) {
    const auto all = h->uptimes(now);
    ASSERT_EQ(all.size(), 120U);  // every shard's targets, not only its own
    std::uint64_t count = 0;
    std::uint64_t failures = 0;
    for (const auto& u : all) {
      count += u.windows[0].count;
      failures += u.windows[0].failures;
    }
    EXPECT_EQ(count, 120U);
    EXPECT_EQ(failures, 12U);
    EXPECT_EQ(h->recent("s3.target7", 10).size(), 1U);
  }
}

TEST(PostgresHistory, OfTwoReplicasOneWritesTheOtherStandsByAndTakesOver) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  pg_schema s{url, "standby"};
  const std::string lock = "shard 0/1 " + s.name();
  auto first = std::make_unique<postgres_history>(s.options(lock));
  postgres_history second{s.options(lock)};
  ASSERT_FALSE(first->stats().standby);
  ASSERT_TRUE(second.stats().standby);
  EXPECT_TRUE(second.stats().fault.empty()) << second.stats().fault;  // standing by is no fault
  // Both check the same targets; only the writer's runs are kept.
  for (int k = 0; k < 10; ++k) {
    first->on_result(run("web", now - 20min + std::chrono::minutes{k}, status::pass));
    second.on_result(run("web", now - 20min + std::chrono::minutes{k}, status::pass));
  }
  first->flush();
  second.flush();
  EXPECT_EQ(second.stats().skipped, 10U);
  EXPECT_EQ(second.stats().results_written, 0U);
  // The stand-by reads what the writer wrote.
  ASSERT_TRUE(second.uptime("web", now).has_value());
  EXPECT_EQ(second.uptime("web", now)->windows[0].count, 10U);
  // The writer goes away (its session ends, and with it the lock): the stand-by takes over
  // within seconds and continues the same buckets.
  first.reset();
  ASSERT_TRUE(eventually(second, [&] { return !second.stats().standby; })) << "still standing by";
  for (int k = 10; k < 15; ++k) {
    second.on_result(run("web", now - 20min + std::chrono::minutes{k}, status::fail));
  }
  second.flush();
  ASSERT_TRUE(second.stats().fault.empty()) << second.stats().fault;
  EXPECT_EQ(second.stats().results_written, 5U);
  const auto u = second.uptime("web", now);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->windows[0].count, 15U);
  EXPECT_EQ(u->windows[0].failures, 5U);
}

TEST(PostgresHistory, ALostConnectionIsAFaultAndWhatWaitedIsWrittenAfterIt) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  pg_schema s{url, "lost"};
  postgres_history h{s.options()};
  h.on_result(run("db", now - 30min, status::pass));
  h.flush();
  ASSERT_TRUE(h.stats().fault.empty()) << h.stats().fault;
  // The server ends the history's sessions (a failover, an admin, a restart).
  ASSERT_GE(s.terminate_connections(), 1);
  for (int k = 0; k < 20; ++k) {
    h.on_result(run("db", now - 29min + std::chrono::minutes{k}, status::pass));
  }
  h.flush();
  const auto faulted = h.stats();
  EXPECT_FALSE(faulted.fault.empty());
  EXPECT_GE(faulted.faults, 1U);
  // Reconnected after its backoff, nothing lost.
  ASSERT_TRUE(eventually(h, [&] { return h.stats().fault.empty(); })) << h.stats().fault;
  EXPECT_EQ(h.recent("db", 100).size(), 21U);
  const auto u = h.uptime("db", now);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->windows[0].count, 21U);
  // The reader reconnects too: a read that finds its session gone answers empty, the next one
  // opens a new session.
  s.terminate_connections();
  (void)h.recent("db", 100);
  EXPECT_EQ(h.recent("db", 100).size(), 21U);
}

TEST(PostgresHistory, TheSchemaOfANewerVitalsIsRefusedNotRewritten) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  pg_schema s{url, "newer"};
  {
    postgres_history h{s.options()};
    h.on_result(run("n", now - 1min, status::pass));
  }
  ASSERT_EQ(s.sql().scalar("UPDATE " + s.name() + ".meta SET version = 99"), "");
  postgres_history h{s.options()};
  h.on_result(run("n", now, status::pass));
  h.flush();
  EXPECT_NE(h.stats().fault.find("version 99"), std::string::npos) << h.stats().fault;
  EXPECT_EQ(s.sql().scalar("SELECT version FROM " + s.name() + ".meta"), "99");
  EXPECT_EQ(s.sql().scalar("SELECT count(*) FROM " + s.name() + ".results"), "1");
}

TEST(PostgresHistory, ThePasswordIsInNoFaultAndNoName) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  pg_schema s{url, "secret"};
  PGconn* c = PQconnectdb(url.c_str());
  const std::string password = PQpass(c) != nullptr ? PQpass(c) : "";
  PQfinish(c);
  ASSERT_FALSE(password.empty());
  // A wrong password: the server refuses it.
  std::string wrong = url;
  wrong.replace(wrong.find(password), password.size(), password + "-wrong");
  postgres_history h{{.url = wrong, .schema = s.name(), .clock = clk}};
  h.on_result(run("x", now, status::pass));
  h.flush();
  const auto st = h.stats();
  ASSERT_FALSE(st.fault.empty());
  EXPECT_EQ(st.fault.find(password), std::string::npos) << st.fault;
  EXPECT_NE(st.fault.find("password"), std::string::npos) << st.fault;  // says what is wrong
  EXPECT_EQ(h.where().find(password), std::string::npos) << h.where();
  EXPECT_TRUE(h.uptimes(now).empty());  // unreadable reads as empty
  EXPECT_THROW(postgres_history({.url = ""}), std::runtime_error);
  EXPECT_THROW(postgres_history({.url = url, .schema = ""}), std::runtime_error);
}

}  // namespace
