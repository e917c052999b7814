// Faults of the postgres check against the shared PostgreSQL (VITALS_TEST_PG_URL /
// VITALS_TEST_PG_PID); frozen with SIGSTOP (postmaster and its children), always thawed.
#include "fault_scenarios.hpp"
#include "vitals/checks/postgres.hpp"

namespace {

using vitals::checks::postgres;

TEST(postgres_faults, closed_port_is_refused) {
  const auto port = vitals::test::closed_port();
  vitals::test::refused_scenario(
      postgres({.url = "postgres://vitals:pw@127.0.0.1:" + std::to_string(port) + "/vitals"}),
      port);
}

TEST(postgres_faults, frozen_server_times_out_and_recovers) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  VITALS_SERVER_ENV(pid, "VITALS_TEST_PG_PID");
  vitals::test::frozen_server_scenario(postgres({.url = url}), [&] {
    return vitals::test::with_children(static_cast<pid_t>(std::stol(pid)));
  });
}

TEST(postgres_faults, wrong_password_is_auth_and_never_shown) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  const std::string bad = "Wr0ngPassw0rd-pg";
  vitals::test::wrong_password_scenario(postgres({.url = vitals::test::with_password(url, bad)}),
                                        bad);
}

TEST(postgres_faults, garbage_answer_is_protocol) {
  vitals::test::garbage_scenario([](std::uint16_t port) {
    return postgres({.url = "postgres://vitals:pw@127.0.0.1:" + std::to_string(port) + "/x"});
  });
}

}  // namespace
