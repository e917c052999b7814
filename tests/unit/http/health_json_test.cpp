#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>

#include "rig.hpp"

namespace {

using json = nlohmann::json;
using vitals_test::header_of;
using vitals_test::rig;

constexpr std::string_view token = "tok-health-9";
const std::string bearer = "Bearer " + std::string{token};

std::set<std::string> keys_of(const json& j) {
  std::set<std::string> out;
  for (const auto& [k, v] : j.items()) out.insert(k);
  return out;
}

struct health_rig : rig {
  health_rig() {
    vitals::check_options db{.probes = vitals::ready | vitals::startup,
                             .component_type = "datastore",
                             .measurement = "connections"};
    add("db", vitals::pass().observe(std::int64_t{12}, "connections"), db);
    add("queue", vitals::warn("backlog growing").observe(12'345, "jobs"));
    add("cache", vitals::fail("redis refused", vitals::failure_kind::refused), {.critical = false});
    add("loop", vitals::pass().observe(0.25, "ms"), {.probes = vitals::live});
    start(
        {.token = std::string{token}},
        {.service_id = "orders", .version = "1.4.2", .release_id = "1.4.2-abc", .description = {}});
    run();
  }
};

TEST(HealthJson, AuthorizedDocumentFollowsTheDraft) {
  health_rig r;
  const auto res = r.get("/health", bearer);
  EXPECT_EQ(res.status, 200);  // warn (non-critical failure + a warning) is still up
  EXPECT_EQ(header_of(res, "Content-Type"), "application/health+json");
  EXPECT_EQ(header_of(res, "Cache-Control"), "no-store");
  const json doc = json::parse(res.body);
  EXPECT_EQ(doc["status"], "warn");
  EXPECT_EQ(doc["version"], "1.4.2");
  EXPECT_EQ(doc["releaseId"], "1.4.2-abc");
  EXPECT_EQ(doc["serviceId"], "orders");
  EXPECT_FALSE(doc.contains("description"));  // empty fields are omitted
  const json& checks = doc["checks"];
  EXPECT_EQ(keys_of(checks), (std::set<std::string>{"db:connections", "queue", "cache", "loop"}));
  for (const auto& [key, value] : checks.items()) {
    ASSERT_TRUE(value.is_array()) << key;
    ASSERT_EQ(value.size(), 1U) << key;
  }
  const json& db = checks["db:connections"][0];
  EXPECT_EQ(db["componentId"], "db");
  EXPECT_EQ(db["componentType"], "datastore");
  EXPECT_EQ(db["observedValue"], 12);
  EXPECT_EQ(db["observedUnit"], "connections");
  EXPECT_EQ(db["status"], "pass");
  EXPECT_FALSE(db.contains("output"));  // omitted on pass
  const std::regex rfc3339{R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"};
  ASSERT_TRUE(db["time"].is_string());
  EXPECT_TRUE(std::regex_match(db["time"].get<std::string>(), rfc3339)) << db["time"];
  const json& queue = checks["queue"][0];
  EXPECT_EQ(queue["status"], "warn");
  EXPECT_EQ(queue["output"], "backlog growing");
  EXPECT_EQ(queue["observedValue"], 12'345);
  EXPECT_EQ(queue["componentType"], "component");
  const json& cache = checks["cache"][0];
  EXPECT_EQ(cache["status"], "fail");
  EXPECT_EQ(cache["output"], "redis refused");
  EXPECT_DOUBLE_EQ(checks["loop"][0]["observedValue"].get<double>(), 0.25);
}

TEST(HealthJson, AnonymousSeesOnlyStatuses) {
  health_rig r;
  for (const std::string& auth : {std::string{}, std::string{"Bearer nope"}}) {
    const auto res = r.get("/health", auth);
    EXPECT_EQ(res.status, 200);
    const json doc = json::parse(res.body);
    EXPECT_EQ(keys_of(doc), (std::set<std::string>{"status", "checks"}));
    EXPECT_EQ(doc["status"], "warn");
    for (const auto& [key, value] : doc["checks"].items()) {
      ASSERT_EQ(value.size(), 1U);
      EXPECT_EQ(keys_of(value[0]), std::set<std::string>{"status"}) << key;
    }
    EXPECT_EQ(doc["checks"]["cache"][0]["status"], "fail");
    EXPECT_EQ(res.body.find("redis refused"), std::string::npos);
    EXPECT_EQ(res.body.find("12345"), std::string::npos);
  }
}

TEST(HealthJson, CriticalFailureIs503) {
  rig r;
  r.add("db", vitals::fail("down"));
  r.add("api", vitals::pass());
  r.start();
  r.run();
  const auto res = r.get("/health");
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(json::parse(res.body)["status"], "fail");
}

TEST(HealthJson, UnknownIsNeverAPass) {
  rig r;
  r.add("db", vitals::pass());
  r.start({.token = std::string{token}});
  const auto anon = r.get("/health");
  EXPECT_EQ(anon.status, 503);
  EXPECT_EQ(json::parse(anon.body)["checks"]["db"][0]["status"], "fail");
  const json doc = json::parse(r.get("/health", bearer).body);
  EXPECT_EQ(doc["status"], "fail");
  EXPECT_EQ(doc["checks"]["db"][0]["status"], "fail");
  EXPECT_EQ(doc["checks"]["db"][0]["output"], "not checked yet");
  EXPECT_FALSE(doc["checks"]["db"][0].contains("time"));
}

TEST(HealthJson, StaleResultIsAFailure) {
  rig r;
  r.add("db", vitals::pass());
  r.start({.token = std::string{token}});
  r.run();
  EXPECT_EQ(r.get("/health").status, 200);
  // No poll for far longer than the max staleness (2 * interval + timeout): current() re-judges.
  r.clock().advance(std::chrono::minutes{5});
  const auto res = r.get("/health", bearer);
  EXPECT_EQ(res.status, 503);
  const json doc = json::parse(res.body);
  EXPECT_EQ(doc["status"], "fail");
  EXPECT_EQ(doc["checks"]["db"][0]["status"], "fail");
  EXPECT_EQ(r.get("/readyz").status, 503);
}

TEST(HealthJson, OneCheck) {
  health_rig r;
  const auto res = r.get("/health/cache", bearer);
  EXPECT_EQ(res.status, 503);  // judged on its own, criticality aside
  const json doc = json::parse(res.body);
  EXPECT_EQ(doc["status"], "fail");
  EXPECT_EQ(keys_of(doc["checks"]), std::set<std::string>{"cache"});
  EXPECT_EQ(r.get("/health/db").status, 200);
  EXPECT_EQ(keys_of(json::parse(r.get("/health/db").body)["checks"]),
            std::set<std::string>{"db:connections"});
  EXPECT_EQ(r.get("/health/nope").status, 404);
  EXPECT_EQ(r.get("/health/nope").body, "404 page not found\n");
  EXPECT_EQ(r.get("/health/").status, 404);
}

TEST(HealthJson, ShuttingDownFails) {
  health_rig r;
  r.svc().begin_shutdown();
  const auto res = r.get("/health", bearer);
  EXPECT_EQ(res.status, 503);
  const json doc = json::parse(res.body);
  EXPECT_EQ(doc["status"], "fail");
  EXPECT_EQ(doc["output"], "process is shutting down");
  EXPECT_FALSE(json::parse(r.get("/health").body).contains("output"));
}

TEST(HealthJson, HostileTextStaysValidJson) {
  rig r;
  std::string nasty = "quote\" backslash\\ nl\n tab\t ctl\x01 bad-utf8 \xC3\x28 \xFF end";
  r.add("db", vitals::fail(nasty).observe(std::string{"v\"\x02"}, "u\"nit").detail("k\"", "v\n"));
  r.start({.details = vitals::http::detail_policy::everyone});
  r.run();
  for (const char* t : {"/health", "/health/db"}) {
    const auto res = r.get(t);
    json doc;
    ASSERT_NO_THROW(doc = json::parse(res.body)) << res.body;
    const std::string out = doc["checks"]["db"][0]["output"];
    EXPECT_TRUE(out.starts_with("quote\" backslash\\ nl\n tab\t ctl\x01 bad-utf8 ")) << out;
    EXPECT_TRUE(out.ends_with(" end"));
  }
}

}  // namespace
