// server::rebind on a live server: keep-alive clients keep their connections and never see a
// failed or torn answer while the service behind them is swapped again and again; the replaced
// services are released once no request uses them.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server_fixture.hpp"

namespace vitals::test {
namespace {

using clk = std::chrono::steady_clock;

/// A started service with one passing check named `name`, its first result in.
std::shared_ptr<service> started_service(const std::string& name) {
  registry reg;
  reg.add(name, [](const context&) { return pass(); },
          {.probes = live | ready | startup, .interval = 1s, .timeout = 500ms});
  auto svc =
      std::make_shared<service>(std::move(reg), service_options{.on_event = [](const event&) {}});
  svc->start();
  EXPECT_TRUE(
      eventually([&] { return svc->current()->probe_status(probe::ready) == status::pass; }));
  return svc;
}

std::string verbose_body(const std::string& name) {
  return "[+]" + name + " ok\nreadyz check passed\n";
}

TEST(server_rebind, swaps_services_without_dropping_a_connection_or_a_request) {
  auto first = started_service("alpha");
  std::weak_ptr<service> first_weak = first;
  http::server srv{first, {.address = "127.0.0.1", .port = 0, .io_threads = 2}};
  srv.start();
  first.reset();  // the server is the only owner now

  constexpr int clients = 6;
  std::atomic<bool> stop{false};
  std::atomic<long> ok{0};
  std::atomic<long> failed{0};
  std::atomic<int> connected{0};
  // Per client: which services it has seen answer on its single connection.
  std::vector<std::atomic<int>> seen_alpha(clients);
  std::vector<std::atomic<int>> seen_beta(clients);
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      client c{srv.port()};
      connected.fetch_add(1);
      // Half the clients pipeline two requests per write.
      const bool pipelined = t % 2 == 1;
      const std::string one = get("/readyz?verbose");
      const std::string batch = pipelined ? one + one : one;
      while (!stop.load()) {
        if (!c.send(batch)) {
          failed.fetch_add(1);
          return;  // the connection is gone: every later request would fail too
        }
        for (int i = 0; i < (pipelined ? 2 : 1); ++i) {
          const auto r = c.read_reply();
          if (!r) {
            failed.fetch_add(1);
            return;
          }
          if (r->status == 200 && r->body == verbose_body("alpha")) {
            seen_alpha[static_cast<std::size_t>(t)].fetch_add(1);
          } else if (r->status == 200 && r->body == verbose_body("beta")) {
            seen_beta[static_cast<std::size_t>(t)].fetch_add(1);
          } else {
            failed.fetch_add(1);
            continue;
          }
          ok.fetch_add(1);
        }
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return connected.load() == clients && ok.load() > clients; }));

  constexpr int swaps = 60;
  std::vector<std::weak_ptr<service>> replaced{first_weak};
  std::shared_ptr<service> previous;
  for (int i = 0; i < swaps; ++i) {
    auto next = started_service(i % 2 == 0 ? "beta" : "alpha");
    const long before = ok.load();
    srv.rebind(next);
    // What vitalsd does: stop the replaced engine at once, let the server release it.
    if (previous) previous->stop();
    previous = next;
    replaced.emplace_back(next);
    next.reset();
    // Let every client get a few answers from this service before the next swap.
    ASSERT_TRUE(eventually([&] { return ok.load() >= before + 4 * clients; }));
    EXPECT_EQ(srv.connections(), static_cast<std::size_t>(clients)) << "swap " << i;
  }
  const std::weak_ptr<service> last = previous;
  previous.reset();
  stop.store(true);
  for (auto& t : threads) t.join();

  EXPECT_EQ(failed.load(), 0) << "of " << ok.load() + failed.load() << " requests";
  for (int t = 0; t < clients; ++t) {
    EXPECT_GT(seen_alpha[static_cast<std::size_t>(t)].load(), 0) << "client " << t;
    EXPECT_GT(seen_beta[static_cast<std::size_t>(t)].load(), 0) << "client " << t;
  }
  std::printf("[ rebind ] %d swaps under %d keep-alive clients: %ld answers, %ld failed\n", swaps,
              clients, ok.load(), failed.load());

  // The last service is still served; a new connection gets it.
  ASSERT_FALSE(last.expired());
  client fresh{srv.port()};
  ASSERT_TRUE(fresh.send(get("/readyz?verbose")));
  const auto r = fresh.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, verbose_body(swaps % 2 == 1 ? "beta" : "alpha"));

  // Every replaced service is released once the I/O threads have served past it: at most one
  // per I/O thread may still be held until its next request, none after the server stops.
  std::size_t alive = 0;
  for (std::size_t i = 0; i + 1 < replaced.size(); ++i) alive += replaced[i].expired() ? 0 : 1;
  EXPECT_LE(alive, 2U);
  srv.stop();
  for (std::size_t i = 0; i + 1 < replaced.size(); ++i) EXPECT_TRUE(replaced[i].expired()) << i;
  EXPECT_FALSE(last.expired()) << "the server still owns its current service until destroyed";
}

TEST(server_rebind, non_owning_server_can_be_rebound_too) {
  auto a = started_service("alpha");
  auto b = started_service("beta");
  http::server srv{*a, {.address = "127.0.0.1", .port = 0}};
  srv.start();
  client c{srv.port()};
  ASSERT_TRUE(c.send(get("/readyz?verbose")));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, verbose_body("alpha"));
  EXPECT_EQ(a.use_count(), 1);
  srv.rebind(*b);
  ASSERT_TRUE(c.send(get("/readyz?verbose")));
  r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, verbose_body("beta"));  // same connection, new service
  EXPECT_EQ(&srv.get_handler().source(), b.get());
  srv.stop();
  a->stop();
  b->stop();
}

}  // namespace
}  // namespace vitals::test
