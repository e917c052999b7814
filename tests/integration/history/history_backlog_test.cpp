// A big backlog for the history (a day of results of 2,000 targets arriving at once, and rows
// past their retention to expire) while an engine runs 200 checks every 50 ms with the history
// as its observer: the checks keep their pace. The writer works in its own thread and the
// engine only hands it results through the observer queue, so a slow write can only make that
// queue overflow (counted), never delay a run.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "vitals/history.hpp"
#include "vitals/service.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST(HistoryBacklog, ABigBacklogNeverDelaysTheChecks) {
  std::string templ = (fs::temp_directory_path() / "vitals-backlog-XXXXXX").string();
  const fs::path dir = ::mkdtemp(templ.data());
  {
    auto history = std::make_shared<vitals::sqlite_history>(vitals::history_options{
        .path = (dir / "h.db").string(), .flush_interval = 100ms, .max_pending = 1000000});
    // The backlog: 2,000 targets x 144 runs four days ago (their minute rows are past the 48 h
    // of retention as soon as they are written), queued before the engine starts.
    const auto old = std::chrono::system_clock::now() - 96h;
    vitals::check_state c;
    c.last_run = vitals::pass();
    c.last_run.duration = 3ms;
    for (int i = 0; i < 2000; ++i) {
      c.name = "old." + std::to_string(i);
      for (int k = 0; k < 144; ++k) {
        c.last_run.time = old + std::chrono::minutes{k * 10};
        history->on_result(c);
      }
    }
    vitals::registry reg;
    for (int i = 0; i < 200; ++i) {
      reg.add("c" + std::to_string(i), [](const vitals::context&) { return vitals::pass(); },
              {.probes = vitals::ready, .interval = 50ms, .timeout = 40ms, .jitter = 0});
    }
    vitals::service svc{std::move(reg),
                        {.on_event = [](const vitals::event&) {}, .observers = {history}}};
    svc.start();
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(3s);
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    const auto snap = svc.current();
    const auto stats = svc.stats();
    // The writer was busy with the backlog during the window (288,000 results to roll up).
    const auto written = history->stats().results_written;
    std::uint64_t fewest = ~std::uint64_t{0};
    std::uint64_t timeouts = 0;
    for (const auto& s : snap->checks) {
      fewest = std::min(fewest, s.runs);
      timeouts += s.timeouts;
    }
    svc.stop();
    history->flush();
    const auto expected = static_cast<std::uint64_t>(elapsed / 50ms);
    // Every check kept (at least half) its pace while the history worked through the backlog.
    EXPECT_GE(fewest, expected / 2) << "expected ~" << expected << " runs per check";
    EXPECT_EQ(timeouts, 0U);
    EXPECT_LT(stats.lag_p99, 500ms) << stats.lag_p99.count() << " ns";
    EXPECT_EQ(stats.observer_drops, 0U);
    const auto after = history->stats();
    EXPECT_GE(after.results_written, 288000U);
    EXPECT_GT(after.rows_expired, 0U);  // the backlog's minute rows, past their retention
    EXPECT_TRUE(after.fault.empty()) << after.fault;
    std::printf(
        "runs per check >= %llu of ~%llu; lag p99 %.2f ms; results written %llu by the "
        "end of the window, %llu in all\n",
        static_cast<unsigned long long>(fewest), static_cast<unsigned long long>(expected),
        static_cast<double>(stats.lag_p99.count()) / 1e6, static_cast<unsigned long long>(written),
        static_cast<unsigned long long>(after.results_written));
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
