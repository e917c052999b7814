// The engine's contract, driven by a manual clock: tests advance time and call poll() instead of
// sleeping, and wait (bounded) for pool threads to hand results back.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "vitals/service.hpp"
#include "vitals/testing/manual_clock.hpp"

namespace vitals {
namespace {

using namespace std::chrono_literals;
using test::recorder;
using test::wait_runs;
using test::wait_until;
using testing::manual_clock;

/// Returns the scripted statuses in order, then repeats the last one. Thread-safe.
class scripted {
 public:
  explicit scripted(std::vector<status> script) : script_(std::move(script)) {}
  result operator()(const context&) {
    const auto i = std::min<std::size_t>(calls_.fetch_add(1), script_.size() - 1);
    switch (script_[i]) {
      case status::pass:
        return pass();
      case status::warn:
        return warn("degraded");
      default:
        return fail("scripted failure", failure_kind::refused);
    }
  }
  int calls() const { return calls_.load(); }

 private:
  std::vector<status> script_;
  std::atomic<std::size_t> calls_{0};
};

std::function<result(const context&)> fn(const std::shared_ptr<scripted>& s) {
  return [s](const context& c) { return (*s)(c); };
}

// Polls; if that did not start a run of `name`, jumps to the time poll() says the next work is
// due and polls again. poll() publishes the start of a run before it returns.
void step_to_next_run(service& svc, manual_clock& c, const std::string& name,
                      std::uint64_t runs_before) {
  const auto due = svc.poll();
  const auto* st = svc.current()->find(name);
  if (st->in_flight || st->runs > runs_before) return;
  if (due > c.now()) c.advance(due - c.now());
  (void)svc.poll();
}

struct fixture : ::testing::Test {
  std::shared_ptr<manual_clock> clk = std::make_shared<manual_clock>();
  recorder events;
  service_options opts(std::uint64_t seed = 42) {
    return {.info = {.service_id = "svc"}, .clock = clk, .on_event = events.sink(), .seed = seed};
  }
  // One background run: advance to the next due time, poll, wait for the result.
  static void run_next(service& svc, manual_clock& c, const std::string& name) {
    const auto before = svc.current()->find(name)->runs;
    step_to_next_run(svc, c, name, before);
    ASSERT_TRUE(wait_runs(svc, name, before + 1));
  }
};

using Service = fixture;

TEST_F(Service, InitialSnapshotIsUnknownAndNotReady) {
  registry reg;
  reg.add("db", [](const context&) { return pass(); });
  service svc{std::move(reg), opts()};
  const auto snap = svc.current();
  ASSERT_NE(snap, nullptr);
  EXPECT_GE(snap->generation, 1U);
  ASSERT_EQ(snap->checks.size(), 1U);
  EXPECT_EQ(snap->checks[0].reported.status, status::unknown);
  EXPECT_EQ(snap->checks[0].last_run.status, status::unknown);
  EXPECT_EQ(snap->probe_status(probe::ready), status::unknown);
  EXPECT_FALSE(is_ok(snap->probe_status(probe::ready)));
  EXPECT_EQ(snap->probe_status(probe::live), status::pass);  // no live checks
  EXPECT_EQ(snap->info.service_id, "svc");
  EXPECT_EQ(&svc.clock(), clk.get());
}

TEST_F(Service, PollRunsDueChecksAndPublishesTheResult) {
  registry reg;
  reg.add("db", [](const context& ctx) {
    EXPECT_EQ(ctx.name(), "db");
    EXPECT_FALSE(ctx.cancelled());
    return pass().observe(3, "conns");
  });
  service svc{std::move(reg), opts()};
  const auto g0 = svc.current()->generation;
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "db", 1));
  const auto snap = svc.current();
  EXPECT_GT(snap->generation, g0);
  const auto* c = snap->find("db");
  EXPECT_EQ(c->reported.status, status::pass);
  EXPECT_EQ(c->last_run.status, status::pass);
  EXPECT_EQ(c->reported.time, clk->wall_now());
  EXPECT_EQ(std::get<std::int64_t>(c->reported.observed->value), 3);
  EXPECT_EQ(c->runs, 1U);
  EXPECT_EQ(c->transitions, 1U);  // unknown -> pass
  EXPECT_EQ(snap->probe_status(probe::ready), status::pass);
}

