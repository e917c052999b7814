// The engine's pieces on their own and together, with a manual clock: the timer heap, the pure
// run state (lag vs timeout, queue wait), first-run spreading, batched and structurally shared
// publication, incremental probe tallies, the observer seam and the timeout wording.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../../../src/core/run_state.hpp"
#include "../../../src/core/secret_set.hpp"
#include "../../../src/core/timer_heap.hpp"
#include "test_support.hpp"
#include "vitals/service.hpp"
#include "vitals/testing/manual_clock.hpp"

namespace vitals {
namespace {

using namespace std::chrono_literals;
using detail::run_state;
using detail::timer_heap;
using testing::manual_clock;
using steady_time = std::chrono::steady_clock::time_point;

constexpr steady_time t0{std::chrono::hours{1}};

// ---- timer heap ----------------------------------------------------------------------------

TEST(TimerHeap, PopsInDueOrderWithUpdatesAndRemovalsAt100kItems) {
  constexpr std::uint32_t n = 100'000;
  timer_heap heap(n);
  std::mt19937_64 rng(7);
  std::vector<steady_time> due(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    due[i] = t0 + std::chrono::microseconds{rng() % 10'000'000};
    heap.set(i, due[i]);
  }
  // Move a third of them, remove a tenth.
  for (std::uint32_t i = 0; i < n; i += 3) {
    due[i] = t0 + std::chrono::microseconds{rng() % 10'000'000};
    heap.set(i, due[i]);
  }
  std::set<std::uint32_t> removed;
  for (std::uint32_t i = 1; i < n; i += 10) {
    heap.remove(i);
    removed.insert(i);
  }
  EXPECT_EQ(heap.size(), n - removed.size());
  steady_time last = steady_time::min();
  std::size_t popped = 0;
  while (!heap.empty()) {
    const std::uint32_t i = heap.top();
    ASSERT_EQ(heap.next(), due[i]);
    ASSERT_GE(heap.next(), last) << "due order";
    ASSERT_EQ(removed.count(i), 0U);
    last = heap.next();
    heap.remove(i);
    ++popped;
  }
  EXPECT_EQ(popped, n - removed.size());
  EXPECT_EQ(heap.next(), timer_heap::never);
}

// ---- run state -----------------------------------------------------------------------------

registry::entry entry_of(std::string name, check_options o) {
  return registry::entry{.name = std::move(name),
                         .impl = make_check([](const context&) { return pass(); }),
                         .options = o,
                         .traits = {}};
}

TEST(RunState, ALateStartIsLagNotATimeout) {
  run_state rs(entry_of("db", {.interval = 10s, .timeout = 2s, .jitter = 0}), true, nullptr);
  rs.arm(t0);
  EXPECT_EQ(rs.wake(t0), t0);
  // The engine gets to it 5 s late (overloaded): the deadline counts from the real start.
  const steady_time late = t0 + 5s;
  const auto out = rs.step(late, 10s, {});
  ASSERT_TRUE(out.start);
  EXPECT_EQ(rs.state().lag, 5s);
  EXPECT_EQ(rs.current_run().deadline, late + 2s);
  EXPECT_FALSE(rs.step(late + 2s - 1ns, 10s, {}).timed_out);
  result r = pass();
  const auto done = rs.complete(rs.current_run().run_id, r, late + 1s, std::nullopt, 10s, {});
  ASSERT_TRUE(done);
  EXPECT_FALSE(done->late);
  EXPECT_EQ(rs.state().reported.status, status::pass);
  EXPECT_EQ(rs.state().timeouts, 0U);
  EXPECT_EQ(rs.state().reported.duration, 1s);
  EXPECT_EQ(rs.wake(late + 1s), late + 11s);
}

TEST(RunState, QueueWaitCountsAsLagAndNotAsDuration) {
  run_state rs(entry_of("db", {.interval = 10s, .timeout = 2s, .jitter = 0}), false, nullptr);
  rs.arm(t0);
  ASSERT_TRUE(rs.step(t0, 10s, {}).start);
  result r = pass();
  // A pool thread picked it up 300 ms after dispatch; it answered 200 ms later.
  const auto done = rs.complete(rs.current_run().run_id, r, t0 + 500ms, t0 + 300ms, 10s, {});
  ASSERT_TRUE(done);
  EXPECT_EQ(rs.state().reported.duration, 200ms);
  EXPECT_EQ(rs.state().lag, 300ms);
}

TEST(RunState, DeadlineNamesWhatTheCheckWasDoing) {
  run_state rs(entry_of("api", {.interval = 10s, .timeout = 2s, .jitter = 0}), true, nullptr);
  rs.arm(t0);
  ASSERT_TRUE(rs.step(t0, 10s, {}).start);
  const context ctx{"api", rs.current_run().deadline, rs.current_run().cancelled,
                    rs.current_run().activity};
  ctx.doing("waiting for the response from 127.0.0.1:8080");
  const auto out = rs.step(t0 + 2s, 10s, {});
  ASSERT_TRUE(out.timed_out);
  EXPECT_TRUE(ctx.cancelled());
  EXPECT_EQ(rs.state().reported.output,
            "timed out after 2s waiting for the response from 127.0.0.1:8080");
  EXPECT_EQ(rs.state().reported.duration, 2s);
  // A late answer is discarded.
  result r = pass();
  const auto done = rs.complete(rs.current_run().run_id, r, t0 + 3s, std::nullopt, 10s, {});
  ASSERT_TRUE(done);
  EXPECT_TRUE(done->late);
  EXPECT_EQ(rs.state().reported.status, status::fail);
}

TEST(RunState, AStaleCallbackIsIgnored) {
  run_state rs(entry_of("db", {.interval = 10s, .timeout = 2s, .jitter = 0}), true, nullptr);
  rs.arm(t0);
  ASSERT_TRUE(rs.step(t0, 10s, {}).start);
  result r = pass();
  EXPECT_FALSE(rs.complete(rs.current_run().run_id + 1, r, t0 + 1s, std::nullopt, 10s, {}));
  EXPECT_TRUE(rs.state().in_flight);
}

// ---- first runs ----------------------------------------------------------------------------

class instant final : public async_check {
 public:
  explicit instant(std::function<result()> answer = [] { return pass(); })
      : answer_(std::move(answer)) {}
  void start(std::shared_ptr<const context>, completion done) override { done(answer_()); }

