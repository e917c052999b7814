// Faults of the mysql check against the shared MariaDB (VITALS_TEST_MYSQL_URL /
// VITALS_TEST_MYSQL_PID); frozen with SIGSTOP, always thawed.
#include "fault_scenarios.hpp"
#include "vitals/checks/mysql.hpp"

namespace {

using vitals::checks::mysql;

TEST(mysql_faults, closed_port_is_refused) {
  const auto port = vitals::test::closed_port();
  vitals::test::refused_scenario(
      mysql({.url = "mysql://vitals:pw@127.0.0.1:" + std::to_string(port) + "/vitals"}), port);
}

TEST(mysql_faults, frozen_server_times_out_and_recovers) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_MYSQL_URL");
  VITALS_SERVER_ENV(pid, "VITALS_TEST_MYSQL_PID");
  vitals::test::frozen_server_scenario(
      mysql({.url = url}), [&] { return std::vector<pid_t>{static_cast<pid_t>(std::stol(pid))}; });
}

TEST(mysql_faults, wrong_password_is_auth_and_never_shown) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_MYSQL_URL");
  const std::string bad = "Wr0ngPassw0rd-my";
  vitals::test::wrong_password_scenario(mysql({.url = vitals::test::with_password(url, bad)}), bad);
}

TEST(mysql_faults, garbage_answer_is_protocol) {
  vitals::test::garbage_scenario([](std::uint16_t port) {
    return mysql({.url = "mysql://vitals:pw@127.0.0.1:" + std::to_string(port) + "/x"});
  });
}

}  // namespace
