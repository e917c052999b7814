// handler::rebind: swapping the service under a live handler (what vitalsd does on SIGHUP).
// Real services with lambda checks on manual clocks; no sockets, no sleeps.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "handler_impl.hpp"
#include "vitals/http/handler.hpp"
#include "vitals/service.hpp"
#include "vitals/testing/manual_clock.hpp"

namespace {

using namespace std::chrono_literals;

struct engine {
  std::shared_ptr<vitals::testing::manual_clock> clock =
      std::make_shared<vitals::testing::manual_clock>();
  std::shared_ptr<vitals::service> svc;
};

/// A service whose checks (name → result) have all completed their first run. With `extra_runs`
/// the checks run that many more times, which moves the service to a higher generation.
engine make_engine(const std::vector<std::pair<std::string, vitals::result>>& checks,
                   int extra_runs = 0) {
  engine e;
  vitals::registry reg;
  for (const auto& [name, r] : checks) {
    reg.add(
        name, [r](const vitals::context&) { return r; },
        {.probes = vitals::live | vitals::ready | vitals::startup, .interval = 10s, .jitter = 0});
  }
  e.svc = std::make_shared<vitals::service>(
      std::move(reg),
      vitals::service_options{.clock = e.clock, .on_event = [](const vitals::event&) {}});
  for (int round = 0; round <= extra_runs; ++round) {
    if (round > 0) e.clock->advance(10s);
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    for (;;) {
      static_cast<void>(e.svc->poll());
      const auto snap = e.svc->current();
      bool done = true;
      for (const auto& c : snap->checks) {
        if (c.runs <= static_cast<std::uint64_t>(round) || c.in_flight) done = false;
      }
      if (done) break;
      if (std::chrono::steady_clock::now() > give_up) {
        ADD_FAILURE() << "checks did not complete";
        break;
      }
      static_cast<void>(e.svc->wait_for_update(snap->generation, 100ms));
    }
  }
  return e;
}

vitals::http::wire_response serve(const vitals::http::handler& h, std::string_view target) {
  return vitals::http::detail::handler_access::of(h).serve("GET", target, "");
}

TEST(Rebind, NewRequestsAreServedByTheNewService) {
  auto a = make_engine({{"alpha", vitals::pass()}});
  auto b = make_engine({{"beta", vitals::fail("down")}});
  vitals::http::handler h{a.svc};
  EXPECT_EQ(serve(h, "/readyz").status, 200);
  EXPECT_EQ(serve(h, "/readyz/alpha").status, 200);
  EXPECT_EQ(serve(h, "/readyz/beta").status, 404);
  EXPECT_EQ(&h.source(), a.svc.get());

  h.rebind(b.svc);
  EXPECT_EQ(&h.source(), b.svc.get());
  EXPECT_EQ(h.shared_source(), b.svc);
  EXPECT_EQ(serve(h, "/readyz").status, 503);
  EXPECT_EQ(serve(h, "/readyz/alpha").status, 404);
  EXPECT_EQ(serve(h, "/readyz/beta").status, 503);
  const auto health = h.handle({.method = "GET", .target = "/health", .headers = {}});
  EXPECT_EQ(health.status, 503);
  EXPECT_NE(health.body.find("beta"), std::string::npos) << health.body;
  EXPECT_EQ(health.body.find("alpha"), std::string::npos) << health.body;
}

TEST(Rebind, CachedRenderingOfAnOlderServiceAtAHigherGenerationIsNotReused) {
  // The old service is further along (more generations) than the new one: a memo keyed by the
  // generation alone would keep serving the old rendering.
  auto a = make_engine({{"alpha", vitals::fail("down")}}, 3);
  auto b = make_engine({{"beta", vitals::pass()}});
  ASSERT_GT(a.svc->current()->generation, b.svc->current()->generation);
  vitals::http::handler h{a.svc};
  for (const char* t : {"/readyz", "/livez", "/startupz", "/health", "/readyz?verbose"}) {
    EXPECT_EQ(serve(h, t).status, 503) << t;
  }
  h.rebind(b.svc);
  for (const char* t : {"/readyz", "/livez", "/startupz", "/health", "/readyz?verbose"}) {
    EXPECT_EQ(serve(h, t).status, 200) << t;
  }
  EXPECT_EQ(serve(h, "/readyz?verbose").body, "[+]beta ok\nreadyz check passed\n");
  // And back: the first service's renderings are not mistaken for current either.
  h.rebind(a.svc);
  EXPECT_EQ(serve(h, "/readyz").status, 503);
  EXPECT_NE(serve(h, "/readyz?verbose").body.find("[-]alpha failed"), std::string::npos);
}

TEST(Rebind, NewServiceGenerationsAreFollowed) {
  auto a = make_engine({{"alpha", vitals::pass()}}, 2);
  vitals::registry reg;
  auto flip = std::make_shared<std::atomic<bool>>(true);
  reg.add("beta",
          [flip](const vitals::context&) {
            return flip->load() ? vitals::pass() : vitals::fail("now down");
          },
          {.interval = 10s, .jitter = 0});
  auto clock = std::make_shared<vitals::testing::manual_clock>();
  auto b = std::make_shared<vitals::service>(
      std::move(reg),
      vitals::service_options{.clock = clock, .on_event = [](const vitals::event&) {}});
  vitals::http::handler h{a.svc};
  EXPECT_EQ(serve(h, "/readyz").status, 200);
  h.rebind(b);
  EXPECT_EQ(serve(h, "/readyz").status, 503);  // beta has not run yet: unknown
  auto run_once = [&] {
    const auto gen = b->current()->generation;
    static_cast<void>(b->poll());
    ASSERT_TRUE(b->wait_for_update(gen, 20s));
    while (b->current()->checks.front().in_flight) {
      static_cast<void>(b->wait_for_update(b->current()->generation, 100ms));
    }
  };
  run_once();
  EXPECT_EQ(serve(h, "/readyz").status, 200);
  flip->store(false);
  clock->advance(10s);
  run_once();
  EXPECT_EQ(serve(h, "/readyz").status, 503);
}

TEST(Rebind, AnswersTakenBeforeTheSwapOutliveTheOldService) {
  auto a = make_engine({{"alpha", vitals::pass()}});
  auto b = make_engine({{"beta", vitals::pass()}});
  vitals::http::handler h{a.svc};
  const auto before = serve(h, "/readyz?verbose");
  const std::weak_ptr<vitals::service> old = a.svc;
  a.svc->stop();
  a.svc.reset();
  EXPECT_FALSE(old.expired()) << "the handler shares the ownership";
  h.rebind(b.svc);
  // This thread's next request drops its hold on the old service.
  EXPECT_EQ(serve(h, "/readyz?verbose").body, "[+]beta ok\nreadyz check passed\n");
  EXPECT_TRUE(old.expired());
  EXPECT_EQ(before.body, "[+]alpha ok\nreadyz check passed\n");
}

TEST(Rebind, NonOwningBindingsStillWork) {
  auto a = make_engine({{"alpha", vitals::pass()}});
  auto b = make_engine({{"beta", vitals::fail("down")}});
  vitals::http::handler h{*a.svc};
  EXPECT_EQ(serve(h, "/readyz").status, 200);
  EXPECT_EQ(a.svc.use_count(), 1) << "a service& binding must not own";
  h.rebind(*b.svc);
  EXPECT_EQ(serve(h, "/readyz").status, 503);
  EXPECT_EQ(b.svc.use_count(), 1);
  EXPECT_EQ(h.shared_source().get(), b.svc.get());
}

TEST(Rebind, NullServiceIsRefused) {
  auto a = make_engine({{"alpha", vitals::pass()}});
  EXPECT_THROW(vitals::http::handler{std::shared_ptr<vitals::service>{}}, std::invalid_argument);
  vitals::http::handler h{a.svc};
  EXPECT_THROW(h.rebind(std::shared_ptr<vitals::service>{}), std::invalid_argument);
  EXPECT_EQ(serve(h, "/readyz").status, 200);
}

TEST(Rebind, ConcurrentReadersSeeOneWholeServiceWhileItIsSwappedAndDropped) {
  // Readers serve while the main thread swaps between fresh services and drops the previous
  // ones: every answer is a complete rendering of one of them, and no service is used after it
  // is destroyed (the point of this test under ASan/TSan).
  auto pass_engine = make_engine({{"alpha", vitals::pass()}});
  vitals::http::handler h{pass_engine.svc};
  pass_engine.svc.reset();
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<long> served{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const auto w =
            vitals::http::detail::handler_access::of(h).serve("GET", "/readyz?verbose", "");
        const bool ok = (w.status == 200 && w.body == "[+]alpha ok\nreadyz check passed\n") ||
                        (w.status == 503 && w.body ==
                                                "[-]beta failed: reason withheld\n"
                                                "readyz check failed\n");
        const bool head_ok =
            w.head.ends_with("Content-Length: " + std::to_string(w.body.size()) + "\r\n");
        if (!ok || !head_ok) bad.fetch_add(1);
        served.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 40; ++i) {
    auto next = i % 2 == 0 ? make_engine({{"beta", vitals::fail("down")}})
                           : make_engine({{"alpha", vitals::pass()}});
    const long seen = served.load();
    h.rebind(next.svc);
    next.svc.reset();  // the handler is the only owner now
    // Let the readers pick it up before the next swap.
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (served.load() < seen + 30 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::yield();
    }
  }
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0) << "of " << served.load();
  EXPECT_GT(served.load(), 40 * 30);
}

}  // namespace