 private:
  std::function<result()> answer_;
};

// When each check first ran, stepping the clock from one due time to the next.
std::map<std::string, steady_time> first_runs(std::size_t n, std::chrono::microseconds spread,
                                              std::chrono::milliseconds interval = 10s) {
  auto clk = std::make_shared<manual_clock>();
  std::map<std::string, steady_time> first;
  std::mutex mu;
  registry reg;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string name = "target-" + std::to_string(i);
    reg.add(name, std::make_shared<instant>([&, name] {
              std::lock_guard lk(mu);
              first.emplace(name, clk->now());
              return pass();
            }),
            {.interval = interval, .timeout = 1s, .jitter = 0});
  }
  service_options o{.clock = clk, .on_event = [](const event&) {}, .seed = 1};
  o.first_run_spread = spread;
  service svc{std::move(reg), std::move(o)};
  const steady_time start = clk->now();
  while (clk->now() < start + interval) {
    const auto next = svc.poll();
    if (next <= clk->now()) continue;
    clk->advance(std::min<std::chrono::nanoseconds>(next - clk->now(), interval));
  }
  for (auto& [name, at] : first) at = steady_time{at - start};
  return first;
}

TEST(FirstRuns, AreSpreadOverTheIntervalAtScaleDeterministicallyByName) {
  const auto a = first_runs(2000, 1000us);  // window = min(10 s, 2000 x 1 ms) = 2 s
  ASSERT_EQ(a.size(), 2000U);
  std::array<int, 20> per_100ms{};
  for (const auto& [name, at] : a) {
    const auto off = at.time_since_epoch();
    ASSERT_LT(off, 2s) << name;
    ++per_100ms[static_cast<std::size_t>(off / 100ms)];
  }
  // 100 per 100 ms on average: no burst (an even spread, not all at t0).
  for (const int n : per_100ms) {
    EXPECT_GT(n, 50);
    EXPECT_LT(n, 150);
  }
  EXPECT_EQ(a, first_runs(2000, 1000us)) << "the same on every start";
}

TEST(FirstRuns, AHandfulStartAtOnceAndAnInitialDelayWins) {
  const auto few = first_runs(5, 1000us);  // window 5 ms
  for (const auto& [name, at] : few) EXPECT_LT(at.time_since_epoch(), 5ms) << name;
  const auto none = first_runs(50, 0us);
  for (const auto& [name, at] : none) EXPECT_EQ(at.time_since_epoch(), 0ns) << name;

  auto clk = std::make_shared<manual_clock>();
  std::atomic<int> calls{0};
  registry reg;
  reg.add("late", std::make_shared<instant>([&] { return ++calls, pass(); }),
          {.interval = 10s, .timeout = 1s, .initial_delay = 3s, .jitter = 0});
  service_options o{.clock = clk, .on_event = [](const event&) {}};
  o.first_run_spread = 1s;
  service svc{std::move(reg), std::move(o)};
  EXPECT_EQ(svc.poll(), clk->now() + 3s);
  EXPECT_EQ(calls.load(), 0);
}

// ---- publication ---------------------------------------------------------------------------

TEST(Publication, UnchangedChecksAreSharedBetweenSnapshots) {
  auto clk = std::make_shared<manual_clock>();
  registry reg;
  constexpr std::size_t n = 1000;
  for (std::size_t i = 0; i < n; ++i)
    reg.add("c" + std::to_string(i), std::make_shared<instant>(),
            {.interval = i == 700 ? 1s : 100s, .timeout = 500ms, .jitter = 0});
  service svc{std::move(reg), {.clock = clk, .on_event = [](const event&) {}}};
  (void)svc.poll();  // every check runs once
  const auto a = svc.current();
  clk->advance(1s);
  (void)svc.poll();  // only c700 runs again
  const auto b = svc.current();
  ASSERT_GT(b->generation, a->generation);
  ASSERT_EQ(a->checks.block_count(), b->checks.block_count());
  std::size_t shared_blocks = 0;
  for (std::size_t i = 0; i < a->checks.block_count(); ++i)
    shared_blocks += a->checks.block_at(i) == b->checks.block_at(i) ? 1 : 0;
  EXPECT_EQ(shared_blocks, a->checks.block_count() - 1) << "only c700's block was copied";
  std::size_t shared_states = 0;
  for (std::size_t i = 0; i < n; ++i)
    shared_states += a->checks.shared(i) == b->checks.shared(i) ? 1 : 0;
  EXPECT_EQ(shared_states, n - 1);
  EXPECT_EQ(a->find("c700")->runs, 1U);
  EXPECT_EQ(b->find("c700")->runs, 2U);
  EXPECT_EQ(b->find("c699")->runs, 1U);
  EXPECT_EQ(&b->checks[699], b->find("c699"));
}

// A snapshot's states are owned by its publication's epoch, which keeps the later epochs: a
// snapshot held for long must not keep every later result alive. After publisher::fold_after
// publications it is folded (it keeps only its own states), and still reads as it did.
TEST(Publication, ASnapshotHeldForLongKeepsOnlyItsOwnStates) {
  auto clk = std::make_shared<manual_clock>();
  registry reg;
  for (int i = 0; i < 100; ++i)  // only c0 runs again: about two publications per second
    reg.add("c" + std::to_string(i), std::make_shared<instant>(),
            {.interval = i == 0 ? 1s : 1000s, .timeout = 500ms, .jitter = 0});
  service svc{std::move(reg), {.clock = clk, .on_event = [](const event&) {}}};
  (void)svc.poll();
  const auto held = svc.current();  // kept to the end
  std::vector<std::uint64_t> runs;
  for (const auto& c : held->checks) runs.push_back(c.runs);
  clk->advance(1s);
  (void)svc.poll();
  std::weak_ptr<const check_state> later;
  later = svc.current()->checks.shared(0);  // this thread's cache holds it until the next read
  ASSERT_FALSE(later.expired());
  for (int k = 0; k < 3; ++k) {
    clk->advance(1s);
    (void)svc.poll();
    (void)svc.current();
  }
  EXPECT_FALSE(later.expired()) << "young: the held snapshot's epoch still keeps the later ones";
  for (int k = 0; k < 200; ++k) {
    clk->advance(1s);
    (void)svc.poll();
    (void)svc.current();
  }
  EXPECT_TRUE(later.expired()) << "folded: the held snapshot no longer keeps later results";
  ASSERT_EQ(held->checks.size(), 100U);
  for (std::size_t i = 0; i < held->checks.size(); ++i) {
    EXPECT_EQ(held->checks[i].name, "c" + std::to_string(i));
    EXPECT_EQ(held->checks[i].runs, runs[i]);
  }
  EXPECT_EQ(svc.current()->find("c0")->runs, runs[0] + 204);
}

// Snapshots outlive the engine that published them, folded or not.
TEST(Publication, SnapshotsOutliveTheEngine) {
  auto clk = std::make_shared<manual_clock>();
  std::shared_ptr<const snapshot> first;
  std::shared_ptr<const snapshot> last;
  std::shared_ptr<const check_state> one;
  {
    registry reg;
    for (int i = 0; i < 130; ++i)
      reg.add("c" + std::to_string(i), std::make_shared<instant>(),
              {.interval = 1s, .timeout = 500ms, .jitter = 0});
    service svc{std::move(reg), {.clock = clk, .on_event = [](const event&) {}}};
    (void)svc.poll();
    first = svc.current();
    for (int k = 0; k < 100; ++k) {
      clk->advance(1s);
      (void)svc.poll();
    }
    last = svc.current();
    one = last->checks.shared(129);
  }
  EXPECT_EQ(first->find("c129")->runs, 1U);
  EXPECT_EQ(last->find("c129")->runs, 101U);
  last.reset();
  EXPECT_EQ(one->name, "c129");
  EXPECT_EQ(one->runs, 101U);
}

TEST(Publication, ResultsAreBatchedWithinThePublishInterval) {
  auto clk = std::make_shared<manual_clock>();
  registry reg;
  for (int i = 0; i < 100; ++i)
    reg.add("c" + std::to_string(i), std::make_shared<instant>(),
            {.interval = 10s, .timeout = 1s, .jitter = 0});
  service_options o{.clock = clk, .on_event = [](const event&) {}};
  o.publish_interval = 5ms;
  service svc{std::move(reg), std::move(o)};
  const auto g0 = svc.current()->generation;  // published at construction
  const auto next = svc.poll();               // 100 results within the same 5 ms window
  EXPECT_EQ(svc.current()->generation, g0) << "batched";
  EXPECT_EQ(svc.current()->find("c0")->reported.status, status::unknown);
  // The poll says when the batch is due.
  EXPECT_EQ(next, clk->now() + 5ms);
  clk->advance(5ms);
  (void)svc.poll();
  const auto snap = svc.current();
  EXPECT_EQ(snap->generation, g0 + 1) << "one publication for 100 results";
  for (const auto& c : snap->checks) EXPECT_EQ(c.reported.status, status::pass) << c.name;
  EXPECT_EQ(snap->probe_status(probe::ready), status::pass);
  EXPECT_EQ(svc.stats().results, 100U);
}

TEST(Publication, TalliesAgreeWithWalkingTheChecksWhileFlapping) {
  auto clk = std::make_shared<manual_clock>();
  std::mt19937 rng(3);
  std::mutex mu;
  registry reg;
  for (int i = 0; i < 300; ++i) {
    reg.add("c" + std::to_string(i), std::make_shared<instant>([&] {
              std::lock_guard lk(mu);
              switch (rng() % 3) {
                case 0:
                  return pass();
                case 1:
                  return warn("slow");
                default:
                  return fail("down", failure_kind::refused);
              }
            }),
            {.probes = i % 3 == 0 ? probe_set{ready} : (i % 3 == 1 ? (ready | startup) : live),
             .critical = i % 5 != 0,
             .interval = std::chrono::milliseconds{100 + i % 7 * 30},
             .timeout = 50ms,
             .failure_threshold = 1 + i % 3,
             .success_threshold = 1 + i % 2,
             .allow_in_live = true});
  }
  service svc{std::move(reg), {.clock = clk, .on_event = [](const event&) {}, .seed = 5}};
  for (int step = 0; step < 200; ++step) {
    (void)svc.poll();
    const auto snap = svc.current();
    snapshot walked = *snap;
    walked.tallied = false;
    for (const probe p : {probe::live, probe::ready, probe::startup}) {
      ASSERT_EQ(snap->probe_status(p), walked.probe_status(p)) << "step " << step;
      const std::vector<std::string_view> ex{"c3", "c4", "c3", "nope"};
      ASSERT_EQ(snap->probe_status(p, ex), walked.probe_status(p, ex)) << "step " << step;
    }
    ASSERT_EQ(snap->overall_status(), walked.overall_status());
    clk->advance(37ms);
  }
}

// ---- observers -----------------------------------------------------------------------------

struct recording_observer final : observer {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> seen;
  std::shared_ptr<test::gate> hold;
  void on_result(const check_state& c) override {
    if (hold) hold->enter_and_wait();
    push("result " + c.name + " " + std::string(to_string(c.last_run.status)));
  }
  void on_transition(const check_state& c, status from, status to) override {
    push("transition " + c.name + " " + std::string(to_string(from)) + "->" +
         std::string(to_string(to)));
  }
  void on_probe(probe p, status from, status to) override {
    push("probe " + std::string(to_string(p)) + " " + std::string(to_string(from)) + "->" +
         std::string(to_string(to)));
  }
  void push(std::string s) {
    std::lock_guard lk(mu);
    seen.push_back(std::move(s));
    cv.notify_all();
  }
  bool wait_size(std::size_t n) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, 10s, [&] { return seen.size() >= n; });
  }
};