TEST_F(Service, InitialDelayThenInterval) {
  auto s = std::make_shared<scripted>(std::vector{status::pass});
  registry reg;
  reg.add("db", fn(s), {.interval = 10s, .initial_delay = 3s, .jitter = 0});
  service svc{std::move(reg), opts()};
  (void)svc.poll();
  clk->advance(2999ms);
  (void)svc.poll();
  EXPECT_EQ(s->calls(), 0);
  EXPECT_FALSE(svc.current()->find("db")->in_flight);
  clk->advance(1ms);
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "db", 1));
  EXPECT_EQ(s->calls(), 1);
  clk->advance(9999ms);
  EXPECT_EQ(svc.poll(), clk->now() + 1ms);  // poll says when the next run is due
  EXPECT_EQ(s->calls(), 1);
  clk->advance(1ms);
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "db", 2));
  EXPECT_EQ(s->calls(), 2);
}

// Start times of successive background runs, driven by poll()'s "next due" answer.
std::vector<std::chrono::nanoseconds> run_gaps(std::uint64_t seed, double jitter, int runs) {
  auto clk = std::make_shared<manual_clock>();
  std::vector<std::chrono::steady_clock::time_point> starts;
  std::mutex mu;
  registry reg;
  reg.add("db",
          [&](const context&) {
            std::lock_guard lk(mu);
            starts.push_back(clk->now());
            return pass();
          },
          {.interval = 10s, .timeout = 1s, .jitter = jitter});
  service svc{std::move(reg), {.clock = clk, .on_event = [](const event&) {}, .seed = seed}};
  for (int i = 0; i < runs; ++i) {
    step_to_next_run(svc, *clk, "db", static_cast<std::uint64_t>(i));
    EXPECT_TRUE(wait_runs(svc, "db", static_cast<std::uint64_t>(i) + 1));
  }
  std::lock_guard lk(mu);
  std::vector<std::chrono::nanoseconds> gaps;
  for (std::size_t i = 1; i < starts.size(); ++i) gaps.push_back(starts[i] - starts[i - 1]);
  return gaps;
}

TEST_F(Service, JitterStretchesIntervalsWithinBoundsAndIsSeeded) {
  const auto a = run_gaps(7, 0.5, 12);
  ASSERT_EQ(a.size(), 11U);
  bool varied = false;
  for (const auto g : a) {
    EXPECT_GE(g, 10s);
    EXPECT_LT(g, 15s);
    varied = varied || g != a.front();
  }
  EXPECT_TRUE(varied) << "jitter had no effect";
  EXPECT_EQ(run_gaps(7, 0.5, 12), a) << "same seed, same schedule";
  EXPECT_NE(run_gaps(8, 0.5, 12), a) << "different seed, different schedule";
  for (const auto g : run_gaps(7, 0.0, 5)) EXPECT_EQ(g, 10s);
}

