#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "rig.hpp"

// GCC 12 flags free() of memory from a replaced operator new as mismatched; here both sides are
// malloc/free by construction.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// Counts allocations made by the current thread while `counting` is set, to prove that serving a
// cached probe allocates nothing. Other threads (the engine's pool) are not counted.
namespace {
thread_local bool counting = false;
thread_local std::size_t allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
  if (counting) ++allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc{};
}
// Every form that can pair with the replaced deletes is replaced too (std::stable_sort uses the
// nothrow form): a sanitizer's own new paired with our free() is an alloc-dealloc mismatch.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (counting) ++allocations;
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

using vitals_test::rig;

constexpr std::string_view token = "tok-cache-1";
const std::string bearer = "Bearer " + std::string{token};

struct cache_rig : rig {
  cache_rig() {
    add("db", vitals::pass());
    add("loop", vitals::pass(), {.probes = vitals::live});
    add("init", vitals::pass(), {.probes = vitals::startup});
    start({.token = std::string{token}});
    run();
  }
};

TEST(Cache, SameGenerationServesTheSameBytes) {
  cache_rig r;
  for (const char* t : {"/livez", "/readyz", "/startupz", "/health", "/readyz?verbose"}) {
    for (const std::string& auth : {std::string{}, bearer}) {
      const auto a = r.serve(t, auth);
      const auto b = r.serve(t, auth);
      const auto head = r.serve(t, auth, "HEAD");
      EXPECT_EQ(a.body.data(), b.body.data()) << t;
      EXPECT_EQ(a.head.data(), b.head.data()) << t;
      EXPECT_EQ(a.body.data(), head.body.data()) << t;  // GET and HEAD share the rendering
      EXPECT_EQ(a.keep.get(), b.keep.get()) << t;
    }
  }
  // Anonymous and authorized renderings are distinct.
  EXPECT_NE(r.serve("/health").body.data(), r.serve("/health", bearer).body.data());
  EXPECT_EQ(r.serve("/health", "Bearer wrong").body.data(), r.serve("/health").body.data());
}

TEST(Cache, NewGenerationRendersAgain) {
  cache_rig r;
  const auto before = r.serve("/readyz");
  const std::uint64_t gen = r.svc().current()->generation;
  EXPECT_EQ(before.body, "ok");
  r.at("db").set(vitals::fail("down"));
  r.run();
  ASSERT_GT(r.svc().current()->generation, gen);
  const auto after = r.serve("/readyz");
  EXPECT_EQ(after.status, 503);
  EXPECT_EQ(after.body, "[-]db failed: reason withheld\nreadyz check failed\n");
  // The old rendering stays valid for whoever still holds it.
  EXPECT_EQ(before.body, "ok");
  EXPECT_EQ(r.serve("/readyz").body.data(), after.body.data());
}

TEST(Cache, CachedProbesAllocateNothing) {
  cache_rig r;
  for (const char* t : {"/livez", "/readyz", "/startupz", "/health", "/readyz?verbose"}) {
    for (const std::string& auth : {std::string{}, bearer, std::string{"Bearer nope"}}) {
      for (const char* method : {"GET", "HEAD"}) {
        static_cast<void>(r.serve(t, auth, method));  // warm the cache for this generation
        allocations = 0;
        counting = true;
        const auto w = r.serve(t, auth, method);
        counting = false;
        EXPECT_EQ(allocations, 0U) << method << " " << t << " auth=" << auth.size();
        EXPECT_FALSE(w.body.empty());
      }
    }
  }
  // Static answers too.
  allocations = 0;
  counting = true;
  const auto nf = r.serve("/nope");
  const auto na = r.serve("/readyz", {}, "POST");
  counting = false;
  EXPECT_EQ(allocations, 0U);
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(na.status, 405);
  // The counter does see allocations: a query variant is rendered per request.
  allocations = 0;
  counting = true;
  const auto excluded = r.serve("/readyz?exclude=db");
  counting = false;
  EXPECT_GT(allocations, 0U);
  EXPECT_EQ(excluded.body, "ok");
}

TEST(Cache, ConcurrentReadersSeeWholeRenderingsAcrossGenerations) {
  cache_rig r;
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const auto w = r.serve("/readyz");
        const bool ok =
            (w.status == 200 && w.body == "ok") ||
            (w.status == 503 && w.body == "[-]db failed: reason withheld\nreadyz check failed\n");
        const bool head_ok =
            w.head.ends_with("Content-Length: " + std::to_string(w.body.size()) + "\r\n");
        if (!ok || !head_ok) bad.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    r.at("db").set(i % 2 == 0 ? vitals::fail("down") : vitals::pass());
    r.run();
  }
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
