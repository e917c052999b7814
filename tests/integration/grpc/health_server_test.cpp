// The vitals gRPC health server against the grpc++ client (generated stubs, real loopback
// sockets): Check / Watch / List for every kind of name, aliases, the token, the list limit,
// TLS and mTLS, shutdown, registration in a user's own ServerBuilder, and the HTTP endpoints'
// verdicts on the same service.

#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "grpc_support.hpp"
#include "vitals/grpc.hpp"
#include "vitals/http/handler.hpp"
#include "vitals/service.hpp"

namespace {

using namespace std::chrono_literals;
using namespace vitals::grpc::testing;

// A check whose next result the test sets.
struct switchable {
  std::shared_ptr<std::atomic<int>> state = std::make_shared<std::atomic<int>>(0);
  void set(vitals::status s) const { state->store(static_cast<int>(s)); }
  [[nodiscard]] std::function<vitals::result(const vitals::context&)> fn() const {
    return [st = state](const vitals::context&) {
      switch (static_cast<vitals::status>(st->load())) {
        case vitals::status::warn:
          return vitals::warn("degraded");
        case vitals::status::fail:
          return vitals::fail("down");
        default:
          return vitals::pass();
      }
    };
  }
};

vitals::check_options fast(vitals::probe_set probes, bool critical = true) {
  return {.probes = probes,
          .critical = critical,
          .interval = 100ms,
          .timeout = 80ms,  // room for a worker to start under ASan on a loaded machine
          .jitter = 0,
          .max_staleness = 1h};  // a loaded machine must not turn the results stale
}

vitals::service_options quiet() {
  return {.on_event = [](const vitals::event&) {}};
}

// Waits (bounded) until the snapshot reports `s` for check `name`.
bool wait_reported(const vitals::service& svc, const std::string& name, vitals::status s) {
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < end) {
    const auto snap = svc.current();
    const vitals::check_state* c = snap->find(name);
    if (c != nullptr && c->reported.status == s) return true;
    static_cast<void>(svc.wait_for_update(snap->generation, 100ms));
  }
  return false;
}

// db: ready+startup critical; cache: ready non-critical; loop: live.
struct engine {
  switchable db, cache, loop;
  std::unique_ptr<vitals::service> svc;
  explicit engine(std::size_t extra_checks = 0) {
    vitals::registry reg;
    reg.add("db", db.fn(), fast(vitals::ready | vitals::startup));
    reg.add("cache", cache.fn(), fast(vitals::ready, false));
    reg.add("loop", loop.fn(), fast(vitals::live));
    for (std::size_t i = 0; i < extra_checks; ++i) {
      reg.add("extra" + std::to_string(i), [](const vitals::context&) { return vitals::pass(); },
              {.probes = vitals::ready, .interval = 1s, .timeout = 100ms, .max_staleness = 1h});
    }
    svc = std::make_unique<vitals::service>(std::move(reg), quiet());
    svc->start();
    EXPECT_TRUE(wait_reported(*svc, "db", vitals::status::pass));
    EXPECT_TRUE(wait_reported(*svc, "cache", vitals::status::pass));
    EXPECT_TRUE(wait_reported(*svc, "loop", vitals::status::pass));
    if (extra_checks > 0) {
      EXPECT_TRUE(
          wait_reported(*svc, "extra" + std::to_string(extra_checks - 1), vitals::status::pass));
    }
  }
  void set(switchable& c, const std::string& name, vitals::status s) {
    c.set(s);
    ASSERT_TRUE(wait_reported(*svc, name, s)) << name;
  }
};

vitals::grpc::server_options ephemeral(vitals::grpc::server_options o) {
  if (o.listen == vitals::grpc::server_options{}.listen) o.listen = "127.0.0.1:0";
  return o;
}

struct served {
  vitals::grpc::server server;
  std::shared_ptr<::grpc::Channel> channel;
  std::unique_ptr<hv1::Health::Stub> stub;
  served(vitals::service& svc, vitals::grpc::server_options o)
      : server(svc, ephemeral(std::move(o))) {
    server.start();
    channel = make_channel("127.0.0.1:" + std::to_string(server.port()));
    stub = hv1::Health::NewStub(channel);
  }
};

