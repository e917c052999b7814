// The grpc check against real gRPC servers on loopback: grpc++ with gRPC's own default health
// service (tests/peers/grpc_default_health_server, what most targets run) and Python grpcio
// servers without a health service. Serving, not serving, unknown service, refused, frozen
// (SIGSTOP), TLS and mTLS, the kept channel, secrets, and `vitals wait` / `vitals check`.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <unistd.h>

#include <filesystem>

#include "grpc_peer.hpp"
#include "vitals/check.hpp"
#include "vitals/checks/grpc.hpp"
#include "vitals/registry.hpp"
#include "vitals/service.hpp"

namespace {

using namespace std::chrono_literals;
using vitals::failure_kind;
using vitals::status;
using vitals::grpc_test::child;
using steady = std::chrono::steady_clock;
namespace gt = vitals::grpc_test;

vitals::result run_once(vitals::check& c, std::chrono::milliseconds timeout) {
  const vitals::context ctx{"grpc", steady::now() + timeout,
                            std::make_shared<std::atomic<bool>>(false)};
  return c.run(ctx);
}

std::string local(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

template <class F>
bool eventually(F f, std::chrono::milliseconds limit) {
  const auto until = steady::now() + limit;
  while (steady::now() < until) {
    if (f()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return f();
}

std::string all_text(const vitals::result& r) {
  std::string s = r.output;
  for (const auto& [k, v] : r.details) {
    s += ' ';
    s += k;
    s += '=';
    s += v;
  }
  return s;
}

std::string detail(const vitals::result& r, const std::string& key) {
  for (const auto& [k, v] : r.details) {
    if (k == key) return v;
  }
  return "<none>";
}

TEST(grpc_check, serving_passes_with_latency_and_details) {
  child peer{gt::default_health_server()};
  auto c = vitals::checks::grpc({.address = local(peer.port())});
  const auto r = run_once(*c, 2s);
  ASSERT_EQ(r.status, status::pass) << r.output;
  ASSERT_TRUE(r.observed.has_value());
  EXPECT_EQ(r.observed->unit, "ms");
  EXPECT_GT(std::get<double>(r.observed->value), 0.0);
  EXPECT_EQ(detail(r, "status"), "SERVING");
  EXPECT_EQ(detail(r, "address"), local(peer.port()));
  const auto t = c->traits();
  EXPECT_EQ(t.type, "grpc");
  EXPECT_TRUE(t.dependency);
}

TEST(grpc_check, ipv6_loopback) {
  child peer{gt::default_health_server(std::nullopt, false, "[::1]:0")};
  const std::string addr = "[::1]:" + std::to_string(peer.port());
  auto c = vitals::checks::grpc({.address = addr});
  const auto r = run_once(*c, 2s);
  EXPECT_EQ(r.status, status::pass) << r.output;
  EXPECT_EQ(detail(r, "address"), addr);
  EXPECT_EQ(gt::connections_to(peer.port()).size(), 1U);
}

TEST(grpc_check, unix_socket) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("vitals-grpc-" + std::to_string(::getpid()) + ".sock");
  std::filesystem::remove(path);
  {
    child peer{gt::default_health_server(std::nullopt, false, "unix:" + path.string())};
    auto c = vitals::checks::grpc({.address = "unix:" + path.string()});
    const auto r = run_once(*c, 2s);
    EXPECT_EQ(r.status, status::pass) << r.output;
    EXPECT_EQ(detail(r, "address"), "unix:" + path.string());
  }
  auto gone = vitals::checks::grpc({.address = "unix:" + path.string()});
  const auto r = run_once(*gone, 2s);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_NE(r.kind, failure_kind::timeout) << r.output;
  std::printf("unix socket gone: %s/%s\n", std::string(to_string(r.kind)).c_str(),
              r.output.c_str());
  std::filesystem::remove(path);
}

TEST(grpc_check, not_serving_fails_and_recovers) {
  child peer{gt::default_health_server()};
  auto whole = vitals::checks::grpc({.address = local(peer.port())});
  ASSERT_EQ(peer.command("set - NOT_SERVING"), "ok");
  auto r = run_once(*whole, 2s);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::assertion);
  EXPECT_NE(r.output.find("NOT_SERVING"), std::string::npos) << r.output;
  EXPECT_EQ(detail(r, "status"), "NOT_SERVING");
  ASSERT_EQ(peer.command("set - SERVING"), "ok");
  r = run_once(*whole, 2s);
  EXPECT_EQ(r.status, status::pass) << r.output;
}

TEST(grpc_check, named_service_serving_not_serving_and_unknown) {
  child peer{gt::default_health_server()};
  ASSERT_EQ(peer.command("set shop.Orders SERVING"), "ok");
  auto orders = vitals::checks::grpc({.address = local(peer.port()), .service = "shop.Orders"});
  auto r = run_once(*orders, 2s);
  EXPECT_EQ(r.status, status::pass) << r.output;
  EXPECT_EQ(detail(r, "service"), "shop.Orders");

  ASSERT_EQ(peer.command("set shop.Orders NOT_SERVING"), "ok");
  r = run_once(*orders, 2s);
  EXPECT_EQ(r.kind, failure_kind::assertion);
  EXPECT_NE(r.output.find("service \"shop.Orders\" is NOT_SERVING"), std::string::npos) << r.output;

  // gRPC's default service answers NOT_FOUND for a name it was never told about.
  auto unknown = vitals::checks::grpc({.address = local(peer.port()), .service = "shop.Nope"});
  r = run_once(*unknown, 2s);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::assertion);
  EXPECT_NE(r.output.find("service \"shop.Nope\" not found"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("NOT_FOUND"), std::string::npos) << r.output;
}

TEST(grpc_check, closed_port_is_refused_at_once) {
  const auto port = gt::closed_port();
  auto c = vitals::checks::grpc({.address = local(port)});
  const auto t0 = steady::now();
  const auto r = run_once(*c, 2s);
  const auto took = steady::now() - t0;
  EXPECT_EQ(r.kind, failure_kind::refused) << r.output;
  EXPECT_EQ(r.output, "connection refused (" + local(port) + ")");
  EXPECT_LT(took, 1s);
  // And again on the kept channel (gRPC's reconnect backoff: the same answer, no hang).
  const auto again = run_once(*c, 2s);
  EXPECT_EQ(again.kind, failure_kind::refused) << again.output;
}

TEST(grpc_check, a_server_that_comes_back_is_seen_within_a_second_or_so) {
  const auto port = gt::closed_port();
  auto c = vitals::checks::grpc({.address = local(port)});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(run_once(*c, 1s).kind, failure_kind::refused);
  child peer{gt::default_health_server(std::nullopt, false, local(port))};
  ASSERT_EQ(peer.port(), port);
  const auto up = steady::now();
  EXPECT_TRUE(eventually([&] { return run_once(*c, 1s).status == status::pass; }, 5s));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - up);
  std::printf("server back after refusals: seen passing after %lld ms\n",
              static_cast<long long>(took.count()));
  EXPECT_LT(took, 2500ms);
}

// The kept connection across a server restart on the same port: gRPC sees the connection go,
// the next runs reconnect by themselves; the channel is the same, the connection a new one.
TEST(grpc_check, a_restarted_server_is_reconnected) {
  std::uint16_t port = 0;
  std::vector<std::uint16_t> before;
  auto c = std::shared_ptr<vitals::check>{};
  {
    child first{gt::default_health_server()};
    port = first.port();
    c = vitals::checks::grpc({.address = local(port)});
    ASSERT_EQ(run_once(*c, 2s).status, status::pass);
    before = gt::connections_to(port);
    ASSERT_EQ(before.size(), 1U);
  }
  const auto down = run_once(*c, 1s);
  EXPECT_EQ(down.kind, failure_kind::refused) << down.output;
  child second{gt::default_health_server(std::nullopt, false, local(port))};
  const auto up = steady::now();
  EXPECT_TRUE(eventually([&] { return run_once(*c, 1s).status == status::pass; }, 5s));
  EXPECT_LT(steady::now() - up, 2500ms);
  const auto after = gt::connections_to(port);
  ASSERT_EQ(after.size(), 1U);
  EXPECT_NE(after, before);
}

TEST(grpc_check, no_health_service_is_unimplemented) {
  // gRPC's own server with the default health service switched off, and a Python grpcio server
  // that never heard of grpc.health.v1: two implementations, one answer.
  child cpp{gt::default_health_server(std::nullopt, true)};
  child py{gt::python_server("no-health")};
  for (const auto port : {cpp.port(), py.port()}) {
    auto c = vitals::checks::grpc({.address = local(port)});
    const auto r = run_once(*c, 3s);
    EXPECT_EQ(r.status, status::fail);
    EXPECT_EQ(r.kind, failure_kind::protocol) << r.output;
    EXPECT_NE(r.output.find("has no health service"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("UNIMPLEMENTED"), std::string::npos) << r.output;
  }
}

TEST(grpc_check, the_channel_is_kept_between_runs) {
  child peer{gt::default_health_server()};
  auto c = vitals::checks::grpc({.address = local(peer.port())});
  EXPECT_TRUE(gt::connections_to(peer.port()).empty());  // nothing before the first run
  ASSERT_EQ(run_once(*c, 2s).status, status::pass);
  const auto first = gt::connections_to(peer.port());
  ASSERT_EQ(first.size(), 1U);
  for (int i = 0; i < 30; ++i) ASSERT_EQ(run_once(*c, 2s).status, status::pass);
  // The same single connection (same local port) after 30 more runs.
  EXPECT_EQ(gt::connections_to(peer.port()), first);
  // A second check has a connection of its own; dropping a check closes its connection.
  {
    auto other = vitals::checks::grpc({.address = local(peer.port())});
    ASSERT_EQ(run_once(*other, 2s).status, status::pass);
    EXPECT_EQ(gt::connections_to(peer.port()).size(), 2U);
  }
  // Its channel is released by the next run of any grpc check (never on gRPC's own callback
  // thread, see deferred_release in grpc_check.cpp).
  ASSERT_EQ(run_once(*c, 2s).status, status::pass);
  EXPECT_TRUE(eventually([&] { return gt::connections_to(peer.port()) == first; }, 3s));
}

TEST(grpc_check, frozen_server_times_out_at_the_deadline) {
  child peer{gt::default_health_server()};
  auto kept = vitals::checks::grpc({.address = local(peer.port())});
  ASSERT_EQ(run_once(*kept, 2s).status, status::pass);
  peer.freeze();
  // On the kept connection: the call is sent, nothing comes back.
  for (const auto timeout : {150ms, 300ms}) {
    const auto t0 = steady::now();
    const auto r = run_once(*kept, timeout);
    const auto took = steady::now() - t0;
    EXPECT_EQ(r.kind, failure_kind::timeout) << r.output;
    EXPECT_NE(r.output.find("timed out after "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("waiting for the Health/Check answer from"), std::string::npos)
        << r.output;
    EXPECT_GE(took, timeout);
    EXPECT_LT(took, timeout + 100ms);
  }
  // A new check against the frozen server: the kernel accepts, HTTP/2 never starts.
  auto fresh = vitals::checks::grpc({.address = local(peer.port())});
  const auto t0 = steady::now();
  const auto r = run_once(*fresh, 200ms);
  EXPECT_EQ(r.kind, failure_kind::timeout) << r.output;
  EXPECT_NE(r.output.find("connecting to " + local(peer.port())), std::string::npos) << r.output;
  EXPECT_LT(steady::now() - t0, 300ms);
  // More runs wait on that same pending connection instead of opening more: the kept
  // connection and the fresh check's one.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(run_once(*fresh, 100ms).kind, failure_kind::timeout);
  EXPECT_LE(gt::connections_to(peer.port()).size(), 2U);
  peer.thaw();
  EXPECT_TRUE(eventually([&] { return run_once(*kept, 1s).status == status::pass; }, 5s));
  EXPECT_TRUE(eventually([&] { return run_once(*fresh, 1s).status == status::pass; }, 5s));
}

// Under the real engine: 50+ runs against a frozen server, each `fail/timeout` at its deadline,
// threads flat (gRPC's own fixed pool, nothing per run); SIGCONT → pass.
TEST(grpc_check, frozen_server_under_the_engine_threads_flat) {
  child peer{gt::default_health_server()};
  vitals::registry reg;
  reg.add("orders", vitals::checks::grpc({.address = local(peer.port())}),
          {.interval = 60ms, .timeout = 40ms, .jitter = 0.0});
  vitals::service svc{std::move(reg), {.on_event = [](const vitals::event&) {}}};
  svc.start();
  const auto state = [&] { return *svc.current()->find("orders"); };
  ASSERT_TRUE(eventually([&] { return state().reported.status == status::pass; }, 5s));

  peer.freeze();
  ASSERT_TRUE(eventually([&] { return state().reported.status == status::fail; }, 2s));
  EXPECT_EQ(state().last_run.kind, failure_kind::timeout) << state().last_run.output;
  std::this_thread::sleep_for(300ms);  // let gRPC's pools settle
  const auto runs_before = state().runs;
  const auto threads_before = gt::thread_count();
  std::size_t threads_max = threads_before;
  const auto until = steady::now() + 50 * 200ms;  // bound only: ~60 ms per run here
  while (steady::now() < until && state().runs < runs_before + 50) {
    threads_max = std::max(threads_max, gt::thread_count());
    const auto s = state();
    EXPECT_EQ(s.reported.status, status::fail);
    EXPECT_EQ(s.last_run.kind, failure_kind::timeout) << s.last_run.output;
    std::this_thread::sleep_for(15ms);
  }
  const auto runs = state().runs - runs_before;
  const auto threads_after = gt::thread_count();
  std::printf("frozen gRPC server: %llu runs, threads %zu -> %zu (max %zu), last: %s\n",
              static_cast<unsigned long long>(runs), threads_before, threads_after, threads_max,
              state().last_run.output.c_str());
  EXPECT_GE(runs, 50U) << "the check must keep running at its interval";
  EXPECT_LE(threads_max, threads_before + 1);
  EXPECT_LE(threads_after, threads_before + 1);
  EXPECT_LE(gt::connections_to(peer.port()).size(), 1U);

  peer.thaw();
  EXPECT_TRUE(eventually([&] { return state().reported.status == status::pass; }, 5s))
      << state().last_run.output;
  svc.stop();
}

std::size_t fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

std::size_t rss_kib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("VmRSS:")) return std::stoul(line.substr(6));
  }
  return 0;
}

