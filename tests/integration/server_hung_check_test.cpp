// A check that never returns must not slow the endpoint, leak threads or report anything but
// fail/timeout while it hangs.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <latch>
#include <memory>
#include <thread>

#include "server_fixture.hpp"

namespace vitals::test {
namespace {

using clk = std::chrono::steady_clock;

std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator{"/proc/self/task"}) {
    ++n;
  }
  return n;
}

TEST_F(server_test, hung_check_never_blocks_the_endpoint) {
  constexpr auto interval = 30ms;
  constexpr auto timeout = 20ms;
  // Shared with the hung check: its thread wakes after the test body returns (the fixture stops
  // the service only in TearDown), so what it touches must outlive this frame.
  auto release_owner = std::make_shared<std::latch>(1);
  auto entered_owner = std::make_shared<std::atomic<int>>(0);
  std::latch& release = *release_owner;
  std::atomic<int>& entered = *entered_owner;
  registry reg;
  reg.add("fine", [](const context&) { return pass(); },
          {.probes = ready, .interval = interval, .timeout = timeout});
  reg.add("hung",
          [release_owner, entered_owner](const context&) {
            entered_owner->fetch_add(1);
            release_owner->wait();  // ignores cancellation on purpose
            return pass();
          },
          {.probes = ready, .interval = interval, .timeout = timeout});
  ASSERT_NO_FATAL_FAILURE(start({}, std::move(reg), /*wait_ready=*/false));

  // The run starts at once and hangs; at its deadline the runner reports fail/timeout.
  ASSERT_TRUE(eventually([&] { return entered.load() == 1; }));
  const auto hung_since = clk::now();
  ASSERT_TRUE(eventually([&] {
    const auto* c = svc_->current()->find("hung");
    return c != nullptr && c->reported.status == status::fail;
  }));
  const auto reported_after = clk::now() - hung_since;
  {
    auto snap = svc_->current();
    const auto* c = snap->find("hung");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->reported.kind, failure_kind::timeout);
  }
  EXPECT_LE(reported_after, timeout + 200ms) << "timeout reported late";

  client c = connect();
  const std::size_t threads_before = thread_count();
  clk::duration worst{0};
  int not_ready = 0;
  for (int i = 0; i < 100; ++i) {
    const auto t0 = clk::now();
    ASSERT_TRUE(c.send(get("/readyz")));
    auto r = c.read_reply();
    const auto took = clk::now() - t0;
    ASSERT_TRUE(r) << "poll " << i;
    worst = std::max(worst, took);
    if (r->status == 503) ++not_ready;
    std::this_thread::sleep_for(interval);
  }
  const std::size_t threads_after = thread_count();

  // A request that waited on the hung check would wait until the end of the test (it is only
  // released below); the bound leaves room for a loaded sanitizer build with parallel tests.
  EXPECT_LE(worst, 100ms) << "slowest /readyz answer: "
                          << std::chrono::duration_cast<std::chrono::microseconds>(worst).count()
                          << " us";
  EXPECT_EQ(not_ready, 100) << "a hung critical check must keep readiness failing";
  EXPECT_EQ(entered.load(), 1) << "a second run started while the first one hangs";
  EXPECT_EQ(threads_after, threads_before) << "threads grew while the check hangs";
  {
    auto snap = svc_->current();
    const auto* h = snap->find("hung");
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->reported.status, status::fail);
    const auto* f = snap->find("fine");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->reported.status, status::pass);
    EXPECT_GT(f->runs, 20u) << "the healthy check kept its schedule";
  }
  release.count_down();
}

}  // namespace
}  // namespace vitals::test