TEST_F(Service, OnDemandRunsOnlyWhenRequestedAndCoalesces) {
  auto s = std::make_shared<scripted>(std::vector{status::pass});
  registry reg;
  reg.add("db", fn(s),
          {.mode = schedule::on_demand,
           .interval = 10s,
           .timeout = 1s,
           .ttl_pass = 5s,
           .ttl_fail = 1s});
  service svc{std::move(reg), opts()};
  (void)svc.poll();
  clk->advance(1h);
  (void)svc.poll();
  EXPECT_EQ(s->calls(), 0) << "on_demand must not run without a request";

  // A burst of requests from many threads: one run.
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 100; ++i) svc.request(ready);
    });
  for (auto& t : ts) t.join();
  (void)svc.poll();
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "db", 1));
  EXPECT_EQ(s->calls(), 1);

  // Within ttl_pass: reused.
  clk->advance(4999ms);
  svc.request(ready);
  (void)svc.poll();
  EXPECT_EQ(s->calls(), 1);
  EXPECT_FALSE(svc.current()->find("db")->in_flight);
  // Other probes do not trigger it.
  clk->advance(1ms);
  svc.request(live | startup);
  (void)svc.poll();
  EXPECT_EQ(s->calls(), 1);
  // By name.
  EXPECT_TRUE(svc.request("db"));
  EXPECT_FALSE(svc.request("nope"));
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "db", 2));
  EXPECT_EQ(s->calls(), 2);
}

TEST_F(Service, OnDemandUsesSeparateTtlForFailures) {
  auto s = std::make_shared<scripted>(std::vector{status::fail, status::fail, status::pass});
  registry reg;
  reg.add("db", fn(s),
          {.mode = schedule::on_demand,
           .interval = 10s,
           .timeout = 1s,
           .ttl_pass = 5s,
           .ttl_fail = 1s});
  service svc{std::move(reg), opts()};
  auto ask = [&] {
    svc.request(ready);
    (void)svc.poll();
  };
  ask();
  ASSERT_TRUE(wait_runs(svc, "db", 1));
  clk->advance(999ms);
  ask();
  EXPECT_EQ(s->calls(), 1);
  clk->advance(1ms);
  ask();
  ASSERT_TRUE(wait_runs(svc, "db", 2));
  clk->advance(1s);
  ask();
  ASSERT_TRUE(wait_runs(svc, "db", 3));
  EXPECT_EQ(svc.current()->find("db")->reported.status, status::pass);
  clk->advance(4s);  // a pass is reused for ttl_pass = 5s
  ask();
  EXPECT_EQ(s->calls(), 3);
  clk->advance(1s);
  ask();
  ASSERT_TRUE(wait_runs(svc, "db", 4));
}

TEST_F(Service, OnDemandTtlDefaultsToInterval) {
  auto s = std::make_shared<scripted>(std::vector{status::pass});
  registry reg;
  reg.add("db", fn(s), {.mode = schedule::on_demand, .interval = 3s, .timeout = 1s});
  service svc{std::move(reg), opts()};
  svc.request(ready);
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "db", 1));
  clk->advance(2999ms);
  svc.request(ready);
  (void)svc.poll();
  EXPECT_EQ(s->calls(), 1);
  clk->advance(1ms);
  svc.request(ready);
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "db", 2));
}

TEST_F(Service, FirstResultIsAdoptedAtOnceWhateverTheThresholds) {
  auto f = std::make_shared<scripted>(std::vector{status::fail});
  auto p = std::make_shared<scripted>(std::vector{status::pass});
  registry reg;
  reg.add("f", fn(f), {.failure_threshold = 3, .success_threshold = 3});
  reg.add("p", fn(p), {.failure_threshold = 3, .success_threshold = 3});
  service svc{std::move(reg), opts()};
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "f", 1));
  ASSERT_TRUE(wait_runs(svc, "p", 1));
  EXPECT_EQ(svc.current()->find("f")->reported.status, status::fail);
  EXPECT_EQ(svc.current()->find("p")->reported.status, status::pass);
}