// Many checks: each holds its one connection, and all of them share gRPC's fixed pool of
// threads, frozen server or not.
TEST(grpc_check, many_checks_one_connection_each_threads_shared) {
  child peer{gt::default_health_server()};
  constexpr int n = 40;
  vitals::registry reg;
  for (int i = 0; i < n; ++i) {
    reg.add("c" + std::to_string(i), vitals::checks::grpc({.address = local(peer.port())}),
            {.interval = 100ms, .timeout = 50ms, .jitter = 0.2});
  }
  const auto threads_idle = gt::thread_count();
  const auto rss_idle = rss_kib();
  const auto fds_idle = fd_count();
  vitals::service svc{std::move(reg), {.on_event = [](const vitals::event&) {}}};
  svc.start();
  const auto all = [&](status want) {
    const auto snap = svc.current();
    for (int i = 0; i < n; ++i) {
      if (snap->find("c" + std::to_string(i))->reported.status != want) return false;
    }
    return true;
  };
  ASSERT_TRUE(eventually([&] { return all(status::pass); }, 5s));
  std::this_thread::sleep_for(300ms);
  const auto threads_serving = gt::thread_count();
  const auto fds_serving = fd_count();
  EXPECT_EQ(gt::connections_to(peer.port()).size(), static_cast<std::size_t>(n));
  // One socket per check, plus gRPC's few process-wide descriptors (epoll, wakeup fds).
  EXPECT_LE(fds_serving - fds_idle, static_cast<std::size_t>(n) + 8);
  peer.freeze();
  ASSERT_TRUE(eventually([&] { return all(status::fail); }, 3s));
  std::size_t threads_max = 0;
  for (int i = 0; i < 100; ++i) {  // 2 s: ~20 runs of each check
    threads_max = std::max(threads_max, gt::thread_count());
    std::this_thread::sleep_for(20ms);
  }
  std::printf(
      "%d grpc checks: threads %zu idle -> %zu serving -> max %zu frozen; "
      "connections %zu; descriptors +%zu; RSS +%zu KiB\n",
      n, threads_idle, threads_serving, threads_max, gt::connections_to(peer.port()).size(),
      fds_serving - fds_idle, rss_kib() - rss_idle);
  // gRPC's own pool grows a little under load (its executor adds threads up to a cap), but never
  // by a thread per check or per run: 40 checks x ~20 runs each here.
  EXPECT_LT(threads_max, threads_serving + 8);
  EXPECT_EQ(gt::connections_to(peer.port()).size(), static_cast<std::size_t>(n));
  peer.thaw();
  EXPECT_TRUE(eventually([&] { return all(status::pass); }, 5s));
  svc.stop();
}

