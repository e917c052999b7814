// /api/v1/targets and /api/v1/targets/<name>: the read API over the latest snapshot.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "rig.hpp"
#include "vitals/http/targets.hpp"

namespace {

using testing::HasSubstr;
using testing::Not;
using json = nlohmann::json;

class api_targets : public testing::Test {
 protected:
  void SetUp() override {
    rig_.add("app", vitals::pass());
    rig_.add("web.shop",
             vitals::fail("connection refused by postgres://app:s3cr3t@db/app",
                          vitals::failure_kind::refused),
             {.probes = {}, .critical = false});
    catalog_->set({{"web.shop", {.group = "web", .labels = {{"team", "shop"}}}}});
  }
  void start(vitals::http::handler_options o = {}) {
    o.targets = catalog_;
    rig_.start(std::move(o));
    rig_.run();
  }
  [[nodiscard]] json get_json(std::string_view target, std::string_view auth = {}) const {
    const auto r = rig_.get(target, auth);
    EXPECT_EQ(r.status, 200) << target;
    EXPECT_EQ(vitals_test::header_of(r, "Content-Type"), "application/json");
    return json::parse(r.body);
  }

  std::shared_ptr<vitals::http::target_catalog> catalog_ =
      std::make_shared<vitals::http::target_catalog>();
  vitals_test::rig rig_;
};

TEST_F(api_targets, lists_every_check_with_status_counters_group_and_labels) {
  start();
  const json doc = get_json("/api/v1/targets");
  ASSERT_EQ(doc["count"], 2);
  const json& app = doc["targets"][0];
  EXPECT_EQ(app["name"], "app");
  EXPECT_EQ(app["status"], "pass");
  EXPECT_EQ(app["probes"], json::array({"ready"}));
  EXPECT_EQ(app["runs"], 1);
  EXPECT_FALSE(app.contains("group"));
  const json& shop = doc["targets"][1];
  EXPECT_EQ(shop["name"], "web.shop");
  EXPECT_EQ(shop["status"], "fail");
  EXPECT_EQ(shop["kind"], "refused");
  EXPECT_EQ(shop["critical"], false);
  EXPECT_EQ(shop["probes"], json::array());
  EXPECT_EQ(shop["group"], "web");
  EXPECT_EQ(shop["labels"], json({{"team", "shop"}}));
  EXPECT_EQ(shop["consecutive_failures"], 1);
  EXPECT_TRUE(shop["last_result"].is_string());
  EXPECT_TRUE(shop["duration_ms"].is_number());
}

TEST_F(api_targets, outputs_only_with_the_token_and_scrubbed_even_then) {
  start({.token = "tok-for-details"});
  const json anonymous = get_json("/api/v1/targets/web.shop");
  EXPECT_FALSE(anonymous.contains("output"));
  const json detailed = get_json("/api/v1/targets/web.shop", "Bearer tok-for-details");
  ASSERT_TRUE(detailed.contains("output"));
  EXPECT_THAT(detailed["output"].get<std::string>(), HasSubstr("connection refused"));
  EXPECT_THAT(detailed.dump(), Not(HasSubstr("s3cr3t")));
}

TEST_F(api_targets, before_the_first_run_a_target_is_unknown_never_pass) {
  catalog_->set({});
  rig_.start({.targets = catalog_});
  const json doc = get_json("/api/v1/targets/app");
  EXPECT_EQ(doc["status"], "unknown");
  EXPECT_TRUE(doc["last_result"].is_null());
  EXPECT_TRUE(doc["duration_ms"].is_null());
  EXPECT_EQ(doc["runs"], 0);
}

TEST_F(api_targets, unknown_names_methods_and_the_catalog_being_replaced) {
  start();
  EXPECT_EQ(rig_.get("/api/v1/targets/nope").status, 404);
  EXPECT_EQ(rig_.get("/api/v1/targets", {}, "POST").status, 405);
  const auto head = rig_.get("/api/v1/targets", {}, "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  catalog_->set({{"web.shop", {.group = "shop", .labels = {}}}});
  const json shop = get_json("/api/v1/targets/web.shop");
  EXPECT_EQ(shop["group"], "shop");
  EXPECT_EQ(shop["labels"], json::object());
}

TEST_F(api_targets, without_a_catalog_there_are_no_groups) {
  rig_.start();
  rig_.run();
  const json shop = get_json("/api/v1/targets/web.shop");
  EXPECT_FALSE(shop.contains("group"));
  EXPECT_FALSE(shop.contains("labels"));
}

}  // namespace
