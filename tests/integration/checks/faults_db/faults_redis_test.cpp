// Faults of the redis check against private redis-server instances (started on a free port by
// the test, stopped by PID).
#include "fault_scenarios.hpp"
#include "vitals/checks/redis.hpp"

namespace {

using vitals::checks::redis;

std::string url_for(std::uint16_t port, const std::string& password) {
  return "redis://:" + password + "@127.0.0.1:" + std::to_string(port) + "/0";
}

TEST(redis_faults, stopped_server_is_refused) {
  const auto port = vitals::test::closed_port();
  auto server = vitals::test::start_redis(port, "fault-pw-1");
  ASSERT_NE(server, nullptr) << "redis-server did not start";
  auto c = redis({.url = url_for(port, "fault-pw-1")});
  ASSERT_EQ(vitals::test::run_once(*c).status, vitals::status::pass);
  server->stop();
  // The kept connection is dead and the port closed: refused, at once.
  vitals::test::refused_scenario(c, port);
}

TEST(redis_faults, frozen_server_times_out_and_recovers) {
  const auto port = vitals::test::closed_port();
  auto server = vitals::test::start_redis(port, "fault-pw-2");
  ASSERT_NE(server, nullptr) << "redis-server did not start";
  vitals::test::frozen_server_scenario(redis({.url = url_for(port, "fault-pw-2")}),
                                       [&] { return std::vector<pid_t>{server->pid()}; });
}

TEST(redis_faults, wrong_password_is_auth_and_never_shown) {
  const auto port = vitals::test::closed_port();
  auto server = vitals::test::start_redis(port, "fault-pw-3");
  ASSERT_NE(server, nullptr) << "redis-server did not start";
  const std::string bad = "Wr0ngPassw0rd-redis";
  vitals::test::wrong_password_scenario(redis({.url = url_for(port, bad)}), bad);
}

TEST(redis_faults, garbage_answer_is_protocol) {
  vitals::test::garbage_scenario(
      [](std::uint16_t port) { return redis({.url = url_for(port, "pw-garbage")}); });
}

}  // namespace
