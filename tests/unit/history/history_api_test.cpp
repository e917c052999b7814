// /api/v1/uptime and /api/v1/history/<target> through vitals::http::handler over a real
// SQLite history (no sockets): bodies, codes, bounds of the query, and the token rules.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "vitals/history.hpp"
#include "vitals/http/handler.hpp"
#include "vitals/service.hpp"

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using vitals::status;
namespace fs = std::filesystem;

constexpr const char* token = "api-history-token-93f1";

struct fixture {
  fs::path dir;
  std::shared_ptr<vitals::sqlite_history> history;
  std::unique_ptr<vitals::service> svc;
  fixture() {
    std::string templ = (fs::temp_directory_path() / "vitals-history-api-XXXXXX").string();
    dir = ::mkdtemp(templ.data());
    history = std::make_shared<vitals::sqlite_history>(
        vitals::history_options{.path = (dir / "h.db").string()});
    vitals::registry reg;
    reg.add("web", [](const vitals::context&) { return vitals::pass(); }, {});
    svc = std::make_unique<vitals::service>(std::move(reg));
  }
  ~fixture() {
    history.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void feed(const std::string& name, std::chrono::system_clock::time_point t, status s,
            std::string output) const {
    vitals::check_state c;
    c.name = name;
    c.last_run = s == status::pass ? vitals::pass() : vitals::fail(std::move(output));
    c.last_run.time = t;
    c.last_run.duration = 12ms;
    c.reported = c.last_run;
    history->on_result(c);
  }
};

vitals::http::response get(const vitals::http::handler& h, const std::string& target,
                           bool with_token = false, const char* method = "GET") {
  const std::string bearer = std::string{"Bearer "} + token;
  const vitals::http::header auth{"Authorization", bearer};
  return h.handle({.method = method,
                   .target = target,
                   .headers = with_token ? std::span<const vitals::http::header>{&auth, 1}
                                         : std::span<const vitals::http::header>{}});
}

TEST(HistoryApi, WithoutAHistoryThePathsAreNotFound) {
  fixture f;
  vitals::http::handler h{*f.svc, {.token = token}};
  EXPECT_EQ(get(h, "/api/v1/uptime").status, 404);
  EXPECT_EQ(get(h, "/api/v1/history/web").status, 404);
}

TEST(HistoryApi, UptimeAndHistoryOfATarget) {
  fixture f;
  const auto now = std::chrono::system_clock::now();
  for (int i = 0; i < 10; ++i) {
    f.feed("web", now - std::chrono::minutes{9 - i}, i < 3 ? status::fail : status::pass,
           std::string{"refused by "} + token);
  }
  vitals::check_state c;
  c.name = "web";
  c.reported = vitals::fail(std::string{"down: "} + token);
  c.reported.time = now - 9min;
  f.history->on_transition(c, status::unknown, status::fail);
  f.feed("gone", now - 5min, status::pass, "");  // a target no longer configured
  f.history->flush();
  vitals::http::handler h{*f.svc, {.token = token, .history = f.history}};

  const auto up = get(h, "/api/v1/uptime");
  ASSERT_EQ(up.status, 200) << up.body;
  const json u = json::parse(up.body);
  ASSERT_EQ(u["count"], 1) << up.body;  // "gone" has rows, but is not a check any more
  EXPECT_EQ(u["targets"][0]["name"], "web");
  EXPECT_EQ(u["targets"][0]["uptime"]["1h"]["runs"], 10);
  EXPECT_EQ(u["targets"][0]["uptime"]["1h"]["failures"], 3);
  EXPECT_DOUBLE_EQ(u["targets"][0]["uptime"]["1h"]["ratio"].get<double>(), 0.7);
  EXPECT_EQ(u["targets"][0]["uptime"]["30d"]["runs"], 10);
  EXPECT_EQ(get(h, "/api/v1/uptime", false, "HEAD").status, 200);
  EXPECT_EQ(get(h, "/api/v1/history/gone").status, 200);  // its history is still there

  const auto anon = get(h, "/api/v1/history/web");
  ASSERT_EQ(anon.status, 200) << anon.body;
  const json a = json::parse(anon.body);
  EXPECT_EQ(a["name"], "web");
  EXPECT_EQ(a["resolution"], "minute");
  EXPECT_EQ(a["bucket_seconds"], 60);
  EXPECT_EQ(a["buckets"].size(), 10U);
  EXPECT_EQ(a["buckets"][0]["runs"], 1);
  EXPECT_DOUBLE_EQ(a["buckets"][0]["min_ms"].get<double>(), 12);
  ASSERT_EQ(a["transitions"].size(), 1U);
  EXPECT_EQ(a["transitions"][0]["to"], "fail");
  EXPECT_FALSE(a["transitions"][0].contains("output"));
  ASSERT_EQ(a["recent"].size(), 10U);
  for (const auto& r : a["recent"]) EXPECT_FALSE(r.contains("output")) << r;
  EXPECT_EQ(anon.body.find(token), std::string::npos);

  const auto authed = get(h, "/api/v1/history/web?resolution=hour&window=2d", true);
  ASSERT_EQ(authed.status, 200) << authed.body;
  const json b = json::parse(authed.body);
  EXPECT_EQ(b["resolution"], "hour");
  EXPECT_EQ(b["bucket_seconds"], 3600);
  std::uint64_t runs = 0;
  for (const auto& x : b["buckets"]) runs += x["runs"].get<std::uint64_t>();
  EXPECT_EQ(runs, 10U);
  ASSERT_TRUE(b["transitions"][0].contains("output"));
  bool failing_output = false;
  for (const auto& r : b["recent"]) failing_output = failing_output || r.contains("output");
  EXPECT_TRUE(failing_output);
  // Shown to the token holder, still scrubbed of the token itself.
  EXPECT_EQ(authed.body.find(token), std::string::npos);
}

// Shards sharing a history: the targets of the other shards (handler_options::fleet) are
// listed too, with their open incidents; a name in neither is not.
TEST(HistoryApi, TheOtherShardsTargetsAreListedFromTheFleet) {
  fixture f;
  const auto now = std::chrono::system_clock::now();
  f.feed("web", now - 2min, status::pass, "");
  f.feed("other.shard", now - 2min, status::pass, "");
  f.feed("gone", now - 2min, status::pass, "");
  vitals::check_state c;
  c.name = "other.shard";
  c.reported = vitals::fail("down");
  c.reported.time = now - 1min;
  f.history->on_transition(c, status::pass, status::fail);
  f.history->flush();
  auto fleet = std::make_shared<vitals::http::target_catalog>();
  fleet->set({{"web", {}}, {"other.shard", {.group = "other"}}});
  vitals::http::handler h{*f.svc, {.token = token, .fleet = fleet, .history = f.history}};
  const json u = json::parse(get(h, "/api/v1/uptime").body);
  ASSERT_EQ(u["count"], 2) << u.dump();
  EXPECT_EQ(u["targets"][0]["name"], "other.shard");
  EXPECT_EQ(u["targets"][1]["name"], "web");
  const json i = json::parse(get(h, "/api/v1/incidents").body);
  ASSERT_EQ(i["count"], 1) << i.dump();
  EXPECT_EQ(i["incidents"][0]["target"], "other.shard");
  EXPECT_EQ(i["incidents"][0]["ongoing"], true);
  // Without the fleet: this instance's checks only.
  vitals::http::handler own{*f.svc, {.token = token, .history = f.history}};
  EXPECT_EQ(json::parse(get(own, "/api/v1/uptime").body)["count"], 1);
  EXPECT_EQ(json::parse(get(own, "/api/v1/incidents").body)["count"], 0);
}

TEST(HistoryApi, IncidentsOfAWindowWithTheCauseForTheTokenOnly) {
  fixture f;
  const auto now = std::chrono::system_clock::now();
  vitals::check_state c;
  c.name = "web";
  c.reported = vitals::fail(std::string{"refused: "} + token);
  c.reported.time = now - 30min;
  f.history->on_transition(c, status::pass, status::fail);
  c.reported = vitals::pass();
  c.reported.time = now - 20min;
  f.history->on_transition(c, status::fail, status::pass);
  c.reported = vitals::fail("timeout");
  c.reported.time = now - 3min;
  f.history->on_transition(c, status::pass, status::fail);
  c.name = "gone";  // removed from the configuration while failing
  c.reported.time = now - 2min;
  f.history->on_transition(c, status::pass, status::fail);
  f.history->flush();
  vitals::http::handler h{*f.svc, {.token = token, .history = f.history}};
  const auto anon = get(h, "/api/v1/incidents");
  ASSERT_EQ(anon.status, 200) << anon.body;
  const json a = json::parse(anon.body);
  ASSERT_EQ(a["count"], 2) << anon.body;  // not gone's: nothing checks it any more
  EXPECT_EQ(a["incidents"][0]["target"], "web");
  EXPECT_TRUE(a["incidents"][0]["ongoing"].get<bool>());
  EXPECT_TRUE(a["incidents"][0]["end"].is_null());
  EXPECT_FALSE(a["incidents"][1]["ongoing"].get<bool>());
  EXPECT_NEAR(a["incidents"][1]["duration_s"].get<double>(), 600, 0.01);
  EXPECT_FALSE(a["incidents"][0].contains("cause"));
  const auto authed = get(h, "/api/v1/incidents?window=10m&target=web", true);
  ASSERT_EQ(authed.status, 200) << authed.body;
  const json b = json::parse(authed.body);
  ASSERT_EQ(b["count"], 1);
  EXPECT_EQ(b["incidents"][0]["cause"], "timeout");
  EXPECT_EQ(authed.body.find(token), std::string::npos);
  EXPECT_EQ(json::parse(get(h, "/api/v1/incidents?target=nosuch").body)["count"], 0);
  EXPECT_EQ(get(h, "/api/v1/incidents?window=731d").status, 400);
  EXPECT_EQ(get(h, "/api/v1/incidents?window=%zz").status, 400);
  vitals::http::handler none{*f.svc, {}};
  EXPECT_EQ(get(none, "/api/v1/incidents").status, 404);
}

// The rendering of /api/v1/maintenance over a source that holds two windows (vitalsd's own
// source, its notifiers' windows, is exercised by tests/integration/api/openapi_test.py).
struct two_windows final : vitals::http::maintenance_source {
  std::vector<vitals::http::maintenance_info> windows(
      std::chrono::system_clock::time_point now) const override {
    return {{.notifier = "ops", .window = "0 2 * * SUN for 2h"},
            {.notifier = "ops",
             .window = "2026-01-01T00:00:00Z/2099-01-01T00:00:00Z",
             .active = true,
             .start = now - 1h,
             .end = now + 1h}};
  }
};

TEST(HistoryApi, MaintenanceWindowsAndWhetherTheyAreInProgress) {
  fixture f;
  vitals::http::handler none{*f.svc, {}};
  EXPECT_EQ(get(none, "/api/v1/maintenance").status, 404);
  vitals::http::handler h{*f.svc, {.maintenance = std::make_shared<two_windows>()}};
  const auto r = get(h, "/api/v1/maintenance");
  ASSERT_EQ(r.status, 200) << r.body;
  const json m = json::parse(r.body);
  EXPECT_EQ(m["count"], 2);
  EXPECT_EQ(m["active"], 1);
  EXPECT_EQ(m["windows"][0]["window"], "0 2 * * SUN for 2h");
  EXPECT_FALSE(m["windows"][0]["active"].get<bool>());
  EXPECT_TRUE(m["windows"][0]["start"].is_null());
  EXPECT_TRUE(m["windows"][1]["active"].get<bool>());
  EXPECT_TRUE(m["windows"][1]["end"].is_string());
  EXPECT_EQ(get(h, "/api/v1/maintenance", false, "HEAD").status, 200);
}

TEST(HistoryApi, QueriesOutOfBoundsAreBadRequestsAndUnknownTargetsNotFound) {
  fixture f;
  f.feed("web", std::chrono::system_clock::now(), status::pass, "");
  f.history->flush();
  vitals::http::handler h{*f.svc, {.history = f.history}};
  EXPECT_EQ(get(h, "/api/v1/history/web?resolution=week").status, 400);
  EXPECT_EQ(get(h, "/api/v1/history/web?window=49h").status, 400);
  EXPECT_EQ(get(h, "/api/v1/history/web?resolution=hour&window=91d").status, 400);
  EXPECT_EQ(get(h, "/api/v1/history/web?window=0s").status, 400);
  EXPECT_EQ(get(h, "/api/v1/history/web?window=5").status, 400);  // a unit is required
  EXPECT_EQ(get(h, "/api/v1/history/web?window=%zz").status, 400);
  EXPECT_EQ(get(h, "/api/v1/history/web?resolution=day&window=730d").status, 200);
  EXPECT_EQ(get(h, "/api/v1/history/web?window=90m").status, 200);
  EXPECT_EQ(get(h, "/api/v1/history/nosuch").status, 404);
  EXPECT_EQ(get(h, "/api/v1/history/web/x").status, 404);
}

}  // namespace
