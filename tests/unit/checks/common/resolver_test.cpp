#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "common/resolver.hpp"

namespace vitals::checks::detail {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// A lookup that blocks until released, like getaddrinfo against a dead DNS server.
struct gate {
  std::mutex m;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> calls{0};
  std::atomic<int> inside{0};
  std::atomic<int> max_inside{0};

  bounded_resolver::lookup_fn fn() {
    return [this](const std::string&, int) {
      ++calls;
      const int now = ++inside;
      int prev = max_inside.load();
      while (prev < now && !max_inside.compare_exchange_weak(prev, now)) {
      }
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return open; });
      --inside;
      lookup_result r;
      r.addresses.push_back(*numeric_address("10.1.2.3", 0));
      return r;
    };
  }
  void release() {
    {
      std::lock_guard lock(m);
      open = true;
    }
    cv.notify_all();
  }
};

TEST(bounded_resolver, literals_skip_the_worker) {
  std::atomic<int> calls{0};
  bounded_resolver r{[&](const std::string&, int) {
    ++calls;
    return lookup_result{};
  }};
  auto res = r.resolve("::1", 5432, clock_type::now() + 1s);
  ASSERT_TRUE(res);
  EXPECT_EQ(res.addresses.at(0).text(), "::1");
  EXPECT_EQ(res.addresses.at(0).port(), 5432);
  EXPECT_EQ(calls.load(), 0);
}

TEST(bounded_resolver, returns_the_lookup_answer_with_the_port) {
  gate g;
  g.release();
  bounded_resolver r{g.fn()};
  auto res = r.resolve("db.internal", 6379, clock_type::now() + 2s);
  ASSERT_TRUE(res);
  EXPECT_EQ(res.addresses.at(0).text(), "10.1.2.3");
  EXPECT_EQ(res.addresses.at(0).port(), 6379);
}

TEST(bounded_resolver, hung_lookup_times_out_at_the_deadline_and_is_never_duplicated) {
  gate g;
  bounded_resolver r{g.fn()};
  const auto t0 = clock_type::now();
  auto first = r.resolve("hung.example", 53, t0 + 50ms);
  const auto took = clock_type::now() - t0;
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error->kind, failure_kind::timeout);
  EXPECT_NE(first.error->message.find("resolving \"hung.example\""), std::string::npos);
  EXPECT_GE(took, 50ms);
  EXPECT_LT(took, 1s);
  EXPECT_TRUE(r.busy());

  // Later runs while the first lookup still hangs: each times out, none starts a second lookup.
  for (int i = 0; i < 5; ++i) {
    auto again = r.resolve("hung.example", 53, clock_type::now() + 10ms);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error->kind, failure_kind::timeout);
    EXPECT_NE(again.error->message.find("still running"), std::string::npos);
  }
  EXPECT_EQ(g.calls.load(), 1);
  EXPECT_EQ(g.max_inside.load(), 1);

  // The hung lookup returns: the resolver is usable again, its stale answer is not reused.
  g.release();
  auto ok = r.resolve("hung.example", 80, clock_type::now() + 2s);
  ASSERT_TRUE(ok) << ok.error->message;
  EXPECT_EQ(ok.addresses.at(0).port(), 80);
  EXPECT_EQ(g.calls.load(), 2);
}

TEST(bounded_resolver, destroying_while_hung_does_not_block) {
  auto g = std::make_shared<gate>();
  const auto t0 = clock_type::now();
  {
    // The lookup keeps the gate alive for as long as the detached worker may touch it.
    bounded_resolver r{[g](const std::string& h, int f) { return g->fn()(h, f); }};
    auto res = r.resolve("hung.example", 53, clock_type::now() + 20ms);
    EXPECT_FALSE(res);
  }  // destructor runs with the worker stuck in the lookup
  EXPECT_LT(clock_type::now() - t0, 1s);
  g->release();  // the detached worker finishes and frees the shared state on its own
}

TEST(bounded_resolver, lookup_exceptions_become_internal_errors) {
  bounded_resolver r{
      [](const std::string&, int) -> lookup_result { throw std::runtime_error("boom"); }};
  auto res = r.resolve("x.example", 1, clock_type::now() + 1s);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error->kind, failure_kind::internal);
}

}  // namespace
}  // namespace vitals::checks::detail