TEST_F(Service, FailureAndSuccessThresholds) {
  using enum status;
  auto s = std::make_shared<scripted>(
      std::vector{pass, fail, fail, fail, pass, fail, pass, pass, warn, fail, pass});
  registry reg;
  reg.add("db", fn(s),
          {.interval = 1s,
           .timeout = 100ms,
           .jitter = 0,
           .failure_threshold = 3,
           .success_threshold = 2});
  service svc{std::move(reg), opts()};
  // warn counts as ok: adopted at once from pass, and one failure (below the threshold) after
  // it leaves the report at warn.
  const std::vector<status> expected = {pass, pass, pass, fail, fail, fail,
                                        fail, pass, warn, warn, pass};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    run_next(svc, *clk, "db");
    const auto* c = svc.current()->find("db");
    EXPECT_EQ(c->reported.status, expected[i]) << "after run " << i + 1;
    if (is_ok(expected[i]) && c->last_run.status == fail) {
      // Below the failure threshold: the raw failure is visible, the report is unchanged.
      EXPECT_EQ(c->last_run.output, "scripted failure");
    }
  }
  const auto* c = svc.current()->find("db");
  EXPECT_EQ(c->runs, expected.size());
  // unknown->pass, pass->fail, fail->pass, pass->warn, warn->pass.
  EXPECT_EQ(c->transitions, 5U);
  EXPECT_TRUE(events.wait_count(event::type::transition, "db", 5));
  svc.stop();  // no more deliveries after this: the count is final
  EXPECT_EQ(events.count(event::type::transition, "db"), 5U);
  std::vector<std::pair<status, status>> seen;
  for (const auto& e : events.events())
    if (e.what == event::type::transition) seen.emplace_back(e.from, e.to);
  const std::vector<std::pair<status, status>> want = {
      {unknown, pass}, {pass, fail}, {fail, pass}, {pass, warn}, {warn, pass}};
  EXPECT_EQ(seen, want) << "delivered once each, in order";
}

TEST_F(Service, WarnCountsAsOk) {
  using enum status;
  auto s = std::make_shared<scripted>(std::vector{pass, warn, warn, pass});
  registry reg;
  reg.add("db", fn(s), {.interval = 1s, .timeout = 100ms, .jitter = 0, .failure_threshold = 1});
  service svc{std::move(reg), opts()};
  run_next(svc, *clk, "db");
  run_next(svc, *clk, "db");
  auto c = svc.current()->find("db");
  EXPECT_EQ(c->reported.status, warn);
  EXPECT_EQ(c->consecutive_successes, 2U);
  EXPECT_EQ(c->consecutive_failures, 0U);
  EXPECT_EQ(svc.current()->probe_status(probe::ready), warn);
}

TEST_F(Service, TransitionsAreEventsOnceEachAndDefaultGoesToStderr) {
  using enum status;
  auto s = std::make_shared<scripted>(std::vector{pass, fail});
  registry reg;
  reg.add("db", fn(s), {.interval = 1s, .timeout = 100ms, .jitter = 0});
  ::testing::internal::CaptureStderr();
  {
    service svc{std::move(reg), {.clock = clk}};  // default on_event
    for (int i = 0; i < 6; ++i) {
      run_next(svc, *clk, "db");
      (void)svc.current();  // probes read snapshots; they never log
      (void)svc.current();
    }
    EXPECT_EQ(svc.current()->find("db")->transitions, 2U);
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("vitals: check \"db\" unknown -> pass\n"), std::string::npos) << err;
  EXPECT_NE(err.find("vitals: check \"db\" pass -> fail (refused): scripted failure\n"),
            std::string::npos)
      << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 2) << err;
}

TEST_F(Service, OnEventMayCallBackIntoTheEngine) {
  registry reg;
  reg.add("db", [](const context&) { return fail("down"); });
  service* self = nullptr;
  std::atomic<int> seen{0};
  service svc{std::move(reg), {.clock = clk, .on_event = [&](const event&) {
                                 (void)self->current();
                                 self->request(ready);
                                 ++seen;
                               }}};
  self = &svc;
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "db", 1));
  svc.stop();  // waits for a delivery in progress
  EXPECT_EQ(seen.load(), 1);
}