class grpc_tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = new gt::certificates(); }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  static std::string file(const char* name) { return certs_->file(name); }
  static gt::server_tls server(bool mtls = false) {
    return {.cert_file = file("server.pem"),
            .key_file = file("server.key"),
            .client_ca_file = mtls ? file("ca.pem") : ""};
  }
  static gt::certificates* certs_;
};
gt::certificates* grpc_tls::certs_ = nullptr;

TEST_F(grpc_tls, verified_against_the_ca_file_and_the_name) {
  child peer{gt::default_health_server(server())};
  const auto addr = local(peer.port());
  auto ok = vitals::checks::grpc({.address = addr, .tls = true, .ca_file = file("ca.pem")});
  auto r = run_once(*ok, 3s);
  EXPECT_EQ(r.status, status::pass) << r.output;
  // Twice: the TLS channel is kept too.
  EXPECT_EQ(run_once(*ok, 3s).status, status::pass);
  EXPECT_EQ(gt::connections_to(peer.port()).size(), 1U);

  auto by_name = vitals::checks::grpc(
      {.address = addr, .tls = true, .ca_file = file("ca.pem"), .sni = "localhost"});
  r = run_once(*by_name, 3s);
  EXPECT_EQ(r.status, status::pass) << r.output;

  // Not our CA, the system CAs, a name the certificate does not carry: tls failures.
  for (const auto& o :
       {vitals::checks::grpc_options{.address = addr, .tls = true, .ca_file = file("other_ca.pem")},
        vitals::checks::grpc_options{.address = addr, .tls = true},
        vitals::checks::grpc_options{
            .address = addr, .tls = true, .ca_file = file("ca.pem"), .sni = "wrong.example"}}) {
    auto c = vitals::checks::grpc(o);
    r = run_once(*c, 3s);
    EXPECT_EQ(r.status, status::fail);
    EXPECT_EQ(r.kind, failure_kind::tls) << o.ca_file << " " << o.sni << ": " << r.output;
    EXPECT_NE(r.output.find("TLS handshake with " + addr + " failed"), std::string::npos)
        << r.output;
  }
  // insecure: no verification at all.
  auto loose = vitals::checks::grpc({.address = addr, .tls = true, .insecure = true});
  r = run_once(*loose, 3s);
  EXPECT_EQ(r.status, status::pass) << r.output;
}

