// /status and /status/<target>: the server-rendered status page through vitals::http::handler
// (no sockets, a manual clock), with and without a real SQLite history.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "rig.hpp"
#include "vitals/history.hpp"
#include "vitals/http/targets.hpp"

namespace {

using namespace std::chrono_literals;
using vitals::status;
namespace fs = std::filesystem;

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

class status_page : public testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "vitals-status-XXXXXX").string();
    dir_ = ::mkdtemp(templ.data());
    history_ = std::make_shared<vitals::sqlite_history>(
        vitals::history_options{.path = (dir_ / "h.db").string()});
    catalog_->set({{"web.shop", {.group = "web", .labels = {{"team", "<shop>"}}}},
                   {"web.api", {.group = "web", .labels = {{"team", "<shop>"}}}},
                   {"db.main", {.group = "db"}}});
  }
  void TearDown() override {
    history_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void start(bool with_history = true, std::size_t page_size = 100) {
    rig_.add("app", vitals::pass());
    rig_.add("db.main", vitals::fail("refused by postgres://app:s3cr3t-pw@db/app"), {.probes = {}});
    rig_.add("web.api", vitals::warn("slow"), {.probes = {}});
    rig_.add("web.shop", vitals::pass(), {.probes = {}});
    rig_.start(
        {.token = "status-token-1234567890",
         .targets = catalog_,
         .history = with_history ? history_ : nullptr,
         .status_page = {.enabled = true, .title = "Shop <status>", .page_size = page_size}});
    rig_.run();
  }
  [[nodiscard]] std::string page(const std::string& target) const {
    const auto r = rig_.get(target);
    EXPECT_EQ(r.status, 200) << target << "\n" << r.body;
    return r.body;
  }

  fs::path dir_;
  std::shared_ptr<vitals::sqlite_history> history_;
  std::shared_ptr<vitals::http::target_catalog> catalog_ =
      std::make_shared<vitals::http::target_catalog>();
  vitals_test::rig rig_;
};

TEST_F(status_page, is_off_unless_enabled) {
  rig_.add("app", vitals::pass());
  rig_.start();
  rig_.run();
  EXPECT_EQ(rig_.get("/status").status, 404);
  EXPECT_EQ(rig_.get("/status/app").status, 404);
}