TEST_F(Service, NoEventIsDeliveredAfterStopReturns) {
  for (int round = 0; round < 20; ++round) {
    std::atomic<bool> stopped{false};
    std::atomic<int> late{0};
    std::atomic<int> delivered{0};
    registry reg;
    reg.add("flap", [n = 0](const context&) mutable { return ++n % 2 == 0 ? pass() : fail("odd"); },
            {.interval = 2ms, .timeout = 1ms, .jitter = 0});
    service svc{std::move(reg), {.on_event = [&](const event&) {
                  if (stopped.load()) ++late;
                  ++delivered;
                }}};
    svc.start();
    ASSERT_TRUE(wait_runs(svc, "flap", 2));
    svc.stop();
    stopped.store(true);
    EXPECT_EQ(late.load(), 0);
    EXPECT_GE(delivered.load(), 1);
  }
}

TEST_F(Service, ExceptionsBecomeFailInternalRedacted) {
  registry reg;
  reg.add("throws", [](const context&) -> result {
    throw std::runtime_error("connect postgres://app:hunter22@db:5432 failed password=hunter22");
  });
  reg.add("throws_int", [](const context&) -> result { throw 42; });
  service svc{std::move(reg), opts()};
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "throws", 1));
  ASSERT_TRUE(wait_runs(svc, "throws_int", 1));
  const auto* c = svc.current()->find("throws");
  EXPECT_EQ(c->reported.status, status::fail);
  EXPECT_EQ(c->reported.kind, failure_kind::internal);
  EXPECT_EQ(c->reported.output, "connect postgres://app:***@db:5432 failed password=***");
  ASSERT_TRUE(events.wait_count(event::type::transition, "throws", 1));
  const auto* d = svc.current()->find("throws_int");
  EXPECT_EQ(d->reported.kind, failure_kind::internal);
  EXPECT_EQ(d->reported.output, "unknown exception");
  for (const auto& e : events.events()) EXPECT_EQ(e.message.find("hunter22"), std::string::npos);
}

struct leaky_check final : check {
  result run(const context&) override {
    return fail("login as admin with s3cr3t-pass rejected (Bearer abc.def)", failure_kind::auth)
        .observe(std::string{"dsn=mysql://root:s3cr3t-pass@h"})
        .detail("password", "anything")
        .detail("api_token", "t")
        .detail("server", "mysql://root:s3cr3t-pass@h/db")
        .detail("note", "contains s3cr3t-pass");
  }
  [[nodiscard]] check_traits traits() const override {
    return {.type = "mysql", .dependency = true, .secrets = {"s3cr3t-pass"}};
  }
};

// Probe bodies show control characters as spaces: a secret with a space, spelled by a check
// with a control character instead, is masked too (found by fuzz_renderers).
TEST_F(Service, ASecretSpelledWithControlCharactersIsMasked) {
  registry reg;
  reg.add("db", make_check([](const context&) { return fail("rejected correct\x01horse!"); },
                           {.type = "mysql", .dependency = true, .secrets = {"correct horse"}}));
  reg.add("plain", make_check([](const context&) { return fail("line one\nline two"); },
                              {.secrets = {"correct horse"}}));
  service svc{std::move(reg), opts()};
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "db", 1));
  ASSERT_TRUE(wait_runs(svc, "plain", 1));
  EXPECT_EQ(svc.current()->find("db")->reported.output, "rejected ***!");
  EXPECT_EQ(svc.current()->find("plain")->reported.output, "line one\nline two")
      << "an output without a secret keeps its control characters";
}