TEST_F(grpc_tls, plaintext_and_tls_mixed_up) {
  child tls_peer{gt::default_health_server(server())};
  child plain_peer{gt::default_health_server()};
  // h2c to a TLS port: the server drops the connection.
  auto plain_to_tls = vitals::checks::grpc({.address = local(tls_peer.port())});
  auto r = run_once(*plain_to_tls, 3s);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_NE(r.kind, failure_kind::none);
  EXPECT_NE(r.kind, failure_kind::timeout) << r.output;
  std::printf("plaintext to a TLS port: %s/%s\n", std::string(to_string(r.kind)).c_str(),
              r.output.c_str());
  // TLS to a plaintext port: the handshake fails.
  auto tls_to_plain = vitals::checks::grpc(
      {.address = local(plain_peer.port()), .tls = true, .ca_file = file("ca.pem")});
  r = run_once(*tls_to_plain, 3s);
  EXPECT_EQ(r.kind, failure_kind::tls) << r.output;
}

TEST_F(grpc_tls, mutual_tls) {
  child peer{gt::default_health_server(server(true))};
  const auto addr = local(peer.port());
  auto with_cert = vitals::checks::grpc({.address = addr,
                                         .tls = true,
                                         .ca_file = file("ca.pem"),
                                         .client_cert = file("client.pem"),
                                         .client_key = file("client.key")});
  auto r = run_once(*with_cert, 3s);
  EXPECT_EQ(r.status, status::pass) << r.output;
  auto without = vitals::checks::grpc({.address = addr, .tls = true, .ca_file = file("ca.pem")});
  r = run_once(*without, 3s);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::tls) << r.output;
  EXPECT_NE(r.output.find("client_cert"), std::string::npos) << r.output;
  // A certificate from another CA: refused by the server too.
  auto wrong = vitals::checks::grpc({.address = addr,
                                     .tls = true,
                                     .ca_file = file("ca.pem"),
                                     .client_cert = file("other_ca.pem"),
                                     .client_key = file("other_ca.key")});
  r = run_once(*wrong, 3s);
  EXPECT_EQ(r.kind, failure_kind::tls) << r.output;
  // insecure still sends the client certificate.
  auto loose = vitals::checks::grpc({.address = addr,
                                     .tls = true,
                                     .client_cert = file("client.pem"),
                                     .client_key = file("client.key"),
                                     .insecure = true});
  r = run_once(*loose, 3s);
  EXPECT_EQ(r.status, status::pass) << r.output;
}

