// Reconnects under a frozen PostgreSQL (issue 7 bar): 10 postgres checks at interval 200 ms
// (timeout 150 ms) against the shared server frozen with SIGSTOP for 10 s. While frozen, each
// check keeps its one pending connection attempt instead of opening a new one per run, so the
// server's accept queue -- exactly the connections that reach it on thaw -- holds at most 10.
// Measured on the listening socket itself (/proc/net/tcp: a LISTEN socket's rx_queue is its
// accept-queue length), just before SIGCONT.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "db_support.hpp"
#include "vitals/checks/postgres.hpp"
#include "vitals/registry.hpp"
#include "vitals/service.hpp"

namespace {

using namespace std::chrono_literals;
using vitals::status;

// Connections waiting in the accept queue of the listener on 127.0.0.1:`port` (-1: not found).
long accept_queue(std::uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  char want[16];
  std::snprintf(want, sizeof want, "0100007F:%04X", port);
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string slot, local, remote, st, queues;
    f >> slot >> local >> remote >> st >> queues;
    if (local == want && st == "0A") {
      // "tx_queue:rx_queue" in hex; for a listener rx_queue is the accept backlog in use.
      return std::stol(queues.substr(queues.find(':') + 1), nullptr, 16);
    }
  }
  return -1;
}

std::uint16_t port_of(const std::string& url) {
  const auto colon = url.rfind(':');
  return static_cast<std::uint16_t>(std::stoi(url.substr(colon + 1)));
}

TEST(postgres_reconnect, frozen_server_gets_at_most_one_attempt_per_check_on_thaw) {
  VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");
  VITALS_SERVER_ENV(pid, "VITALS_TEST_PG_PID");
  const auto port = port_of(url.substr(0, url.rfind('/')));
  // Other tests (ctest -j) share the server: wait for a moment with an empty accept queue.
  const auto settle_until = std::chrono::steady_clock::now() + 5s;
  while (accept_queue(port) != 0 && std::chrono::steady_clock::now() < settle_until) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(accept_queue(port), 0) << "listener 127.0.0.1:" << port << " not found or busy";

  constexpr int checks = 10;
  vitals::registry reg;
  for (int i = 0; i < checks; ++i) {
    reg.add("pg" + std::to_string(i), vitals::checks::postgres({.url = url}),
            {.interval = 200ms, .timeout = 150ms, .jitter = 0.0});
  }
  vitals::service svc{std::move(reg), {.on_event = [](const vitals::event&) {}}};
  svc.start();
  const auto all = [&](status want) {
    auto snap = svc.current();
    for (int i = 0; i < checks; ++i) {
      const auto* c = snap->find("pg" + std::to_string(i));
      if (c == nullptr || c->reported.status != want) return false;
    }
    return true;
  };
  const auto eventually = [&](auto pred, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  };
  ASSERT_TRUE(eventually([&] { return all(status::pass); }, 10s));

  long queued = -1;
  std::string sample;
  {
    vitals::test::frozen freeze{vitals::test::with_children(static_cast<pid_t>(std::stol(pid)))};
    EXPECT_TRUE(eventually([&] { return all(status::fail); }, 3s));
    std::this_thread::sleep_for(10s);
    queued = accept_queue(port);
    sample = svc.current()->find("pg0")->last_run.output;
  }  // SIGCONT
  std::printf("accept queue at thaw: %ld connection(s) from %d checks (last output: %s)\n", queued,
              checks, sample.c_str());
  EXPECT_GE(queued, 0);
  EXPECT_LE(queued, checks);
  EXPECT_NE(sample.find("timed out after 150ms"), std::string::npos) << sample;
  EXPECT_TRUE(eventually([&] { return all(status::pass); }, 5s));
  svc.stop();
}

}  // namespace