TEST_F(status_page, groups_every_check_with_its_status_and_shows_no_output) {
  start(false);
  const auto r = rig_.get("/status");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(vitals_test::header_of(r, "Content-Type"), "text/html; charset=utf-8");
  const std::string& body = r.body;
  EXPECT_TRUE(body.starts_with("<!doctype html>"));
  EXPECT_NE(body.find("<title>Shop &lt;status&gt;</title>"), std::string::npos);
  EXPECT_EQ(body.find("<status>"), std::string::npos);  // escaped everywhere
  EXPECT_NE(body.find("role=\"status\">1 of 4 down</p>"), std::string::npos) << body;
  // Groups in the order of their first check, checks without a group last.
  const auto db = body.find("<h2 id=\"g-db\">db");
  const auto web = body.find("<h2 id=\"g-web\">web");
  const auto rest = body.find("<h2 id=\"g-checks\">Checks");
  ASSERT_NE(db, std::string::npos);
  ASSERT_NE(web, std::string::npos);
  ASSERT_NE(rest, std::string::npos);
  EXPECT_LT(db, web);
  EXPECT_LT(web, rest);
  EXPECT_NE(body.find("team=&lt;shop&gt;"), std::string::npos);
  EXPECT_NE(body.find("<a href=\"status/db.main\">db.main</a>"), std::string::npos);
  EXPECT_NE(body.find("<span class=\"st s-fail\">down</span>"), std::string::npos);
  EXPECT_NE(body.find("<span class=\"st s-warn\">degraded</span>"), std::string::npos);
  EXPECT_EQ(body.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(body.find("refused"), std::string::npos);
  EXPECT_EQ(body.find("slow"), std::string::npos);
  EXPECT_EQ(body.find("Last 90 days"), std::string::npos);  // no history, no bars
  EXPECT_EQ(body.find("<script"), std::string::npos);       // no JavaScript needed
}

TEST_F(status_page, filters_by_status_group_and_search_with_a_plain_form) {
  start(false);
  const auto failing = page("/status?status=fail");
  EXPECT_NE(failing.find("Showing 1–1 of 1"), std::string::npos) << failing;
  EXPECT_NE(failing.find("db.main"), std::string::npos);
  EXPECT_EQ(failing.find("status/web.shop"), std::string::npos);
  EXPECT_NE(failing.find("<option value=\"fail\" selected>"), std::string::npos);
  const auto web = page("/status?group=web");
  EXPECT_EQ(count(web, "<tr><th scope=\"row\">"), 2U);
  EXPECT_NE(web.find("<option value=\"web\" selected>"), std::string::npos);
  const auto search = page("/status?q=sho");
  EXPECT_EQ(count(search, "<tr><th scope=\"row\">"), 1U);
  EXPECT_NE(search.find("value=\"sho\""), std::string::npos);
  EXPECT_NE(page("/status?q=nothing").find("No check matches."), std::string::npos);
  EXPECT_NE(page("/status?q=%3Cb%3E").find("value=\"&lt;b&gt;\""), std::string::npos);
  EXPECT_EQ(rig_.get("/status?status=down").status, 400);
  EXPECT_EQ(rig_.get("/status?page=0").status, 400);
  EXPECT_EQ(rig_.get("/status?page=x").status, 400);
  EXPECT_EQ(rig_.get("/status", {}, "HEAD").status, 200);
}

TEST_F(status_page, pages_keep_the_filters_in_their_links) {
  for (int i = 0; i < 25; ++i) rig_.add("t" + std::to_string(100 + i), vitals::pass());
  start(false, 10);
  const auto first = page("/status");
  EXPECT_NE(first.find("Showing 1–10 of 29"), std::string::npos) << first;
  EXPECT_NE(first.find("Page 1 of 3"), std::string::npos);
  EXPECT_NE(first.find("<a href=\"?page=2\">Next →</a>"), std::string::npos);
  EXPECT_EQ(first.find("Previous"), std::string::npos);
  const auto second = page("/status?status=pass&page=2&q=t1");
  EXPECT_NE(second.find("Showing 11–20 of 25"), std::string::npos) << second;
  EXPECT_NE(second.find("<a href=\"?page=1&amp;q=t1&amp;status=pass\">← Previous</a>"),
            std::string::npos)
      << second;
  // Past the last page: the last one.
  EXPECT_NE(page("/status?page=99").find("Page 3 of 3"), std::string::npos);
}

TEST_F(status_page, uptime_and_ninety_days_of_bars_from_the_history) {
  const auto now = std::chrono::system_clock::now();
  vitals::check_state c;
  c.name = "web.shop";
  for (int d = 5; d >= 0; --d) {
    for (int k = 0; k < 10; ++k) {
      c.last_run = d == 2 && k == 0 ? vitals::fail("x") : vitals::pass();
      c.last_run.time = now - std::chrono::hours{24 * d} - std::chrono::minutes{10 * (10 - k)};
      c.last_run.duration = 20ms;
      c.reported = c.last_run;
      history_->on_result(c);
    }
  }
  c.reported = vitals::fail("refused by postgres://app:s3cr3t-pw@db/app");
  c.reported.time = now - 30min;
  history_->on_transition(c, status::pass, status::fail);
  history_->flush();
  start();
  const auto list = page("/status");
  EXPECT_NE(list.find("Last 90 days"), std::string::npos);
  EXPECT_EQ(count(list, "<svg class=\"bars\""), 4U);
  EXPECT_NE(list.find("aria-label=\"last 90 days: 98.33%\""), std::string::npos) << list;
  EXPECT_NE(list.find("<td class=\"num wide\">98.33%</td>"), std::string::npos);  // 30 days
  // A target's own page: uptime windows, bars with a title per day, hours, the incident
  // without its cause, the latest runs.
  const auto one = page("/status/web.shop");
  EXPECT_NE(one.find("<h1>web.shop</h1>"), std::string::npos);
  EXPECT_NE(one.find("<a href=\"../status\">"), std::string::npos);
  EXPECT_NE(one.find("<th scope=\"row\">team</th><td>&lt;shop&gt;</td>"), std::string::npos);
  EXPECT_NE(one.find("<h2>Uptime</h2>"), std::string::npos);
  EXPECT_GE(count(one, "<title>"), 91U);  // the page's and one per day
  EXPECT_NE(one.find("<h2>Incidents</h2>"), std::string::npos);
  EXPECT_NE(one.find("<td>ongoing</td>"), std::string::npos) << one;
  EXPECT_EQ(one.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(one.find("refused"), std::string::npos);
  EXPECT_GE(count(one, "<span class=\"st s-pass\">up</span>"), 19U);  // the latest 20 runs
  EXPECT_EQ(rig_.get("/status/nosuch").status, 404);
}

}  // namespace