// A server that echoes the metadata it got into its error: the credential values never reach
// the output, while the harmless ones do.
TEST(grpc_check, metadata_is_sent_and_credentials_never_shown) {
  child echo{gt::python_server("echo-metadata")};
  const std::string token = "tok-3f9a8b7c6d5e";
  auto c = vitals::checks::grpc({.address = local(echo.port()),
                                 .metadata = {{"Authorization", "Bearer " + token},
                                              {"x-api-key", "k3y-v4lue-123"},
                                              {"x-tenant", "acme"}}});
  const auto r = run_once(*c, 3s);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::auth) << r.output;
  EXPECT_NE(r.output.find("PERMISSION_DENIED"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("x-tenant=acme"), std::string::npos)
      << "the metadata reached the server: " << r.output;
  const auto text = all_text(r);
  EXPECT_EQ(text.find(token), std::string::npos) << text;
  EXPECT_EQ(text.find("k3y-v4lue-123"), std::string::npos) << text;
  // And the engine knows them as secrets too (it scrubs again).
  const auto secrets = c->traits().secrets;
  EXPECT_NE(std::find(secrets.begin(), secrets.end(), token), secrets.end());
}

#ifdef VITALS_CLI
// `vitals wait grpc://...`: waits until SERVING (not merely reachable), then exits 0.
TEST(grpc_cli, wait_until_serving) {
  child peer{gt::default_health_server()};
  ASSERT_EQ(peer.command("set shop.Orders NOT_SERVING"), "ok");
  const std::string url = "grpc://" + local(peer.port()) + "/shop.Orders";
  gt::background_program wait{
      {VITALS_CLI, "wait", "--timeout", "20s", "--max-backoff", "200ms", url}};
  // Still waiting while NOT_SERVING.
  EXPECT_FALSE(wait.wait_for(1s).has_value());
  ASSERT_EQ(peer.command("set shop.Orders SERVING"), "ok");
  const auto done = wait.wait_for(10s);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->exit_code, 0) << done->text;
}

