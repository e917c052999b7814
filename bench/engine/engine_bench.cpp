// CPU per result of the engine alone, at 10 to 100,000 checks: the cost of scheduling, running
// (a check that answers at once), judging, observing and publishing one result must not depend
// on how many checks there are. Time is a manual clock stepped from one due time to the next, so
// the whole engine runs on the benchmark's thread and CPU time is the engine's.
//
//   spread:  checks at a 10 s interval, first runs spread over it (as vitalsd runs them); each
//            step is one poll at the next due time; snapshots batched every 2 ms (the default).
//   burst:   every check due at the same instant (no spreading); one poll handles them all.
//   observed: as `spread`, with one observer receiving every result and transition.
//   flapping: as `spread`, every result flips pass/fail (a transition per result).
//   notified: as `flapping`, with a real vitals::notify dispatcher routing every transition to a
//            notifier that only counts (no I/O): the cost of notifications on the engine.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "vitals/service.hpp"
#if defined(VITALS_BENCH_NOTIFY)
#include "vitals/notify.hpp"
#endif
#include "vitals/testing/manual_clock.hpp"

namespace {

using namespace std::chrono_literals;

class instant final : public vitals::async_check {
 public:
  explicit instant(bool flap) : flap_(flap) {}
  void start(std::shared_ptr<const vitals::context>, completion done) override {
    if (flap_ && (++n_ % 2 == 0)) {
      done(vitals::fail("down", vitals::failure_kind::refused));
    } else {
      done(vitals::pass().observe(std::int64_t{42}, "ms"));
    }
  }

 private:
  bool flap_;
  std::uint64_t n_ = 0;
};

struct counting_observer final : vitals::observer {
  std::atomic<std::uint64_t> results{0};
  void on_result(const vitals::check_state&) override {
    results.fetch_add(1, std::memory_order_relaxed);
  }
};

#if defined(VITALS_BENCH_NOTIFY)
struct counting_notifier final : vitals::notify::notifier {
  std::atomic<std::uint64_t> sent{0};
  vitals::notify::delivery send(const vitals::notify::message&,
                                vitals::notify::steady_time) override {
    sent.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
};
#endif

enum class mode { spread, burst, observed, flapping, notified };

void run(benchmark::State& state, mode m) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto clk = std::make_shared<vitals::testing::manual_clock>();
  vitals::registry reg;
  for (std::size_t i = 0; i < n; ++i) {
    reg.add("target-" + std::to_string(i),
            std::make_shared<instant>(m == mode::flapping || m == mode::notified),
            {.interval = 10s, .timeout = 2s, .jitter = 0.1});
  }
  vitals::service_options o{.clock = clk, .on_event = [](const vitals::event&) {}, .seed = 1};
  o.publish_interval =
      std::chrono::milliseconds{std::getenv("PUB") ? std::atoi(std::getenv("PUB")) : 2};
  o.first_run_spread = m == mode::burst ? 0us : 10s;  // spread over the whole interval
  if (m == mode::observed) o.observers.push_back(std::make_shared<counting_observer>());
#if defined(VITALS_BENCH_NOTIFY)
  if (m == mode::notified) {
    o.observers.push_back(
        std::make_shared<vitals::notify::dispatcher>(vitals::notify::dispatcher_options{
            .notifiers = {{.name = "count", .channel = std::make_shared<counting_notifier>()}},
            .clock = clk}));
  }
#endif
  vitals::service svc{std::move(reg), std::move(o)};
  // No start(): poll() arms the checks, and this thread alone drives the engine.
  // Warm-up: one full round, so every check has a result and a next due time.
  for (auto end = clk->now() + 11s; clk->now() < end;) {
    const auto next = svc.poll();
    if (next > clk->now()) clk->advance(std::min<std::chrono::nanoseconds>(next - clk->now(), 1s));
  }
  const auto before = svc.stats();
  for (auto _ : state) {
    const auto next = svc.poll();
    if (next > clk->now()) clk->advance(std::min<std::chrono::nanoseconds>(next - clk->now(), 1s));
  }
  const auto after = svc.stats();
  const auto results = static_cast<double>(after.results - before.results);
  state.counters["results"] = results;
  state.counters["publications"] = static_cast<double>(after.publications - before.publications);
  state.counters["cpu_per_result"] =
      benchmark::Counter(results, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  svc.stop();
}

// The per-run counters /metrics exports (result, kind, duration histogram), counted on every
// ingestion: their cost alone.
void bm_run_counters(benchmark::State& state) {
  vitals::run_counters k;
  auto r = vitals::fail("down", vitals::failure_kind::refused);
  std::int64_t us = 0;
  for (auto _ : state) {
    r.duration = std::chrono::microseconds{us = (us * 7 + 13) % 3'000'000};
    k.count(r, 2s);
    benchmark::DoNotOptimize(k);
  }
}

void bm_spread(benchmark::State& s) { run(s, mode::spread); }
void bm_burst(benchmark::State& s) { run(s, mode::burst); }
void bm_observed(benchmark::State& s) { run(s, mode::observed); }
void bm_flapping(benchmark::State& s) { run(s, mode::flapping); }
#if defined(VITALS_BENCH_NOTIFY)
void bm_notified(benchmark::State& s) { run(s, mode::notified); }
#endif

}  // namespace

BENCHMARK(bm_run_counters);
BENCHMARK(bm_spread)->Arg(10)->Arg(1000)->Arg(10'000)->Arg(100'000)->MinTime(2);
BENCHMARK(bm_burst)->Arg(10)->Arg(1000)->Arg(10'000)->Arg(100'000)->MinTime(2);
BENCHMARK(bm_observed)->Arg(10)->Arg(1000)->Arg(10'000)->Arg(100'000)->MinTime(2);
BENCHMARK(bm_flapping)->Arg(10)->Arg(1000)->Arg(10'000)->Arg(100'000)->MinTime(2);
#if defined(VITALS_BENCH_NOTIFY)
BENCHMARK(bm_notified)->Arg(10)->Arg(1000)->Arg(10'000)->MinTime(2);
#endif
BENCHMARK_MAIN();
