// /api/v1/push/<token>: the heartbeat route of push monitors, through the handler.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "rig.hpp"
#include "vitals/push.hpp"
#include "vitals/testing/manual_clock.hpp"

namespace {

using testing::HasSubstr;
using testing::Not;
using vitals::status;

constexpr std::string_view token = "cron-7d2f9e41b3a8c5";

class push_route : public testing::Test {
 protected:
  void SetUp() override {
    // What a push check holds: the token is known while it is attached.
    slot_ = board_->attach(std::string{token});
    rig_.add("app", vitals::pass());
  }
  void start(vitals::http::handler_options o = {}) {
    o.pushes = board_;
    rig_.start(std::move(o));
  }
  [[nodiscard]] std::optional<vitals::push_record> last() const { return slot_->last(); }
  [[nodiscard]] static std::string push_path(std::string_view query = {}) {
    std::string p = "/api/v1/push/" + std::string{token};
    if (!query.empty()) p.append("?").append(query);
    return p;
  }

  std::shared_ptr<vitals::push_board> board_ =
      std::make_shared<vitals::push_board>(std::make_shared<vitals::testing::manual_clock>());
  std::shared_ptr<vitals::push_board::slot> slot_;
  vitals_test::rig rig_;
};

TEST_F(push_route, get_and_post_record_a_push_with_status_and_message) {
  start();
  auto r = rig_.get(push_path());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"ok\":true}\n");
  EXPECT_EQ(vitals_test::header_of(r, "Content-Type"), "application/json");
  ASSERT_TRUE(last().has_value());
  EXPECT_EQ(last()->reported, status::pass);

  r = rig_.get(push_path("status=down&msg=disk%20full+on+%2Fvar"), {}, "POST");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(last()->reported, status::fail);
  EXPECT_EQ(last()->message, "disk full on /var");
  EXPECT_EQ(last()->count, 2U);

  EXPECT_EQ(rig_.get(push_path("status=warn&message=slow&ping=12")).status, 200);
  EXPECT_EQ(last()->reported, status::warn);
  EXPECT_EQ(last()->message, "slow");
  EXPECT_EQ(rig_.get(push_path("status=up")).status, 200);
  EXPECT_EQ(last()->reported, status::pass);
}

TEST_F(push_route, unknown_tokens_bad_statuses_and_other_methods_are_refused) {
  start();
  auto r = rig_.get("/api/v1/push/not-the-token-0123456789");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("unknown push token"));
  EXPECT_EQ(rig_.get("/api/v1/push/short").status, 404);
  EXPECT_EQ(rig_.get("/api/v1/push/").status, 404);
  EXPECT_EQ(rig_.get("/api/v1/push").status, 404);
  EXPECT_EQ(rig_.get(push_path() + "/extra").status, 404);

  r = rig_.get(push_path("status=maybe"));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("status must be"));
  EXPECT_EQ(rig_.get(push_path("msg=%zz")).status, 400);
  EXPECT_FALSE(last().has_value()) << "a refused push records nothing";

  r = rig_.get(push_path(), {}, "HEAD");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(vitals_test::header_of(r, "Allow"), "GET, POST");
  EXPECT_EQ(rig_.get(push_path(), {}, "DELETE").status, 405);
  EXPECT_FALSE(last().has_value());
}

TEST_F(push_route, needs_no_bearer_token_and_never_echoes_the_push_token) {
  start({.token = "bearer-secret-for-details"});
  const auto ok = rig_.get(push_path());
  EXPECT_EQ(ok.status, 200);
  const auto bad = rig_.get("/api/v1/push/not-the-token-0123456789");
  for (const auto* r : {&ok, &bad}) {
    EXPECT_THAT(r->body, Not(HasSubstr(token)));
    for (const auto& [k, v] : r->headers) EXPECT_THAT(v, Not(HasSubstr(token))) << k;
  }
}

TEST_F(push_route, follows_the_prefix) {
  start({.prefix = "/_health"});
  EXPECT_EQ(rig_.get("/_health" + push_path()).status, 200);
  EXPECT_EQ(rig_.get(push_path()).status, 404);
}

TEST_F(push_route, is_not_served_by_a_metrics_only_handler) {
  start({.metrics_only = true});
  EXPECT_EQ(rig_.get(push_path()).status, 404);
  EXPECT_FALSE(last().has_value());
}

TEST_F(push_route, is_counted_under_its_own_endpoint_label) {
  start({.metrics = vitals::http::metrics_policy::everyone});
  ASSERT_EQ(rig_.get(push_path()).status, 200);
  rig_.run();
  const auto m = rig_.get("/metrics");
  EXPECT_THAT(m.body, HasSubstr("endpoint=\"/api/v1/push/{token}\""));
  EXPECT_THAT(m.body, Not(HasSubstr(token)));
}

}  // namespace