TEST_F(Service, ResultsAreRedactedOnIngestion) {
  registry reg;
  reg.add("db", std::make_shared<leaky_check>());
  // Another check echoing the first one's secret is scrubbed as well.
  reg.add("echo", [](const context&) { return warn("saw s3cr3t-pass in config"); });
  service svc{std::move(reg), opts()};
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "db", 1));
  ASSERT_TRUE(wait_runs(svc, "echo", 1));
  const auto snap = svc.current();
  const auto* c = snap->find("db");
  for (const result* r : {&c->reported, &c->last_run}) {
    EXPECT_EQ(r->output, "login as admin with *** rejected (Bearer ***)");
    EXPECT_EQ(std::get<std::string>(r->observed->value), "dsn=mysql://root:***@h");
    ASSERT_EQ(r->details.size(), 4U);
    EXPECT_EQ(r->details[0].second, "***");
    EXPECT_EQ(r->details[1].second, "***");
    EXPECT_EQ(r->details[2].second, "mysql://root:***@h/db");
    EXPECT_EQ(r->details[3].second, "contains ***");
  }
  EXPECT_TRUE(c->traits.secrets.empty()) << "snapshots never carry secrets";
  EXPECT_EQ(snap->find("echo")->reported.output, "saw *** in config");
  ASSERT_TRUE(events.wait_count(event::type::transition, "db", 1));
  bool saw_transition = false;
  for (const auto& e : events.events()) {
    EXPECT_EQ(e.message.find("s3cr3t"), std::string::npos) << e.message;
    EXPECT_EQ(e.message.find("abc.def"), std::string::npos) << e.message;
    saw_transition = saw_transition || (e.check == "db" && e.what == event::type::transition);
  }
  EXPECT_TRUE(saw_transition);
}

TEST_F(Service, ChecksThatReturnNoStatusAreInternalFailuresAndPassHasNoOutput) {
  registry reg;
  reg.add("none", [](const context&) { return result{}; });
  reg.add("chatty", [](const context&) {
    result r = pass();
    r.output = "all good";
    return r;
  });
  reg.add("kindless", [](const context&) {
    result r;
    r.status = status::fail;
    r.output = "x";
    return r;
  });
  service svc{std::move(reg), opts()};
  (void)svc.poll();
  for (const char* n : {"none", "chatty", "kindless"}) ASSERT_TRUE(wait_runs(svc, n, 1));
  const auto snap = svc.current();
  EXPECT_EQ(snap->find("none")->reported.status, status::fail);
  EXPECT_EQ(snap->find("none")->reported.kind, failure_kind::internal);
  EXPECT_EQ(snap->find("chatty")->reported.output, "");
  EXPECT_EQ(snap->find("kindless")->reported.kind, failure_kind::assertion);
}

TEST_F(Service, StaleResultBecomesFailStaleNeverTheLastPass) {
  registry reg;
  reg.add("db", [](const context&) { return pass(); }, {.interval = 10s, .timeout = 1s});
  service svc{std::move(reg), opts()};
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "db", 1));
  const auto stale_at = clk->now() + 21s;  // default: 2 * interval + timeout
  EXPECT_EQ(svc.current()->find("db")->stale_at, stale_at);
  EXPECT_EQ(svc.current()->valid_until, stale_at);
  // The scheduler is stuck (nobody polls); readers must not be told the old pass.
  clk->advance(21s - 1ns);
  EXPECT_EQ(svc.current()->find("db")->reported.status, status::pass);
  clk->advance(1ns);
  const auto snap = svc.current();
  const auto* c = snap->find("db");
  EXPECT_EQ(c->reported.status, status::fail);
  EXPECT_EQ(c->reported.kind, failure_kind::stale);
  EXPECT_EQ(c->reported.output, "no result for 21s (max staleness 21s)");
  EXPECT_EQ(c->transitions, 2U);
  EXPECT_EQ(snap->probe_status(probe::ready), status::fail);
  EXPECT_TRUE(events.wait_count(event::type::transition, "db", 2));
  // Once stale, readers stop re-judging: the same generation is served.
  EXPECT_EQ(svc.current()->generation, snap->generation);
  EXPECT_EQ(svc.current().get(), snap.get());
  // A fresh result recovers.
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "db", 2));
  EXPECT_EQ(svc.current()->find("db")->reported.status, status::pass);
}

