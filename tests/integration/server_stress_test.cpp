// Many clients, flapping checks, several I/O threads: meaningful under ThreadSanitizer (label
// `engine`) — the server's threads, the service's scheduler and pool, and the handler's
// per-snapshot rendering cache all run at once.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "server_fixture.hpp"

namespace vitals::test {
namespace {

using clk = std::chrono::steady_clock;

TEST_F(server_test, concurrent_clients_with_flapping_checks) {
  // Shared with the checks: a pool thread may still be in one when the test body returns (the
  // fixture stops the service only in TearDown), so the counter must outlive this frame.
  auto flips_owner = std::make_shared<std::atomic<unsigned>>(0);
  std::atomic<unsigned>& flips = *flips_owner;
  registry reg;
  for (int i = 0; i < 3; ++i) {
    reg.add("flap" + std::to_string(i),
            [flips_owner, i](const context&) {
              const unsigned n = flips_owner->fetch_add(1, std::memory_order_relaxed);
              if ((n + static_cast<unsigned>(i)) % 3 == 0) return fail("flapped");
              if (n % 5 == 0) return warn("wobbly");
              return pass().observe(static_cast<std::int64_t>(n), "runs");
            },
            {.probes = i == 0 ? live | ready : ready,
             .critical = i != 2,
             .interval = 10ms,
             .timeout = 5ms,
             .jitter = 0.5});
  }
  ASSERT_NO_FATAL_FAILURE(start({.io_threads = 2, .max_connections = 64, .max_pipelined = 4},
                                std::move(reg), /*wait_ready=*/false));

  const char* targets[] = {"/readyz",         "/livez",        "/startupz",     "/health",
                           "/readyz?verbose", "/health/flap1", "/readyz/flap0", "/nope"};
  std::atomic<long> answered{0};
  std::atomic<long> bad{0};
  std::atomic<long> protocol_errors{0};
  const auto until = clk::now() + 2s;
  std::vector<std::thread> clients;
  for (int t = 0; t < 16; ++t) {
    clients.emplace_back([&, t] {
      std::mt19937 rng{static_cast<unsigned>(t)};
      while (clk::now() < until) {
        try {
          client c{srv_->port()};
          const int burst = 1 + static_cast<int>(rng() % 50);
          for (int i = 0; i < burst && clk::now() < until; ++i) {
            const int kind = static_cast<int>(rng() % 20);
            if (kind == 0) {
              // A bad request ends the connection with a 4xx.
              c.send("BREW /coffee HTCPCP/1.0\r\n\r\n");
              auto r = c.read_reply();
              if (!r || r->status != 400) protocol_errors.fetch_add(1);
              break;
            }
            const int pipelined = kind == 1 ? 6 : 1;
            std::string batch;
            const bool head = kind == 2;
            for (int k = 0; k < pipelined; ++k) {
              batch += get(targets[rng() % std::size(targets)], {}, head ? "HEAD" : "GET");
            }
            if (!c.send(batch)) {
              protocol_errors.fetch_add(1);
              break;
            }
            for (int k = 0; k < pipelined; ++k) {
              auto r = c.read_reply(head);
              if (!r) {
                protocol_errors.fetch_add(1);
                break;
              }
              answered.fetch_add(1);
              if (r->status != 200 && r->status != 503 && r->status != 404) bad.fetch_add(1);
            }
          }
        } catch (const std::exception&) {
          protocol_errors.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : clients) th.join();

  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(protocol_errors.load(), 0);
  EXPECT_GT(answered.load(), 1000);
  EXPECT_GT(flips.load(), 50u) << "checks did not keep flapping under load";
  EXPECT_TRUE(eventually([&] { return srv_->connections() == 0; }));
}

}  // namespace
}  // namespace vitals::test
