// Faults of the memcached check against private memcached instances (started on a free port by
// the test, stopped by PID). memcached has no authentication in the text protocol, so there is
// no wrong-password scenario.
#include "fault_scenarios.hpp"
#include "vitals/checks/memcached.hpp"

namespace {

using vitals::checks::memcached;

std::string addr(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

TEST(memcached_faults, stopped_server_is_refused) {
  const auto port = vitals::test::closed_port();
  auto server = vitals::test::start_memcached(port);
  ASSERT_NE(server, nullptr) << "memcached did not start";
  auto c = memcached({.address = addr(port)});
  ASSERT_EQ(vitals::test::run_once(*c).status, vitals::status::pass);
  server->stop();
  vitals::test::refused_scenario(c, port);
}

TEST(memcached_faults, frozen_server_times_out_and_recovers) {
  const auto port = vitals::test::closed_port();
  auto server = vitals::test::start_memcached(port);
  ASSERT_NE(server, nullptr) << "memcached did not start";
  vitals::test::frozen_server_scenario(memcached({.address = addr(port)}),
                                       [&] { return std::vector<pid_t>{server->pid()}; });
}

TEST(memcached_faults, garbage_answer_is_protocol) {
  vitals::test::garbage_scenario(
      [](std::uint16_t port) { return memcached({.address = addr(port)}); });
}

}  // namespace