TEST_F(Service, ExplicitAndOnDemandStaleness) {
  registry reg;
  reg.add("bg", [](const context&) { return pass(); },
          {.interval = 10s, .timeout = 1s, .max_staleness = 5s});
  reg.add("od", [](const context&) { return pass(); },
          {.mode = schedule::on_demand, .interval = 10s, .timeout = 1s, .ttl_pass = 3s});
  service svc{std::move(reg), opts()};
  svc.request(ready);
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "bg", 1));
  ASSERT_TRUE(wait_runs(svc, "od", 1));
  clk->advance(5s);  // bg: explicit 5s
  auto snap = svc.current();
  EXPECT_EQ(snap->find("bg")->reported.kind, failure_kind::stale);
  EXPECT_EQ(snap->find("od")->reported.status, status::pass);
  clk->advance(2s - 1ns);  // od: 2 * ttl_pass + timeout = 7s
  EXPECT_EQ(svc.current()->find("od")->reported.status, status::pass);
  clk->advance(1ns);
  snap = svc.current();
  EXPECT_EQ(snap->find("od")->reported.kind, failure_kind::stale);
}

TEST_F(Service, ProbeAggregationCriticalAndNonCritical) {
  registry reg;
  reg.add("db", [](const context&) { return pass(); });
  reg.add("cache", [](const context&) { return fail("down", failure_kind::refused); },
          {.critical = false});
  reg.add("loop", [](const context&) { return pass(); }, {.probes = live});
  service svc{std::move(reg), opts()};
  (void)svc.poll();
  for (const char* n : {"db", "cache", "loop"}) ASSERT_TRUE(wait_runs(svc, n, 1));
  const auto snap = svc.current();
  EXPECT_EQ(snap->probe_status(probe::ready), status::warn);
  EXPECT_EQ(snap->probe_status(probe::live), status::pass);
  EXPECT_EQ(snap->probe_status(probe::ready, {"cache"}), status::pass);
}

TEST_F(Service, StartupLatchesOnceAndStaysLatched) {
  using enum status;
  auto s = std::make_shared<scripted>(std::vector{fail, pass, fail});
  registry reg;
  reg.add("migrations", fn(s),
          {.probes = startup | ready, .interval = 1s, .timeout = 100ms, .jitter = 0});
  service svc{std::move(reg), opts()};
  EXPECT_FALSE(svc.current()->startup_latched);
  EXPECT_EQ(svc.current()->probe_status(probe::startup), unknown);
  run_next(svc, *clk, "migrations");
  EXPECT_FALSE(svc.current()->startup_latched);
  EXPECT_EQ(svc.current()->probe_status(probe::startup), fail);
  run_next(svc, *clk, "migrations");
  EXPECT_TRUE(svc.current()->startup_latched);
  run_next(svc, *clk, "migrations");
  const auto snap = svc.current();
  EXPECT_TRUE(snap->startup_latched) << "latched even if later failing";
  EXPECT_EQ(snap->probe_status(probe::startup), pass);
  EXPECT_EQ(snap->probe_status(probe::ready), fail);
}

TEST_F(Service, NoStartupChecksLatchesAtOnce) {
  registry reg;
  reg.add("db", [](const context&) { return pass(); });
  service svc{std::move(reg), opts()};
  EXPECT_TRUE(svc.current()->startup_latched);
}