TEST(Observers, SeeEveryResultTransitionAndProbeChangeInOrder) {
  auto clk = std::make_shared<manual_clock>();
  auto obs = std::make_shared<recording_observer>();
  std::atomic<int> n{0};
  registry reg;
  reg.add("db", std::make_shared<instant>([&] {
            return ++n == 2 ? fail("down", failure_kind::refused) : pass();
          }),
          {.interval = 1s, .timeout = 500ms, .jitter = 0});
  service_options o{.clock = clk, .on_event = [](const event&) {}};
  o.observers = {obs};
  service svc{std::move(reg), std::move(o)};
  for (int i = 0; i < 3; ++i) {
    (void)svc.poll();
    clk->advance(1s);
  }
  ASSERT_TRUE(obs->wait_size(9));
  std::lock_guard lk(obs->mu);
  const std::vector<std::string> want = {
      "result db pass", "transition db unknown->pass", "probe ready unknown->pass",
      "result db fail", "transition db pass->fail",    "probe ready pass->fail",
      "result db pass", "transition db fail->pass",    "probe ready fail->pass"};
  EXPECT_EQ(obs->seen, want);
}

TEST(Observers, ASlowObserverDropsAndNeverSlowsTheEngine) {
  auto clk = std::make_shared<manual_clock>();
  auto slow = std::make_shared<recording_observer>();
  slow->hold = std::make_shared<test::gate>();
  auto fast = std::make_shared<recording_observer>();
  registry reg;
  for (int i = 0; i < 50; ++i)
    reg.add("c" + std::to_string(i), std::make_shared<instant>(),
            {.interval = 1s, .timeout = 500ms, .jitter = 0});
  service_options o{.clock = clk, .on_event = [](const event&) {}};
  o.observers = {slow, fast};
  o.observer_queue = 128;
  service svc{std::move(reg), std::move(o)};
  std::size_t items = 0;
  for (int round = 0; round < 10; ++round) {
    (void)svc.poll();                // never waits for the stuck observer
    items += round == 0 ? 101 : 50;  // results, first transitions and the ready probe's change
    ASSERT_TRUE(fast->wait_size(items)) << "the other observer keeps up, round " << round;
    clk->advance(1s);
  }
  const auto snap = svc.current();
  for (const auto& c : snap->checks) EXPECT_EQ(c.runs, 10U) << c.name;
  ASSERT_TRUE(slow->hold->wait_entered(1));
  // The stuck observer holds one item and 128 queued; the rest were dropped and counted.
  EXPECT_EQ(svc.stats().observer_drops, 551U - 1U - 128U);
  slow->hold->open();
  EXPECT_TRUE(slow->wait_size(129));
}

