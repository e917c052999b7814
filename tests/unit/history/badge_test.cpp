// /badge/<target>: SVG badges of a target's status, uptime (from a real SQLite history) and
// response time, through vitals::http::handler (no sockets, a manual clock).
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

class badges : public testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "vitals-badge-XXXXXX").string();
    dir_ = ::mkdtemp(templ.data());
    history_ = std::make_shared<vitals::sqlite_history>(
        vitals::history_options{.path = (dir_ / "h.db").string()});
  }
  void TearDown() override {
    history_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void feed(const std::string& name, std::chrono::system_clock::time_point t, status s,
            std::chrono::milliseconds took = 12ms) const {
    vitals::check_state c;
    c.name = name;
    c.last_run = s == status::pass ? vitals::pass() : vitals::fail("down");
    c.last_run.time = t;
    c.last_run.duration = took;
    c.reported = c.last_run;
    history_->on_result(c);
  }

  fs::path dir_;
  std::shared_ptr<vitals::sqlite_history> history_;
  vitals_test::rig rig_;
};

TEST_F(badges, status_is_an_svg_that_caches_for_a_minute_and_shows_no_output) {
  rig_.add("web", vitals::pass());
  rig_.add("db", vitals::fail("auth failed for postgres://app:s3cr3t-pw@db/app"));
  rig_.add("cache", vitals::warn("slow"));
  rig_.start({.token = "badge-token-1234567890"});
  rig_.run();
  const auto up = rig_.get("/badge/web");
  ASSERT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(vitals_test::header_of(up, "Content-Type"), "image/svg+xml");
  EXPECT_EQ(vitals_test::header_of(up, "Cache-Control"), "public, max-age=60");
  EXPECT_TRUE(up.body.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"")) << up.body;
  EXPECT_NE(up.body.find("<title>web: up</title>"), std::string::npos) << up.body;
  EXPECT_NE(up.body.find("fill=\"#4c1\""), std::string::npos);
  const auto down = rig_.get("/badge/db");
  EXPECT_EQ(down.status, 200);
  EXPECT_NE(down.body.find("<title>db: down</title>"), std::string::npos) << down.body;
  EXPECT_NE(down.body.find("fill=\"#e05d44\""), std::string::npos);
  EXPECT_EQ(down.body.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(down.body.find("auth failed"), std::string::npos);  // never an output
  EXPECT_NE(rig_.get("/badge/cache").body.find("cache: degraded"), std::string::npos);
  // The same badge as `<name>.svg`; HEAD answers with no body.
  EXPECT_NE(rig_.get("/badge/web.svg").body.find("<title>web: up</title>"), std::string::npos);
  EXPECT_EQ(rig_.get("/badge/web", {}, "HEAD").status, 200);
}

TEST_F(badges, a_label_is_escaped_and_the_box_grows_with_the_text) {
  rig_.add("web", vitals::pass());
  rig_.start();
  rig_.run();
  const auto plain = rig_.get("/badge/web?label=a");
  const auto wide = rig_.get("/badge/web?label=%3Cshop%20%26%20%22api%22%3E%20production");
  ASSERT_EQ(wide.status, 200) << wide.body;
  EXPECT_NE(wide.body.find("&lt;shop &amp; &quot;api&quot;&gt; production: up"), std::string::npos)
      << wide.body;
  EXPECT_EQ(wide.body.find("<shop"), std::string::npos);
  const auto width = [](const std::string& svg) {
    const auto at = svg.find("width=\"");
    return std::stod(svg.substr(at + 7));
  };
  EXPECT_GT(width(wide.body), width(plain.body) + 100);
}

TEST_F(badges, unknown_targets_and_bad_queries_are_badges_too) {
  rig_.add("web", vitals::pass());
  rig_.start({.history = history_});
  rig_.run();
  const auto missing = rig_.get("/badge/nosuch");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(vitals_test::header_of(missing, "Content-Type"), "image/svg+xml");
  EXPECT_NE(missing.body.find("nosuch: not found"), std::string::npos) << missing.body;
  EXPECT_EQ(rig_.get("/badge/web?show=colour").status, 400);
  EXPECT_EQ(rig_.get("/badge/web?show=uptime&window=2d").status, 400);
  EXPECT_EQ(rig_.get("/badge/web?label=" + std::string(65, 'x')).status, 400);
  EXPECT_EQ(rig_.get("/badge/web?show=uptime&window=365d").status, 200);
}