TEST(GrpcHealth, CheckAnswersEveryKindOfName) {
  engine e;
  served s{*e.svc,
           {.health = {.aliases = {{"my.pkg.Orders", "readiness"},
                                   {"orders.db", "db"},
                                   {"pkg.Live", "liveness"},
                                   {"pkg.Ready", ""}}}}};
  auto& stub = *s.stub;
  for (const std::string name : {"", "liveness", "readiness", "startup", "db", "cache", "loop",
                                 "my.pkg.Orders", "orders.db", "pkg.Live", "pkg.Ready"}) {
    const auto a = check(stub, name);
    EXPECT_EQ(a.code, ::grpc::StatusCode::OK) << name;
    EXPECT_EQ(a.status, SERVING) << name;
  }
  EXPECT_EQ(check(stub, "nosuch").code, ::grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(check(stub, "grpc.health.v1.Health").code, ::grpc::StatusCode::NOT_FOUND);

  e.set(e.db, "db", vitals::status::fail);
  EXPECT_EQ(check(stub, "").status, NOT_SERVING);
  EXPECT_EQ(check(stub, "readiness").status, NOT_SERVING);
  EXPECT_EQ(check(stub, "my.pkg.Orders").status, NOT_SERVING);
  EXPECT_EQ(check(stub, "pkg.Ready").status, NOT_SERVING);
  EXPECT_EQ(check(stub, "db").status, NOT_SERVING);
  EXPECT_EQ(check(stub, "orders.db").status, NOT_SERVING);
  EXPECT_EQ(check(stub, "liveness").status, SERVING);
  EXPECT_EQ(check(stub, "pkg.Live").status, SERVING);
  EXPECT_EQ(check(stub, "startup").status, SERVING);  // latched when db first passed
  EXPECT_EQ(check(stub, "cache").status, SERVING);

  // warn is SERVING, for a probe as for a check.
  e.set(e.db, "db", vitals::status::warn);
  EXPECT_EQ(check(stub, "db").status, SERVING);
  EXPECT_EQ(check(stub, "").status, SERVING);
  // A non-critical failure only makes the probe warn: still SERVING; the check itself is not.
  e.set(e.cache, "cache", vitals::status::fail);
  EXPECT_EQ(check(stub, "readiness").status, SERVING);
  EXPECT_EQ(check(stub, "cache").status, NOT_SERVING);

  e.set(e.loop, "loop", vitals::status::fail);
  EXPECT_EQ(check(stub, "liveness").status, NOT_SERVING);
  EXPECT_EQ(check(stub, "loop").status, NOT_SERVING);
  EXPECT_EQ(check(stub, "readiness").status, SERVING);
}

// The gRPC answer for a probe is the HTTP endpoint's verdict (200 = SERVING) in every state,
// including before the first result and for startup's latch. Only shutdown differs, on purpose
// (every name NOT_SERVING, as the issue asks; /livez stays 200).
TEST(GrpcHealth, ProbeVerdictsAreTheHttpEndpoints) {
  switchable db, loop;
  vitals::registry reg;
  reg.add("db", db.fn(), fast(vitals::ready | vitals::startup));
  reg.add("loop", loop.fn(), fast(vitals::live));
  // Never run during the test: unknown, which fails readiness and startup but not liveness.
  auto late = fast(vitals::ready | vitals::startup | vitals::live);
  late.initial_delay = 1h;
  late.interval = 2h;
  late.timeout = 1s;
  reg.add(
      "late", [](const vitals::context&) { return vitals::pass(); }, late);
  vitals::service svc{std::move(reg), quiet()};
  svc.start();
  ASSERT_TRUE(wait_reported(svc, "db", vitals::status::pass));
  ASSERT_TRUE(wait_reported(svc, "loop", vitals::status::pass));
  served s{svc, {}};
  vitals::http::handler http{svc};
  const std::array<std::pair<std::string, std::string>, 4> pairs{{{"", "/readyz"},
                                                                  {"readiness", "/readyz"},
                                                                  {"liveness", "/livez"},
                                                                  {"startup", "/startupz"}}};
  const auto compare = [&](const std::string& when) {
    for (const auto& [name, path] : pairs) {
      const int code = http.handle({.method = "GET", .target = path}).status;
      const auto a = check(*s.stub, name);
      ASSERT_EQ(a.code, ::grpc::StatusCode::OK);
      EXPECT_EQ(a.status == SERVING, code == 200) << when << ": " << name << " vs " << path;
    }
  };
  compare("late unknown");
  EXPECT_EQ(check(*s.stub, "liveness").status, SERVING);  // young process: still live
  EXPECT_EQ(check(*s.stub, "readiness").status, NOT_SERVING);
  EXPECT_EQ(check(*s.stub, "late").status, NOT_SERVING);  // a check not checked yet
  db.set(vitals::status::warn);
  ASSERT_TRUE(wait_reported(svc, "db", vitals::status::warn));
  compare("db warn");
  db.set(vitals::status::fail);
  loop.set(vitals::status::fail);
  ASSERT_TRUE(wait_reported(svc, "db", vitals::status::fail));
  ASSERT_TRUE(wait_reported(svc, "loop", vitals::status::fail));
  compare("db and loop fail");
  loop.set(vitals::status::pass);
  ASSERT_TRUE(wait_reported(svc, "loop", vitals::status::pass));
  compare("loop back");

  svc.begin_shutdown();
  EXPECT_EQ(http.handle({.method = "GET", .target = "/livez"}).status, 200);
  EXPECT_EQ(http.handle({.method = "GET", .target = "/readyz"}).status, 503);
  for (const std::string name : {"", "liveness", "readiness", "startup", "db", "loop", "late"}) {
    const auto a = check(*s.stub, name);
    EXPECT_EQ(a.code, ::grpc::StatusCode::OK) << name;
    EXPECT_EQ(a.status, NOT_SERVING) << name;
  }
  EXPECT_EQ(check(*s.stub, "nosuch").code, ::grpc::StatusCode::NOT_FOUND);
}

TEST(GrpcHealth, WatchSendsTheStatusThenEachChangeOnce) {
  engine e;
  served s{*e.svc, {.health = {.aliases = {{"my.pkg.Orders", "readiness"}}}}};
  watch_stream ready{*s.stub, ""};
  watch_stream db{*s.stub, "db"};
  watch_stream alias{*s.stub, "my.pkg.Orders"};
  watch_stream live{*s.stub, "liveness"};
  ASSERT_TRUE(ready.wait_last(SERVING));
  ASSERT_TRUE(db.wait_last(SERVING));
  ASSERT_TRUE(alias.wait_last(SERVING));
  ASSERT_TRUE(live.wait_last(SERVING));

  e.set(e.db, "db", vitals::status::fail);
  EXPECT_TRUE(ready.wait_last(NOT_SERVING));
  EXPECT_TRUE(db.wait_last(NOT_SERVING));
  EXPECT_TRUE(alias.wait_last(NOT_SERVING));
  // warn and fail of a non-critical check change nothing a watcher of readiness can see.
  e.set(e.cache, "cache", vitals::status::warn);
  e.set(e.db, "db", vitals::status::pass);
  EXPECT_TRUE(ready.wait_last(SERVING));
  EXPECT_TRUE(db.wait_last(SERVING));
  e.set(e.db, "db", vitals::status::warn);  // SERVING still: nothing to send
  e.set(e.cache, "cache", vitals::status::fail);
  e.set(e.db, "db", vitals::status::pass);
  std::this_thread::sleep_for(200ms);  // room for a wrong extra message to arrive
  EXPECT_EQ(ready.messages(), (std::vector<serving>{SERVING, NOT_SERVING, SERVING}));
  EXPECT_EQ(db.messages(), (std::vector<serving>{SERVING, NOT_SERVING, SERVING}));
  EXPECT_EQ(alias.messages(), (std::vector<serving>{SERVING, NOT_SERVING, SERVING}));
  EXPECT_EQ(live.messages(), (std::vector<serving>{SERVING}));
  EXPECT_FALSE(ready.done());
}

TEST(GrpcHealth, WatchOfAnUnknownNameSaysSoAndStaysOpen) {
  engine e;
  served s{*e.svc, {}};
  watch_stream w{*s.stub, "nosuch"};
  ASSERT_TRUE(w.wait_last(SERVICE_UNKNOWN));
  e.set(e.db, "db", vitals::status::fail);
  e.set(e.db, "db", vitals::status::pass);
  std::this_thread::sleep_for(150ms);
  EXPECT_FALSE(w.done());
  EXPECT_EQ(w.messages(), (std::vector<serving>{SERVICE_UNKNOWN}));
  // The server still answers on the same connection.
  EXPECT_EQ(check(*s.stub, "db").status, SERVING);
  // And the stream ends cleanly with the server: a final NOT_SERVING, then OK.
  s.server.stop();
  ASSERT_TRUE(w.wait_done());
  EXPECT_EQ(w.final_status().error_code(), ::grpc::StatusCode::OK);
  EXPECT_EQ(w.messages(), (std::vector<serving>{SERVICE_UNKNOWN, NOT_SERVING}));
}

TEST(GrpcHealth, ListShowsEveryNameWithItsStatus) {
  engine e;
  served s{*e.svc, {.health = {.aliases = {{"my.pkg.Orders", "readiness"}, {"orders.db", "db"}}}}};
  e.set(e.loop, "loop", vitals::status::fail);
  const auto a = list(*s.stub);
  ASSERT_EQ(a.code, ::grpc::StatusCode::OK);
  const std::map<std::string, serving> want{
      {"", SERVING},        {"liveness", NOT_SERVING},  {"readiness", SERVING},
      {"startup", SERVING}, {"my.pkg.Orders", SERVING}, {"orders.db", SERVING},
      {"db", SERVING},      {"cache", SERVING},         {"loop", NOT_SERVING}};
  EXPECT_EQ(a.statuses, want);
}

TEST(GrpcHealth, ListAboveTheLimitIsResourceExhausted) {
  engine e{100};  // 103 checks + 4 fixed names
  {
    served s{*e.svc, {}};
    const auto a = list(*s.stub);
    EXPECT_EQ(a.code, ::grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_TRUE(a.statuses.empty());
    EXPECT_EQ(check(*s.stub, "extra99").status, SERVING);  // each name still answers
  }
  {
    served s{*e.svc, {.health = {.list_limit = 107}}};
    const auto a = list(*s.stub);
    ASSERT_EQ(a.code, ::grpc::StatusCode::OK);
    EXPECT_EQ(a.statuses.size(), 107U);
  }
  {
    served s{*e.svc, {.health = {.list_limit = 106}}};
    EXPECT_EQ(list(*s.stub).code, ::grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
}

TEST(GrpcHealth, TokenGuardsCheckNamesAndListOnly) {
  engine e;
  const std::string token = "s3cret-token";
  served s{*e.svc,
           {.health = {.aliases = {{"orders.db", "db"}, {"my.pkg.Orders", "readiness"}},
                       .token = token}}};
  auto& stub = *s.stub;
  // Public names need no token.
  for (const std::string name :
       {"", "liveness", "readiness", "startup", "orders.db", "my.pkg.Orders"}) {
    EXPECT_EQ(check(stub, name).status, SERVING) << name;
  }
  // A check name without the right token is answered as an unknown name.
  EXPECT_EQ(check(stub, "db").code, ::grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(check(stub, "db", "wrong").code, ::grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(check(stub, "db", token + "x").code, ::grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(check(stub, "db", token.substr(1)).code, ::grpc::StatusCode::NOT_FOUND);
  const auto ok = check(stub, "db", token);
  EXPECT_EQ(ok.code, ::grpc::StatusCode::OK);
  EXPECT_EQ(ok.status, SERVING);
  {
    auto ctx = context({}, 5s);
    ctx->AddMetadata("authorization", "bearer " + token);  // the scheme is case-insensitive
    hv1::HealthCheckRequest req;
    req.set_service("db");
    hv1::HealthCheckResponse resp;
    EXPECT_TRUE(stub.Check(ctx.get(), req, &resp).ok());
  }
  // List: the public names only, unless the token is presented.
  const auto anon = list(stub);
  ASSERT_EQ(anon.code, ::grpc::StatusCode::OK);
  EXPECT_EQ(anon.statuses.size(), 6U);
  EXPECT_FALSE(anon.statuses.contains("db"));
  EXPECT_EQ(list(stub, "wrong").statuses.size(), 6U);
  const auto full = list(stub, token);
  EXPECT_EQ(full.statuses.size(), 9U);
  EXPECT_EQ(full.statuses.at("db"), SERVING);
  // Watch: an unknown name for an anonymous caller, the check for the token holder.
  watch_stream anon_w{stub, "db"};
  watch_stream auth_w{stub, "db", token};
  ASSERT_TRUE(anon_w.wait_last(SERVICE_UNKNOWN));
  ASSERT_TRUE(auth_w.wait_last(SERVING));
  e.set(e.db, "db", vitals::status::fail);
  ASSERT_TRUE(auth_w.wait_last(NOT_SERVING));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(anon_w.messages(), (std::vector<serving>{SERVICE_UNKNOWN}));
}

TEST(GrpcHealth, ShutdownEndsEveryStreamAfterAFinalNotServing) {
  engine e;
  served s{*e.svc, {.health = {.aliases = {{"my.pkg.Orders", "readiness"}}}}};
  std::vector<std::unique_ptr<watch_stream>> ws;
  for (const std::string name : {"", "liveness", "readiness", "startup", "db", "my.pkg.Orders"}) {
    ws.push_back(std::make_unique<watch_stream>(*s.stub, name));
  }
  for (auto& w : ws) ASSERT_TRUE(w->wait_last(SERVING));
  // begin_shutdown: every name NOT_SERVING at once; the streams stay open (drain).
  e.svc->begin_shutdown();
  for (auto& w : ws) EXPECT_TRUE(w->wait_last(NOT_SERVING));
  std::this_thread::sleep_for(100ms);
  for (auto& w : ws) EXPECT_FALSE(w->done());
  for (const std::string name :
       {"", "liveness", "readiness", "startup", "db", "cache", "loop", "my.pkg.Orders"}) {
    EXPECT_EQ(check(*s.stub, name).status, NOT_SERVING) << name;
  }
  const auto start = std::chrono::steady_clock::now();
  s.server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);  // no stream held it up
  for (auto& w : ws) {
    ASSERT_TRUE(w->wait_done());
    EXPECT_EQ(w->final_status().error_code(), ::grpc::StatusCode::OK);
    EXPECT_EQ(w->messages(), (std::vector<serving>{SERVING, NOT_SERVING}));  // never twice
  }
}

TEST(GrpcHealth, StopSendsNotServingToServingStreams) {
  engine e;
  served s{*e.svc, {}};
  watch_stream a{*s.stub, ""};
  watch_stream b{*s.stub, "db"};
  ASSERT_TRUE(a.wait_last(SERVING));
  ASSERT_TRUE(b.wait_last(SERVING));
  s.server.stop();
  for (watch_stream* w : {&a, &b}) {
    ASSERT_TRUE(w->wait_done());
    EXPECT_EQ(w->final_status().error_code(), ::grpc::StatusCode::OK);
    EXPECT_EQ(w->messages(), (std::vector<serving>{SERVING, NOT_SERVING}));
  }
  s.server.stop();  // idempotent
}

TEST(GrpcHealth, RegistersInTheUsersOwnServerBuilder) {
  engine e;
  vitals::grpc::health_service hs{*e.svc, {.aliases = {{"my.pkg.Orders", "readiness"}}}};
  ::grpc::ServerBuilder builder;
  builder.SetOption(std::make_unique<::grpc::HealthCheckServiceServerBuilderOption>(nullptr));
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(hs.grpc_service());
  auto server = builder.BuildAndStart();
  ASSERT_TRUE(server);
  auto stub = hv1::Health::NewStub(make_channel("127.0.0.1:" + std::to_string(port)));
  EXPECT_EQ(check(*stub, "my.pkg.Orders").status, SERVING);
  EXPECT_EQ(check(*stub, "db").status, SERVING);
  watch_stream w{*stub, "readiness"};
  ASSERT_TRUE(w.wait_last(SERVING));
  EXPECT_EQ(hs.open_streams(), 1U);
  hs.shutdown();
  ASSERT_TRUE(w.wait_done());
  EXPECT_EQ(w.messages(), (std::vector<serving>{SERVING, NOT_SERVING}));
  EXPECT_EQ(check(*stub, "").status, NOT_SERVING);
  server->Shutdown(std::chrono::system_clock::now() + 2s);
  server->Wait();
  EXPECT_EQ(hs.open_streams(), 0U);
}

// vitalsd's reload: the server answers from another engine; open streams go on and get only
// the names whose status differs.
TEST(GrpcHealth, RebindKeepsStreamsAndSendsOnlyRealChanges) {
  auto a = std::make_shared<engine>();
  auto b = std::make_shared<engine>(1);  // has a check "extra0"; the first engine has not
  b->set(b->db, "db", vitals::status::fail);
  std::shared_ptr<vitals::service> first{a, a->svc.get()};
  vitals::grpc::server server{first, {.listen = "127.0.0.1:0"}};
  server.start();
  auto stub = hv1::Health::NewStub(make_channel("127.0.0.1:" + std::to_string(server.port())));
  watch_stream ready{*stub, ""};
  watch_stream live{*stub, "liveness"};
  watch_stream db{*stub, "db"};
  watch_stream later{*stub, "extra0"};
  ASSERT_TRUE(ready.wait_last(SERVING));
  ASSERT_TRUE(live.wait_last(SERVING));
  ASSERT_TRUE(db.wait_last(SERVING));
  ASSERT_TRUE(later.wait_last(SERVICE_UNKNOWN));
  server.rebind(std::shared_ptr<vitals::service>{b, b->svc.get()});
  EXPECT_TRUE(ready.wait_last(NOT_SERVING));
  EXPECT_TRUE(db.wait_last(NOT_SERVING));
  EXPECT_TRUE(later.wait_last(SERVING));  // an unknown name turns real when it appears
  EXPECT_EQ(check(*stub, "db").status, NOT_SERVING);
  first.reset();
  a.reset();  // the first engine is gone; nothing refers to it any more
  b->set(b->db, "db", vitals::status::pass);
  EXPECT_TRUE(ready.wait_last(SERVING));
  EXPECT_TRUE(db.wait_last(SERVING));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(live.messages(), (std::vector<serving>{SERVING}));
  EXPECT_EQ(ready.messages(), (std::vector<serving>{SERVING, NOT_SERVING, SERVING}));
  EXPECT_FALSE(ready.done());
  EXPECT_THROW(server.rebind(nullptr), std::invalid_argument);
  server.stop();
  EXPECT_TRUE(live.wait_done());
}

TEST(GrpcHealth, WatchStreamsAreCapped) {
  engine e;
  served s{*e.svc, {.health = {.max_watch_streams = 3}}};
  auto a = std::make_unique<watch_stream>(*s.stub, "");
  watch_stream b{*s.stub, "db"};
  watch_stream c{*s.stub, "liveness"};
  ASSERT_TRUE(a->wait_last(SERVING));
  ASSERT_TRUE(b.wait_last(SERVING));
  ASSERT_TRUE(c.wait_last(SERVING));
  {
    watch_stream over{*s.stub, ""};
    ASSERT_TRUE(over.wait_done());
    EXPECT_EQ(over.final_status().error_code(), ::grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_TRUE(over.messages().empty());
  }
  EXPECT_EQ(check(*s.stub, "").status, SERVING);  // Check is never refused
  a.reset();                                      // one ends: room for another
  const auto end = std::chrono::steady_clock::now() + 5s;
  while (s.server.health().open_streams() > 2 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(5ms);
  }
  watch_stream again{*s.stub, ""};
  EXPECT_TRUE(again.wait_last(SERVING));
  EXPECT_FALSE(again.done());
}

// Clients that go away mid-stream, some while a write is in flight: every stream is released
// (its reactor done, its slot free) and the server keeps answering.
TEST(GrpcHealth, CancelledStreamsAreReleased) {
  engine e;
  served s{*e.svc, {}};
  std::atomic<bool> flapping{true};
  std::thread flapper([&] {
    for (int i = 0; flapping.load(); ++i) {
      e.db.set(i % 2 == 0 ? vitals::status::fail : vitals::status::pass);
      std::this_thread::sleep_for(5ms);
    }
  });
  for (int round = 0; round < 5; ++round) {
    std::vector<std::unique_ptr<watch_stream>> ws;
    for (int i = 0; i < 20; ++i) {
      ws.push_back(std::make_unique<watch_stream>(*s.stub, i % 2 == 0 ? "db" : "", "", i % 3 != 0));
    }
    for (std::size_t i = 0; i < ws.size(); i += 3) ASSERT_TRUE(ws[i + 1]->wait_count(1));
    ws.clear();  // TryCancel each, and wait for its end
  }
  flapping = false;
  flapper.join();
  const auto end = std::chrono::steady_clock::now() + 5s;
  while (s.server.health().open_streams() > 0 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(s.server.health().open_streams(), 0U);
  EXPECT_EQ(check(*s.stub, "liveness").status, SERVING);
}

TEST(GrpcHealth, BadOptionsAndAddressesAreClearErrors) {
  engine e;
  EXPECT_THROW(vitals::grpc::health_service(*e.svc, {.aliases = {{"readiness", "db"}}}),
               std::invalid_argument);
  EXPECT_THROW(vitals::grpc::health_service(*e.svc, {.aliases = {{"", "db"}}}),
               std::invalid_argument);
  EXPECT_THROW(vitals::grpc::health_service(*e.svc, {.aliases = {{"x", "not a name!"}}}),
               std::invalid_argument);
  served s{*e.svc, {}};
  vitals::grpc::server busy{*e.svc, {.listen = "127.0.0.1:" + std::to_string(s.server.port())}};
  try {
    busy.start();
    ADD_FAILURE() << "a port in use must not be shared";
  } catch (const std::runtime_error& ex) {
    EXPECT_NE(std::string{ex.what()}.find("cannot listen on 127.0.0.1:"), std::string::npos)
        << ex.what();
  }
  vitals::grpc::server nocert{*e.svc,
                              {.listen = "127.0.0.1:0",
                               .tls_cert_file = "/nonexistent/tls.crt",
                               .tls_key_file = "/nonexistent/tls.key"}};
  EXPECT_THROW(nocert.start(), std::runtime_error);
  vitals::grpc::server half{*e.svc, {.listen = "127.0.0.1:0", .tls_cert_file = "/x.crt"}};
  EXPECT_THROW(half.start(), std::runtime_error);
  // IPv6 loopback, when the machine has it.
  vitals::grpc::server v6{*e.svc, {.listen = "[::1]:0"}};
  try {
    v6.start();
  } catch (const std::runtime_error&) {
    GTEST_SKIP() << "no IPv6 loopback";
  }
  auto stub = hv1::Health::NewStub(make_channel("[::1]:" + std::to_string(v6.port())));
  EXPECT_EQ(check(*stub, "").status, SERVING);
}

TEST(GrpcHealth, TlsAndMutualTls) {
  engine e;
  temp_dir dir;
  make_certs(dir);
  ::grpc::SslCredentialsOptions trust;
  trust.pem_root_certs = read_text(dir.file("ca.crt"));
  {
    served s{*e.svc,
             {.tls_cert_file = dir.file("server.crt"), .tls_key_file = dir.file("server.key")}};
    const std::string target = "127.0.0.1:" + std::to_string(s.server.port());
    auto tls =
        hv1::Health::NewStub(make_channel(target, ::grpc::SslCredentials(trust), 1, "localhost"));
    EXPECT_EQ(check(*tls, "").status, SERVING);
    EXPECT_EQ(check(*tls, "db").status, SERVING);  // no token configured: check names are open
    watch_stream w{*tls, "db"};
    EXPECT_TRUE(w.wait_last(SERVING));
    auto plain =
        hv1::Health::NewStub(make_channel(target, ::grpc::InsecureChannelCredentials(), 2));
    EXPECT_EQ(check(*plain, "", {}, 2s).code, ::grpc::StatusCode::UNAVAILABLE);
  }
  {
    served s{*e.svc,
             {.tls_cert_file = dir.file("server.crt"),
              .tls_key_file = dir.file("server.key"),
              .tls_client_ca_file = dir.file("ca.crt"),
              .health = {.token = "tok"}}};
    const std::string target = "127.0.0.1:" + std::to_string(s.server.port());
    auto no_cert =
        hv1::Health::NewStub(make_channel(target, ::grpc::SslCredentials(trust), 3, "localhost"));
    EXPECT_EQ(check(*no_cert, "", {}, 2s).code, ::grpc::StatusCode::UNAVAILABLE);
    ::grpc::SslCredentialsOptions mine = trust;
    mine.pem_cert_chain = read_text(dir.file("client.crt"));
    mine.pem_private_key = read_text(dir.file("client.key"));
    auto with_cert =
        hv1::Health::NewStub(make_channel(target, ::grpc::SslCredentials(mine), 4, "localhost"));
    const auto a = check(*with_cert, "readiness");
    EXPECT_EQ(a.code, ::grpc::StatusCode::OK);
    EXPECT_EQ(a.status, SERVING);
    // A verified client certificate authorizes as the token does (docs/security.md).
    EXPECT_EQ(check(*with_cert, "db").status, SERVING);
    EXPECT_EQ(list(*with_cert).statuses.size(), 7U);
  }
}

}  // namespace