TEST(grpc_cli, wait_before_the_server_listens) {
  const auto port = gt::closed_port();
  gt::background_program wait{
      {VITALS_CLI, "wait", "--timeout", "20s", "--max-backoff", "200ms", "grpc://" + local(port)}};
  EXPECT_FALSE(wait.wait_for(1s).has_value());
  child peer{gt::default_health_server(std::nullopt, false, local(port))};
  const auto up = steady::now();
  const auto done = wait.wait_for(10s);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->exit_code, 0) << done->text;
  EXPECT_LT(steady::now() - up, 3s);
}

TEST(grpc_cli, wait_gives_up_with_the_reason) {
  child peer{gt::default_health_server()};
  ASSERT_EQ(peer.command("set - NOT_SERVING"), "ok");
  const auto r =
      gt::run_program({VITALS_CLI, "wait", "--timeout", "1s", "grpc://" + local(peer.port())}, 15s);
  EXPECT_EQ(r.exit_code, 1) << r.text;
  EXPECT_NE(r.text.find("NOT_SERVING"), std::string::npos) << r.text;
  const auto unknown = gt::run_program(
      {VITALS_CLI, "wait", "--timeout", "1s", "grpc://" + local(peer.port()) + "/nope"}, 15s);
  EXPECT_EQ(unknown.exit_code, 1) << unknown.text;
  EXPECT_NE(unknown.text.find("not found"), std::string::npos) << unknown.text;
  const auto bad = gt::run_program({VITALS_CLI, "wait", "--timeout", "1s", "grpc://nohost"}, 15s);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.text.find("no port"), std::string::npos) << bad.text;
}