TEST_F(Service, BeginShutdownPublishesAtOnce) {
  registry reg;
  reg.add("db", [](const context&) { return pass(); }, {.probes = live | ready});
  service svc{std::move(reg), opts()};
  (void)svc.poll();
  ASSERT_TRUE(wait_runs(svc, "db", 1));
  const auto before = svc.current();
  EXPECT_FALSE(svc.shutting_down());
  svc.begin_shutdown();  // no poll(): the new snapshot is there already
  const auto after = svc.current();
  EXPECT_TRUE(svc.shutting_down());
  EXPECT_EQ(after->generation, before->generation + 1);
  EXPECT_TRUE(after->shutting_down);
  EXPECT_EQ(after->probe_status(probe::ready), status::fail);
  EXPECT_EQ(after->probe_status(probe::live), status::pass);
  EXPECT_FALSE(before->shutting_down) << "snapshots are immutable";
  svc.begin_shutdown();
  EXPECT_EQ(svc.current()->generation, after->generation) << "idempotent";
  svc.stop();
  EXPECT_EQ(events.count(event::type::shutdown), 1U);
}

TEST_F(Service, SnapshotsAreImmutableAndGenerationsIncrease) {
  auto s = std::make_shared<scripted>(std::vector{status::pass, status::fail});
  registry reg;
  reg.add("db", fn(s), {.interval = 1s, .timeout = 100ms, .jitter = 0});
  service svc{std::move(reg), opts()};
  run_next(svc, *clk, "db");
  const auto first = svc.current();
  run_next(svc, *clk, "db");
  const auto second = svc.current();
  EXPECT_GT(second->generation, first->generation);
  EXPECT_EQ(first->find("db")->reported.status, status::pass);
  EXPECT_EQ(second->find("db")->reported.status, status::fail);
  // Same generation, same object.
  EXPECT_EQ(svc.current().get(), second.get());
}

TEST_F(Service, CurrentKeepsServicesApartOnOneThread) {
  registry ra;
  ra.add("a", [](const context&) { return pass(); });
  registry rb;
  rb.add("b", [](const context&) { return fail("x"); });
  service a{std::move(ra), opts()};
  service b{std::move(rb), opts()};
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(a.current()->find("a"), nullptr);
    EXPECT_NE(b.current()->find("b"), nullptr);
    EXPECT_EQ(a.current()->find("b"), nullptr);
  }
  (void)a.poll();
  ASSERT_TRUE(wait_runs(a, "a", 1));
  EXPECT_EQ(b.current()->find("b")->runs, 0U);
}

TEST_F(Service, WaitForUpdateTimesOutWithoutChanges) {
  registry reg;
  reg.add("db", [](const context&) { return pass(); });
  service svc{std::move(reg), opts()};
  const auto g = svc.current()->generation;
  EXPECT_FALSE(svc.wait_for_update(g, 20ms));
  EXPECT_TRUE(svc.wait_for_update(g - 1, 0ms));
}

TEST_F(Service, RealClockBackgroundThreadRunsAndStops) {
  std::atomic<int> calls{0};
  registry reg;
  reg.add("tick",
          [&](const context&) {
            ++calls;
            return pass();
          },
          {.interval = 20ms, .timeout = 10ms});
  service svc{std::move(reg), {.on_event = [](const event&) {}}};
  svc.start();
  svc.start();  // idempotent
  ASSERT_TRUE(wait_runs(svc, "tick", 3));
  svc.stop();
  const int after_stop = calls.load();
  const auto g = svc.current()->generation;
  EXPECT_FALSE(svc.wait_for_update(g, 100ms)) << "nothing runs after stop()";
  EXPECT_EQ(calls.load(), after_stop);
  svc.stop();  // idempotent
}

TEST_F(Service, RequestWakesTheSchedulerForOnDemandChecks) {
  std::atomic<int> calls{0};
  registry reg;
  reg.add("od",
          [&](const context&) {
            ++calls;
            return pass();
          },
          {.mode = schedule::on_demand, .interval = 10s, .timeout = 1s});
  service svc{std::move(reg), {.on_event = [](const event&) {}}};
  svc.start();
  svc.request(ready);
  ASSERT_TRUE(wait_runs(svc, "od", 1));
  EXPECT_EQ(calls.load(), 1);
}

}  // namespace
}  // namespace vitals
