#include <gtest/gtest.h>
#include <netdb.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "dns/dns_check.hpp"

namespace vitals::checks {
namespace {

using namespace std::chrono_literals;
using detail::lookup_result;

vitals::context ctx_for(std::chrono::milliseconds timeout) {
  return vitals::context{"dns", std::chrono::steady_clock::now() + timeout,
                         std::make_shared<std::atomic<bool>>(false)};
}

detail::bounded_resolver::lookup_fn answers(std::vector<std::string> addrs,
                                            std::atomic<int>* family_seen = nullptr) {
  return [addrs, family_seen](const std::string&, int family) {
    if (family_seen != nullptr) *family_seen = family;
    lookup_result r;
    for (const auto& a : addrs) r.addresses.push_back(*detail::numeric_address(a, 0));
    return r;
  };
}

std::string detail_of(const vitals::result& r, const std::string& key) {
  for (const auto& [k, v] : r.details) {
    if (k == key) return v;
  }
  return {};
}

TEST(dns_check, passes_with_addresses_in_details) {
  auto c = detail::make_dns_check({.name = "db.internal"}, answers({"10.0.0.5", "10.0.0.6"}));
  auto r = c->run(ctx_for(1s));
  EXPECT_EQ(r.status, status::pass) << r.output;
  EXPECT_EQ(detail_of(r, "addresses"), "10.0.0.5,10.0.0.6");
  ASSERT_TRUE(r.observed);
  EXPECT_EQ(r.observed->unit, "ms");
  const auto t = c->traits();
  EXPECT_EQ(t.type, "dns");
  EXPECT_TRUE(t.dependency);
}

TEST(dns_check, expected_addresses_are_compared_numerically) {
  auto ok = detail::make_dns_check({.name = "h", .expected_addresses = {"::0001", "10.0.0.5"}},
                                   answers({"10.0.0.5", "::1"}));
  EXPECT_EQ(ok->run(ctx_for(1s)).status, status::pass);

  auto missing = detail::make_dns_check({.name = "h", .expected_addresses = {"10.0.0.7"}},
                                        answers({"10.0.0.5"}));
  auto r = missing->run(ctx_for(1s));
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::assertion);
  EXPECT_EQ(r.output, "\"h\" resolved to 10.0.0.5, missing 10.0.0.7");
}

TEST(dns_check, minimum_count) {
  auto c = detail::make_dns_check({.name = "pool", .min_addresses = 3},
                                  answers({"10.0.0.1", "10.0.0.2", "10.0.0.2"}));
  auto r = c->run(ctx_for(1s));
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::assertion);
  EXPECT_EQ(r.output, "\"pool\" resolved to 2 addresses, expected at least 3");
}

TEST(dns_check, family_is_passed_to_the_lookup) {
  std::atomic<int> seen{-1};
  auto c =
      detail::make_dns_check({.name = "h", .family = dns_family::ipv6}, answers({"::1"}, &seen));
  EXPECT_EQ(c->run(ctx_for(1s)).status, status::pass);
  EXPECT_EQ(seen.load(), AF_INET6);
}

TEST(dns_check, lookup_errors_keep_their_kind) {
  auto c = detail::make_dns_check({.name = "nope"}, [](const std::string&, int) {
    lookup_result r;
    r.error = detail::net_error{failure_kind::dns,
                                "could not resolve \"nope\": Name or service not known"};
    return r;
  });
  auto r = c->run(ctx_for(1s));
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::dns);
}

TEST(dns_check, hung_resolver_times_out_and_never_piles_up) {
  struct state {
    std::mutex m;
    std::condition_variable cv;
    bool open = false;
    std::atomic<int> calls{0};
  };
  auto s = std::make_shared<state>();
  auto c = detail::make_dns_check({.name = "hung.example"}, [s](const std::string&, int) {
    ++s->calls;
    std::unique_lock lock(s->m);
    s->cv.wait(lock, [&] { return s->open; });
    lookup_result r;
    r.addresses.push_back(*detail::numeric_address("192.0.2.1", 0));
    return r;
  });
  for (int i = 0; i < 10; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = c->run(ctx_for(30ms));
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(r.status, status::fail);
    EXPECT_EQ(r.kind, failure_kind::timeout) << r.output;
    EXPECT_LT(took, 500ms);
  }
  EXPECT_EQ(s->calls.load(), 1);  // one outstanding lookup, however many runs

  {
    std::lock_guard lock(s->m);
    s->open = true;
  }
  s->cv.notify_all();
  auto r = c->run(ctx_for(2s));
  EXPECT_EQ(r.status, status::pass) << r.output;
}

TEST(dns_check, bad_options_throw) {
  EXPECT_THROW((void)dns({}), std::invalid_argument);
  EXPECT_THROW((void)dns({.name = "h", .expected_addresses = {"not-an-ip"}}),
               std::invalid_argument);
}

}  // namespace
}  // namespace vitals::checks