// `vitals check --config`: a type: grpc check reported as the engine sees it.
TEST(grpc_cli, check_reports_the_status) {
  child peer{gt::default_health_server()};
  ASSERT_EQ(peer.command("set shop.Orders SERVING"), "ok");
  const auto config = std::filesystem::temp_directory_path() /
                      ("vitals-grpc-check-" + std::to_string(::getpid()) + ".yaml");
  {
    std::ofstream out(config);
    out << "checks:\n"
           "  - name: orders\n"
           "    type: grpc\n"
           "    address: "
        << local(peer.port())
        << "\n"
           "    service: shop.Orders\n"
           "    timeout: 2s\n"
           "    metadata:\n"
           "      authorization: Bearer s3cr3t-t0ken\n"
           "  - name: whole\n"
           "    type: grpc\n"
           "    address: "
        << local(peer.port())
        << "\n"
           "    timeout: 2s\n"
           "  - name: gone\n"
           "    type: grpc\n"
           "    address: "
        << local(gt::closed_port()) << "\n";
  }
  auto r = gt::run_program(
      {VITALS_CLI, "check", "--config", config.string(), "--no-progress", "--output", "json"}, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.text;  // "gone" fails
  EXPECT_NE(r.text.find("\"orders\""), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("connection refused"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("s3cr3t-t0ken"), std::string::npos) << r.text;
  ASSERT_EQ(peer.command("set shop.Orders NOT_SERVING"), "ok");
  r = gt::run_program({VITALS_CLI, "check", "--config", config.string(), "--no-progress"}, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.text;
  EXPECT_NE(r.text.find("NOT_SERVING"), std::string::npos) << r.text;
  std::printf("%s", r.text.c_str());
  std::filesystem::remove(config);
}

// `vitals check grpc://...`: the URL form, one check per URL, no configuration file.
TEST(grpc_cli, check_urls) {
  child peer{gt::default_health_server()};
  ASSERT_EQ(peer.command("set shop.Orders SERVING"), "ok");
  const std::string base = "grpc://" + local(peer.port());
  auto r =
      gt::run_program({VITALS_CLI, "check", "--no-progress", base, base + "/shop.Orders"}, 30s);
  EXPECT_EQ(r.exit_code, 0) << r.text;
  EXPECT_NE(r.text.find("2 checks, 2 pass"), std::string::npos) << r.text;
  ASSERT_EQ(peer.command("set shop.Orders NOT_SERVING"), "ok");
  r = gt::run_program({VITALS_CLI, "check", "--no-progress", base + "/shop.Orders", base + "/nope",
                       "grpc://" + local(gt::closed_port())},
                      30s);
  EXPECT_EQ(r.exit_code, 1) << r.text;
  EXPECT_NE(r.text.find("NOT_SERVING"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("not found"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("connection refused"), std::string::npos) << r.text;
}
#endif

}  // namespace