TEST(Observers, StatsCountLateStartsAndInFlight) {
  auto clk = std::make_shared<manual_clock>();
  registry reg;
  reg.add("a", std::make_shared<instant>(), {.interval = 1s, .timeout = 500ms, .jitter = 0});
  service svc{std::move(reg), {.clock = clk, .on_event = [](const event&) {}}};
  (void)svc.poll();
  clk->advance(1s + 250ms);  // the engine was busy: the second run starts 250 ms late
  (void)svc.poll();
  const auto s = svc.stats();
  EXPECT_EQ(s.checks, 1U);
  EXPECT_EQ(s.in_flight, 0U);
  EXPECT_EQ(s.results, 2U);
  EXPECT_EQ(s.late_starts, 1U);
  EXPECT_GE(s.lag_max, 250ms);
  EXPECT_EQ(svc.current()->find("a")->lag, 250ms);
  EXPECT_EQ(svc.current()->find("a")->reported.status, status::pass);
}

TEST(SelfCheck, TheEngineWarnsWhileItCannotKeepUp) {
  auto clk = std::make_shared<manual_clock>();
  registry reg;
  reg.add("a", std::make_shared<instant>(), {.interval = 1s, .timeout = 500ms, .jitter = 0});
  service_options o{.clock = clk, .on_event = [](const event&) {}};
  o.self_check = true;
  service svc{std::move(reg), std::move(o)};
  (void)svc.poll();
  ASSERT_NE(svc.current()->find("engine"), nullptr);
  EXPECT_EQ(svc.current()->find("engine")->reported.status, status::pass);
  EXPECT_FALSE(svc.current()->find("engine")->options.critical);
  // Starved for 3 s: every due run starts late.
  for (int i = 0; i < 3; ++i) {
    clk->advance(1s + 400ms);
    (void)svc.poll();
  }
  clk->advance(5s);
  (void)svc.poll();
  const auto* e = svc.current()->find("engine");
  EXPECT_EQ(e->reported.status, status::warn) << e->reported.output;
  EXPECT_NE(e->reported.output.find("the engine is behind"), std::string::npos);
  EXPECT_EQ(svc.current()->probe_status(probe::ready), status::warn) << "non-critical";
  EXPECT_EQ(svc.current()->find("a")->reported.status, status::pass) << "honest, not a timeout";
}

