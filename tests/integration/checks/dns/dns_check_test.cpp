#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "vitals/checks/dns.hpp"

namespace vitals::checks {
namespace {

using namespace std::chrono_literals;

vitals::result run_once(vitals::check& c, std::chrono::milliseconds timeout) {
  return c.run(vitals::context{"dns", std::chrono::steady_clock::now() + timeout,
                               std::make_shared<std::atomic<bool>>(false)});
}

// The system resolver (/etc/hosts): works offline.
TEST(dns_check, localhost_resolves_to_loopback) {
  auto c =
      dns({.name = "localhost", .family = dns_family::ipv4, .expected_addresses = {"127.0.0.1"}});
  auto r = run_once(*c, 2s);
  EXPECT_EQ(r.status, vitals::status::pass) << r.output;
}

// RFC 6761: names under .invalid never resolve.
TEST(dns_check, invalid_tld_fails_fast_as_dns) {
  auto c = dns({.name = "vitals-check.invalid"});
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run_once(*c, 2s);
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::dns) << r.output;
  EXPECT_NE(r.output.find("could not resolve \"vitals-check.invalid\""), std::string::npos)
      << r.output;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2500ms);
}

}  // namespace
}  // namespace vitals::checks
