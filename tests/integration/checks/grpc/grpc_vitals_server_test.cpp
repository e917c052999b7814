// The grpc check against vitals' own gRPC health server (vitals::grpc::server, what vitalsd's
// `grpc:` section serves): the engine's verdicts seen through grpc.health.v1 by a second engine
// — "" (readiness), the probe names, check names, aliases, the token as metadata, shutdown,
// TLS and mTLS.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "grpc_peer.hpp"
#include "vitals/check.hpp"
#include "vitals/checks/grpc.hpp"
#include "vitals/grpc.hpp"
#include "vitals/registry.hpp"
#include "vitals/service.hpp"

namespace {

using namespace std::chrono_literals;
using vitals::failure_kind;
using vitals::status;
using steady = std::chrono::steady_clock;
namespace gt = vitals::grpc_test;

vitals::result run_once(vitals::check& c, std::chrono::milliseconds timeout = 2s) {
  const vitals::context ctx{"grpc", steady::now() + timeout,
                            std::make_shared<std::atomic<bool>>(false)};
  return c.run(ctx);
}

template <class F>
bool eventually(F f, std::chrono::milliseconds limit) {
  const auto until = steady::now() + limit;
  while (steady::now() < until) {
    if (f()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return f();
}

// The watched service: a `db` check in ready and startup whose verdict the test flips, and a
// process-local `loop` check in live.
struct watched {
  explicit watched(vitals::grpc::server_options options = {}) {
    vitals::registry reg;
    reg.add("db", vitals::make_check([this](const vitals::context&) {
              return db_up.load() ? vitals::pass() : vitals::fail("db is down");
            }),
            {.probes = vitals::ready | vitals::startup,
             .interval = 30ms,
             .timeout = 20ms,
             .jitter = 0.0});
    reg.add("loop", vitals::make_check([](const vitals::context&) { return vitals::pass(); }),
            {.probes = vitals::live, .interval = 30ms, .timeout = 20ms, .jitter = 0.0});
    svc = std::make_shared<vitals::service>(
        std::move(reg), vitals::service_options{.on_event = [](const vitals::event&) {}});
    svc->start();
    options.listen = "127.0.0.1:0";
    server = std::make_unique<vitals::grpc::server>(svc, std::move(options));
    server->start();
    address = "127.0.0.1:" + std::to_string(server->port());
  }
  ~watched() {
    server->stop();
    svc->stop();
  }
  std::atomic<bool> db_up{true};
  std::shared_ptr<vitals::service> svc;
  std::unique_ptr<vitals::grpc::server> server;
  std::string address;
};

TEST(grpc_check_vitals_server, readiness_follows_the_engine) {
  watched w;
  auto whole = vitals::checks::grpc({.address = w.address});
  ASSERT_TRUE(eventually([&] { return run_once(*whole).status == status::pass; }, 3s));
  w.db_up = false;
  ASSERT_TRUE(eventually([&] { return run_once(*whole).status == status::fail; }, 3s));
  const auto r = run_once(*whole);
  EXPECT_EQ(r.kind, failure_kind::assertion);
  EXPECT_EQ(r.output, "the server (service \"\") is NOT_SERVING (" + w.address + ")");
  w.db_up = true;
  EXPECT_TRUE(eventually([&] { return run_once(*whole).status == status::pass; }, 3s));
}

TEST(grpc_check_vitals_server, probe_names_check_names_aliases_and_unknown) {
  watched w{{.health = {.aliases = {{"shop.v1.Orders", "readiness"}}}}};
  auto check_of = [&](const std::string& service) {
    return vitals::checks::grpc({.address = w.address, .service = service});
  };
  auto live = check_of("liveness");
  auto ready = check_of("readiness");
  auto startup = check_of("startup");
  auto db = check_of("db");
  auto alias = check_of("shop.v1.Orders");
  ASSERT_TRUE(eventually([&] { return run_once(*ready).status == status::pass; }, 3s));
  EXPECT_EQ(run_once(*live).status, status::pass);
  EXPECT_EQ(run_once(*startup).status, status::pass);
  EXPECT_EQ(run_once(*db).status, status::pass);
  EXPECT_EQ(run_once(*alias).status, status::pass);

  w.db_up = false;
  ASSERT_TRUE(eventually([&] { return run_once(*db).status == status::fail; }, 3s));
  EXPECT_NE(run_once(*db).output.find("service \"db\" is NOT_SERVING"), std::string::npos);
  EXPECT_EQ(run_once(*ready).status, status::fail);
  EXPECT_EQ(run_once(*alias).status, status::fail);
  // Liveness stays up (the db is not in live); startup latched when it first passed.
  EXPECT_EQ(run_once(*live).status, status::pass);
  EXPECT_EQ(run_once(*startup).status, status::pass);

  auto unknown = check_of("shop.v1.Nope");
  const auto r = run_once(*unknown);
  EXPECT_EQ(r.kind, failure_kind::assertion);
  EXPECT_NE(r.output.find("service \"shop.v1.Nope\" not found"), std::string::npos) << r.output;
}

// With a token, check names need `authorization: Bearer <token>`: the check sends it as metadata
// and never shows it.
TEST(grpc_check_vitals_server, the_token_as_metadata) {
  const std::string token = "vitals-t0ken-9f8e7d6c";
  watched w{{.health = {.token = token}}};
  auto anonymous = vitals::checks::grpc({.address = w.address, .service = "db"});
  auto wrong = vitals::checks::grpc(
      {.address = w.address, .service = "db", .metadata = {{"authorization", "Bearer nope-nope"}}});
  auto holder = vitals::checks::grpc(
      {.address = w.address, .service = "db", .metadata = {{"authorization", "Bearer " + token}}});
  ASSERT_TRUE(eventually([&] { return run_once(*holder).status == status::pass; }, 3s));
  for (auto* c : {anonymous.get(), wrong.get()}) {
    const auto r = run_once(*c);
    EXPECT_EQ(r.status, status::fail);
    EXPECT_NE(r.output.find("not found"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find(token), std::string::npos) << r.output;
  }
  // The public names need no token.
  auto whole = vitals::checks::grpc({.address = w.address});
  EXPECT_EQ(run_once(*whole).status, status::pass);
}

TEST(grpc_check_vitals_server, begin_shutdown_is_not_serving_at_once) {
  watched w;
  auto whole = vitals::checks::grpc({.address = w.address});
  auto live = vitals::checks::grpc({.address = w.address, .service = "liveness"});
  ASSERT_TRUE(eventually([&] { return run_once(*whole).status == status::pass; }, 3s));
  w.svc->begin_shutdown();
  const auto r = run_once(*whole);
  EXPECT_EQ(r.status, status::fail) << "readiness must fail at once on shutdown";
  EXPECT_NE(r.output.find("NOT_SERVING"), std::string::npos) << r.output;
  // gRPC's grpc.health.v1 has one status per name; on begin_shutdown() vitals reports
  // NOT_SERVING for every name (docs/endpoints/grpc.md).
  EXPECT_EQ(run_once(*live).status, status::fail);
}

TEST(grpc_check_vitals_server, tls_and_mtls) {
  const gt::certificates certs;
  {
    watched w{
        {.tls_cert_file = certs.file("server.pem"), .tls_key_file = certs.file("server.key")}};
    auto c =
        vitals::checks::grpc({.address = w.address, .tls = true, .ca_file = certs.file("ca.pem")});
    EXPECT_TRUE(eventually([&] { return run_once(*c).status == status::pass; }, 3s));
    auto plain = vitals::checks::grpc({.address = w.address});
    EXPECT_NE(run_once(*plain).status, status::pass);
  }
  {
    watched w{{.tls_cert_file = certs.file("server.pem"),
               .tls_key_file = certs.file("server.key"),
               .tls_client_ca_file = certs.file("ca.pem")}};
    auto with_cert = vitals::checks::grpc({.address = w.address,
                                           .service = "db",
                                           .tls = true,
                                           .ca_file = certs.file("ca.pem"),
                                           .client_cert = certs.file("client.pem"),
                                           .client_key = certs.file("client.key")});
    EXPECT_TRUE(eventually([&] { return run_once(*with_cert).status == status::pass; }, 3s));
    auto without =
        vitals::checks::grpc({.address = w.address, .tls = true, .ca_file = certs.file("ca.pem")});
    const auto r = run_once(*without);
    EXPECT_EQ(r.kind, failure_kind::tls) << r.output;
  }
}

// A monitor engine running the grpc check against the watched engine: the transitions of the
// one are the transitions of the other, one interval late.
TEST(grpc_check_vitals_server, an_engine_watching_an_engine) {
  watched w;
  vitals::registry reg;
  reg.add("upstream", vitals::checks::grpc({.address = w.address, .service = "db"}),
          {.interval = 60ms, .timeout = 50ms, .jitter = 0.0});
  vitals::service monitor{std::move(reg), {.on_event = [](const vitals::event&) {}}};
  monitor.start();
  const auto state = [&] { return *monitor.current()->find("upstream"); };
  ASSERT_TRUE(eventually([&] { return state().reported.status == status::pass; }, 3s));
  w.db_up = false;
  ASSERT_TRUE(eventually([&] { return state().reported.status == status::fail; }, 3s));
  EXPECT_EQ(state().last_run.kind, failure_kind::assertion) << state().last_run.output;
  w.db_up = true;
  EXPECT_TRUE(eventually([&] { return state().reported.status == status::pass; }, 3s));
  EXPECT_LE(gt::connections_to(w.server->port()).size(), 1U);
  monitor.stop();
}

}  // namespace