// ---- secrets -------------------------------------------------------------------------------

TEST(SecretSet, MasksLikeTheRedactorInOnePass) {
  const std::vector<std::string> secrets = {"hunter2", "p@ss word", "abc",
                                            "abcdef",  "xy",        "postgres://u:pw@db/x"};
  const detail::secret_set set(secrets);
  redactor r;
  for (const auto& s : secrets) r.add_secret(s);
  for (const std::string text :
       {"login hunter2 failed", "p%40ss%20word in a url", "abcdefg and abc", "xy stays",
        "dsn postgres://u:pw@db/x!", "hunter2hunter2", "nothing here", ""}) {
    EXPECT_EQ(scrub_patterns(set.mask(text)), r.scrub(text)) << text;
  }
  EXPECT_EQ(set.mask("abcdefg and abc"), "***g and ***") << "the longest secret wins";
  EXPECT_EQ(set.mask("hunter2hunter2"), "******");
}

TEST(SecretSet, CostDoesNotGrowWithTheNumberOfSecrets) {
  // 10,000 http checks, each with its URL as a secret: every text is still scanned once.
  std::vector<std::string> urls;
  for (int i = 0; i < 10'000; ++i)
    urls.push_back("http://127.0.0.1:8080/t/" + std::to_string(i) + "?token=k" + std::to_string(i));
  const detail::secret_set set(urls);
  EXPECT_EQ(set.mask("GET http://127.0.0.1:8080/t/4242?token=k4242 refused"), "GET *** refused");
  EXPECT_EQ(set.mask("GET http://127.0.0.1:8080/t/4242 refused"),
            "GET http://127.0.0.1:8080/t/4242 refused")
      << "a prefix of a secret is not a secret";
  EXPECT_EQ(set.mask("http%3A%2F%2F127.0.0.1%3A8080%2Ft%2F7%3Ftoken%3Dk7"), "***");
}

}  // namespace
}  // namespace vitals