TEST_F(badges, uptime_of_a_window_from_the_history_rounded_down) {
  rig_.add("web", vitals::pass());
  rig_.start({.history = history_});
  rig_.run();
  const auto now = std::chrono::system_clock::now();
  // 30d: 2,988 + 9 of 3,000 runs up; 1h: 9 of 10. Oldest first, as runs arrive.
  for (int i = 2989; i >= 0; --i) {
    feed("web", now - 48h - std::chrono::minutes{i * 10}, i < 2 ? status::fail : status::pass);
  }
  for (int i = 9; i >= 0; --i) {
    feed("web", now - std::chrono::minutes{i * 5}, i == 3 ? status::fail : status::pass);
  }
  history_->flush();
  const auto hour = rig_.get("/badge/web?show=uptime&window=1h");
  ASSERT_EQ(hour.status, 200) << hour.body;
  EXPECT_NE(hour.body.find("<title>web 1h: 90%</title>"), std::string::npos) << hour.body;
  EXPECT_NE(hour.body.find("fill=\"#fe7d37\""), std::string::npos);  // 90 %: orange
  // 2,997 of 3,000 = 99.9 %: green, and shown as is, not rounded up.
  const auto month = rig_.get("/badge/web?show=uptime");
  EXPECT_NE(month.body.find("<title>web 30d: 99.9%</title>"), std::string::npos) << month.body;
  EXPECT_NE(month.body.find("fill=\"#4c1\""), std::string::npos);
  EXPECT_NE(rig_.get("/badge/web?show=uptime&label=SLA").body.find("SLA: 99.9%"),
            std::string::npos);
}

TEST_F(badges, uptime_without_a_history_or_runs_says_so) {
  rig_.add("web", vitals::pass());
  rig_.add("new", vitals::pass());
  {
    vitals_test::rig without;
    without.add("web", vitals::pass());
    without.start();
    without.run();
    const auto r = without.get("/badge/web?show=uptime");
    EXPECT_EQ(r.status, 404);
    EXPECT_NE(r.body.find("no history"), std::string::npos) << r.body;
  }
  rig_.start({.history = history_});
  rig_.run();
  const auto r = rig_.get("/badge/new?show=uptime");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("new 30d: no data"), std::string::npos) << r.body;
}

TEST_F(badges, response_time_of_the_latest_run) {
  rig_.add("web", vitals::pass());
  rig_.start();
  const auto before = rig_.get("/badge/web?show=response_time");
  EXPECT_NE(before.body.find("web: no data"), std::string::npos) << before.body;
  rig_.run();
  const auto after = rig_.get("/badge/web?show=response_time");
  EXPECT_EQ(after.status, 200);
  EXPECT_NE(after.body.find(" ms</title>"), std::string::npos) << after.body;
  EXPECT_NE(after.body.find("fill=\"#007ec6\""), std::string::npos);
}

// With shards sharing a history: a target of another shard answers from the history.
TEST_F(badges, a_target_of_another_shard_answers_from_the_shared_history) {
  rig_.add("web", vitals::pass());
  auto fleet = std::make_shared<vitals::http::target_catalog>();
  fleet->set({{"web", {}}, {"far.away", {.group = "far"}}});
  rig_.start({.fleet = fleet, .history = history_});
  rig_.run();
  feed("far.away", std::chrono::system_clock::now() - 1min, status::fail, 1500ms);
  history_->flush();
  EXPECT_NE(rig_.get("/badge/far.away").body.find("far.away: down"), std::string::npos);
  EXPECT_NE(rig_.get("/badge/far.away?show=response_time").body.find("far.away: 1.50 s"),
            std::string::npos);
  EXPECT_EQ(rig_.get("/badge/not.in.fleet").status, 404);
}

}  // namespace
