#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "notify_fake.hpp"
#include "vitals/notify.hpp"
#include "vitals/testing/manual_clock.hpp"

namespace {

using namespace std::chrono_literals;
using vitals::status;
using namespace vitals::notify;
using vitals::notify::testing::fake_channel;

vitals::check_state failing_check(std::string name, bool critical = true) {
  vitals::check_state s;
  s.name = std::move(name);
  s.reported = vitals::fail("connection refused (127.0.0.1:5432) pw=s3cr3t-url",
                            vitals::failure_kind::refused);
  s.options.critical = critical;
  return s;
}

vitals::check_state passing_check(std::string name) {
  vitals::check_state s;
  s.name = std::move(name);
  s.reported = vitals::pass();
  return s;
}

struct notify_dispatcher : ::testing::Test {
  std::shared_ptr<vitals::testing::manual_clock> clk =
      std::make_shared<vitals::testing::manual_clock>();
  std::vector<std::chrono::nanoseconds> waits;

  dispatcher_options options(std::vector<notifier_spec> specs) {
    return {.notifiers = std::move(specs),
            .clock = clk,
            .info = {.service_id = "billing", .version = "1.2.3"},
            .link = "http://billing:8081/health",
            .tick = 0ms,
            .sleep =
                [this](std::chrono::nanoseconds d) {
                  waits.push_back(d);
                  clk->advance(d);
                },
            .random = [] { return 0.5; }};
  }

  void fail(dispatcher& d, const std::string& name, bool critical = true) {
    d.on_transition(failing_check(name, critical), status::pass, status::fail);
  }
  void recover(dispatcher& d, const std::string& name) {
    d.on_transition(passing_check(name), status::fail, status::pass);
  }
};

TEST_F(notify_dispatcher, failure_then_recovery_sends_two_messages_with_the_alert_fields) {
  auto ch = std::make_shared<fake_channel>();
  dispatcher d{options({{.name = "ops", .channel = ch}})};
  fail(d, "db");
  recover(d, "db");
  d.flush();
  auto sent = ch->sent();
  ASSERT_EQ(sent.size(), 2u);
  ASSERT_EQ(sent[0].alerts.size(), 1u);
  const alert& a = sent[0].alerts[0];
  EXPECT_EQ(a.name, "db");
  EXPECT_EQ(a.from, status::pass);
  EXPECT_EQ(a.to, status::fail);
  EXPECT_EQ(a.kind, vitals::failure_kind::refused);
  EXPECT_EQ(a.service_id, "billing");
  EXPECT_EQ(a.version, "1.2.3");
  EXPECT_EQ(a.link, "http://billing:8081/health");
  EXPECT_EQ(a.time, clk->wall_now());
  // The channel's secrets are scrubbed from the output.
  EXPECT_EQ(a.output.find("s3cr3t-url"), std::string::npos) << a.output;
  EXPECT_FALSE(a.resolved());
  EXPECT_TRUE(sent[1].alerts[0].resolved());
  EXPECT_EQ(sent[0].summary().rfind("[FAIL] db (billing): connection refused", 0), 0u)
      << sent[0].summary();
  EXPECT_EQ(sent[1].summary(), "[RESOLVED] db (billing)");
  auto st = d.stats();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].name, "ops");
  EXPECT_EQ(st[0].sent_ok, 2u);
  EXPECT_EQ(st[0].dropped, 0u);
}

TEST_F(notify_dispatcher, a_notifier_link_overrides_the_service_link) {
  auto a = std::make_shared<fake_channel>();
  auto b = std::make_shared<fake_channel>();
  dispatcher d{options({{.name = "a", .channel = a},
                        {.name = "b", .channel = b, .link = "https://status.example/db"}})};
  fail(d, "db");
  d.flush();
  EXPECT_EQ(a->sent().at(0).alerts.at(0).link, "http://billing:8081/health");
  EXPECT_EQ(b->sent().at(0).alerts.at(0).link, "https://status.example/db");
}

TEST_F(notify_dispatcher, send_on_resolved_false_sends_only_the_failure) {
  auto ch = std::make_shared<fake_channel>();
  dispatcher d{options({{.name = "ops", .channel = ch, .route = {.send_on_resolved = false}}})};
  fail(d, "db");
  recover(d, "db");
  d.flush();
  EXPECT_EQ(ch->sent().size(), 1u);
}

TEST_F(notify_dispatcher, warn_to_fail_and_unknown_do_not_repeat_or_resolve) {
  auto ch = std::make_shared<fake_channel>();
  dispatcher d{options({{.name = "ops", .channel = ch}})};
  d.on_transition(failing_check("db"), status::unknown, status::fail);
  d.on_transition(failing_check("db"), status::fail, status::fail);
  d.on_transition(passing_check("other"), status::unknown, status::pass);
  d.flush();
  EXPECT_EQ(ch->sent().size(), 1u);
}

TEST_F(notify_dispatcher, a_recovery_within_for_sends_nothing) {
  auto ch = std::make_shared<fake_channel>();
  dispatcher d{options({{.name = "ops", .channel = ch, .route = {.for_duration = 30s}}})};
  fail(d, "db");
  clk->advance(29s);
  d.poll();
  recover(d, "db");
  clk->advance(60s);
  d.poll();
  d.flush();
  EXPECT_TRUE(ch->sent().empty());
}

TEST_F(notify_dispatcher, a_failure_longer_than_for_is_sent_once_it_lasted) {
  auto ch = std::make_shared<fake_channel>();
  dispatcher d{options({{.name = "ops", .channel = ch, .route = {.for_duration = 30s}}})};
  fail(d, "db");
  clk->advance(29s);
  d.poll();
  d.flush();
  EXPECT_TRUE(ch->sent().empty());
  clk->advance(1s);
  d.poll();
  d.poll();
  d.flush();
  ASSERT_EQ(ch->sent().size(), 1u);
  recover(d, "db");
  d.flush();
  ASSERT_EQ(ch->sent().size(), 2u);
  EXPECT_TRUE(ch->sent()[1].alerts[0].resolved());
}

TEST_F(notify_dispatcher, repeat_every_reminds_while_still_failing) {
  auto ch = std::make_shared<fake_channel>();
  dispatcher d{options({{.name = "ops", .channel = ch, .route = {.repeat_every = 10min}}})};
  fail(d, "db");
  clk->advance(9min);
  d.poll();
  clk->advance(1min);
  d.poll();
  clk->advance(10min);
  d.poll();
  d.flush();
  auto sent = ch->sent();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_FALSE(sent[0].alerts[0].reminder);
  EXPECT_TRUE(sent[1].alerts[0].reminder);
  EXPECT_TRUE(sent[2].alerts[0].reminder);
  EXPECT_EQ(sent[1].summary().rfind("[STILL FAILING] db", 0), 0u);
  recover(d, "db");
  clk->advance(30min);
  d.poll();
  d.flush();
  EXPECT_EQ(ch->sent().size(), 4u);
}

TEST_F(notify_dispatcher, failures_within_group_wait_make_one_message) {
  auto ch = std::make_shared<fake_channel>();
  dispatcher d{options({{.name = "ops", .channel = ch, .route = {.group_wait = 10s}}})};
  fail(d, "a");
  clk->advance(3s);
  fail(d, "b");
  clk->advance(3s);
  fail(d, "c");
  d.poll();
  d.flush();
  EXPECT_TRUE(ch->sent().empty());
  clk->advance(4s);
  d.poll();
  d.flush();
  auto sent = ch->sent();
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(sent[0].alerts.size(), 3u);
  EXPECT_EQ(sent[0].summary(), "3 alerts (3 failing, 0 resolved): a, b, c");
  // A failure and its recovery within one group window: neither is sent.
  fail(d, "d");
  recover(d, "d");
  clk->advance(10s);
  d.poll();
  d.flush();
  EXPECT_EQ(ch->sent().size(), 1u);
}

TEST_F(notify_dispatcher, maintenance_silences_and_a_failure_outlasting_it_is_announced_after) {
  auto ch = std::make_shared<fake_channel>();
  const auto now = clk->wall_now();
  dispatcher d{options({{.name = "ops",
                         .channel = ch,
                         .route = {.maintenance = {{.start = now - 1min, .end = now + 10min}}}}})};
  fail(d, "a");  // during the window, recovers during it: never sent
  recover(d, "a");
  fail(d, "b");  // still failing when the window ends
  clk->advance(9min);
  d.poll();
  d.flush();
  EXPECT_TRUE(ch->sent().empty());
  clk->advance(1min);
  d.poll();
  d.flush();
  auto sent = ch->sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].alerts[0].name, "b");
}

TEST_F(notify_dispatcher, a_recurring_window_silences_each_time_it_comes) {
  // The manual clock's wall time starts at 2026-01-01T01:00:00Z; a window every day at 02:00.
  auto ch = std::make_shared<fake_channel>();
  dispatcher d{options({{.name = "ops",
                         .channel = ch,
                         .route = {.maintenance = {{.every = "0 2 * * *", .length = 30min}}}}})};
  fail(d, "a");  // 01:00, outside: sent
  recover(d, "a");
  d.flush();
  ASSERT_EQ(ch->sent().size(), 2u);
  clk->advance(1h + 10min);  // 02:10, inside
  fail(d, "b");
  d.poll();
  d.flush();
  EXPECT_EQ(ch->sent().size(), 2u);
  clk->advance(20min);  // 02:30: the window is over and "b" still fails
  d.poll();
  d.flush();
  ASSERT_EQ(ch->sent().size(), 3u);
  EXPECT_EQ(ch->sent()[2].alerts[0].name, "b");
  recover(d, "b");
  clk->advance(24h - 25min);  // 02:05 the next day: inside again
  fail(d, "c");
  d.poll();
  d.flush();
  EXPECT_EQ(ch->sent().size(), 4u);  // b's recovery only
}

TEST_F(notify_dispatcher, a_bad_recurring_window_is_refused) {
  EXPECT_THROW(
      (dispatcher{options({{.name = "ops",
                            .channel = std::make_shared<fake_channel>(),
                            .route = {.maintenance = {{.every = "0 25 * * *", .length = 1h}}}}})}),
      std::invalid_argument);
  EXPECT_THROW((dispatcher{options({{.name = "ops",
                                     .channel = std::make_shared<fake_channel>(),
                                     .route = {.maintenance = {{.every = "@daily"}}}}})}),
               std::invalid_argument);
}

TEST_F(notify_dispatcher, rate_limit_drops_and_counts) {
  auto ch = std::make_shared<fake_channel>();
  dispatcher d{
      options({{.name = "ops",
                .channel = ch,
                .route = {.send_on_resolved = false, .rate_limit = 2, .rate_window = 1h}}})};
  for (const char* n : {"a", "b", "c", "d"}) fail(d, n);
  d.flush();
  EXPECT_EQ(ch->sent().size(), 2u);
  EXPECT_EQ(d.stats()[0].dropped, 2u);
  clk->advance(1h);
  fail(d, "e");
  d.flush();
  EXPECT_EQ(ch->sent().size(), 3u);
}

TEST_F(notify_dispatcher, routes_by_check_glob_severity_and_probe) {
  auto all = std::make_shared<fake_channel>();
  auto db = std::make_shared<fake_channel>();
  auto crit = std::make_shared<fake_channel>();
  auto probes = std::make_shared<fake_channel>();
  dispatcher d{options({{.name = "all", .channel = all},
                        {.name = "db", .channel = db, .route = {.checks = {"db-*", "cache"}}},
                        {.name = "crit", .channel = crit, .route = {.critical_only = true}},
                        {.name = "probes",
                         .channel = probes,
                         .route = {.checks = {"none"}, .probes = {vitals::probe::ready}}}})};
  fail(d, "db-main");
  fail(d, "web", /*critical=*/false);
  d.on_probe(vitals::probe::ready, status::pass, status::fail);
  d.on_probe(vitals::probe::live, status::pass, status::fail);
  d.flush();
  EXPECT_EQ(all->sent().size(), 2u);  // checks only: no probes configured
  ASSERT_EQ(db->sent().size(), 1u);
  EXPECT_EQ(db->sent()[0].alerts[0].name, "db-main");
  ASSERT_EQ(crit->sent().size(), 1u);
  EXPECT_EQ(crit->sent()[0].alerts[0].name, "db-main");
  ASSERT_EQ(probes->sent().size(), 1u);
  EXPECT_EQ(probes->sent()[0].alerts[0].subject, subject_kind::probe);
  EXPECT_EQ(probes->sent()[0].alerts[0].name, "ready");
  EXPECT_EQ(probes->sent()[0].alerts[0].key(), "probe:ready");
}

TEST_F(notify_dispatcher, retries_with_exponential_backoff_and_delivers_once) {
  auto ch = std::make_shared<fake_channel>();
  ch->fail_next({.ok = false, .error = "status 500 from s3cr3t-url"});
  ch->fail_next({.ok = false, .error = "status 500"});
  std::vector<std::string> logs;
  auto o = options({{.name = "ops",
                     .channel = ch,
                     .delivery = {.retries = 3, .backoff = 1s, .max_backoff = 30s}}});
  o.log = [&](std::string_view, std::string_view what) { logs.emplace_back(what); };
  dispatcher d{std::move(o)};
  fail(d, "db");
  d.flush();
  EXPECT_EQ(ch->sent().size(), 1u);
  EXPECT_EQ(ch->attempts(), 3);
  // random() = 0.5 → factor 1: exactly 1 s, then 2 s.
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_EQ(waits[0], 1s);
  EXPECT_EQ(waits[1], 2s);
  auto st = d.stats()[0];
  EXPECT_EQ(st.sent_ok, 1u);
  EXPECT_EQ(st.sent_error, 2u);
  EXPECT_EQ(st.dropped, 0u);
  ASSERT_EQ(logs.size(), 2u);
  for (const auto& l : logs) EXPECT_EQ(l.find("s3cr3t-url"), std::string::npos) << l;
}

TEST_F(notify_dispatcher, backoff_is_capped_and_jittered) {
  auto ch = std::make_shared<fake_channel>();
  for (int i = 0; i < 6; ++i) ch->fail_next({.ok = false, .error = "down"});
  auto o = options({{.name = "ops",
                     .channel = ch,
                     .delivery = {.retries = 5, .backoff = 1s, .max_backoff = 4s}}});
  o.random = [] { return 0.0; };  // lowest jitter: half the backoff
  dispatcher d{std::move(o)};
  fail(d, "db");
  d.flush();
  EXPECT_EQ(waits, (std::vector<std::chrono::nanoseconds>{500ms, 1s, 2s, 2s, 2s}));
  auto st = d.stats()[0];
  EXPECT_EQ(st.sent_ok, 0u);
  EXPECT_EQ(st.sent_error, 6u);
  EXPECT_EQ(st.dropped, 1u);
}

TEST_F(notify_dispatcher, a_permanent_error_is_not_retried) {
  auto ch = std::make_shared<fake_channel>();
  ch->fail_next({.ok = false, .error = "status 400", .permanent = true});
  dispatcher d{options({{.name = "ops", .channel = ch}})};
  fail(d, "db");
  d.flush();
  EXPECT_EQ(ch->attempts(), 1);
  EXPECT_EQ(d.stats()[0].dropped, 1u);
}

TEST_F(notify_dispatcher, a_blocked_notifier_delays_nothing_else_and_its_queue_overflows) {
  auto slow = std::make_shared<fake_channel>();
  auto fast = std::make_shared<fake_channel>();
  slow->block();
  dispatcher d{options({{.name = "slow", .channel = slow, .delivery = {.queue = 1}},
                        {.name = "fast", .channel = fast}})};
  fail(d, "a");
  ASSERT_TRUE(slow->wait_attempts(1));  // the worker holds "a", blocked
  fail(d, "b");                         // queued
  fail(d, "c");                         // queue full: dropped
  // The observer calls returned although a channel is stuck; the other one got everything.
  ASSERT_TRUE(fast->wait_sent(3));
  // The channel holds the message before its worker counts it: wait (bounded) for the count.
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (d.stats()[1].sent_ok < 3 && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  auto st = d.stats();
  EXPECT_EQ(st[0].queue_length, 1u);
  EXPECT_EQ(st[0].dropped, 1u);
  EXPECT_EQ(st[1].sent_ok, 3u);
  slow->release();
  d.flush();
  EXPECT_EQ(slow->sent().size(), 2u);
  EXPECT_EQ(d.stats()[0].queue_length, 0u);
}

TEST_F(notify_dispatcher,
       state_file_survives_a_restart_no_duplicate_failure_and_the_recovery_is_sent) {
  const auto path = (std::filesystem::temp_directory_path() /
                     ("vitals_notify_state_" + std::to_string(::getpid()) + ".json"))
                        .string();
  std::filesystem::remove(path);
  auto o1 = options({{.name = "ops", .channel = std::make_shared<fake_channel>()}});
  auto ch1 = std::static_pointer_cast<fake_channel>(o1.notifiers[0].channel);
  o1.state_file = path;
  {
    dispatcher d{std::move(o1)};
    fail(d, "db");
    fail(d, "cache");
    recover(d, "cache");
    d.flush();
    EXPECT_EQ(ch1->sent().size(), 3u);
  }
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  auto ch2 = std::make_shared<fake_channel>();
  auto o2 = options({{.name = "ops", .channel = ch2}});
  o2.state_file = path;
  {
    dispatcher d{std::move(o2)};
    // After the restart every check starts unknown and fails again: already announced.
    d.on_transition(failing_check("db"), status::unknown, status::fail);
    d.flush();
    EXPECT_TRUE(ch2->sent().empty());
    d.on_transition(passing_check("db"), status::fail, status::pass);
    d.flush();
    ASSERT_EQ(ch2->sent().size(), 1u);
    EXPECT_EQ(ch2->sent()[0].alerts[0].name, "db");
    EXPECT_TRUE(ch2->sent()[0].alerts[0].resolved());
  }
  // A recovery seen while down is still sent: the check comes back up from unknown.
  auto ch3 = std::make_shared<fake_channel>();
  auto o3 = options({{.name = "ops", .channel = ch3}});
  o3.state_file = path;
  {
    dispatcher d{std::move(o3)};
    d.on_transition(passing_check("db"), status::unknown, status::pass);
    d.flush();
    EXPECT_TRUE(ch3->sent().empty());  // db was resolved before: nothing announced
  }
  std::filesystem::remove(path);
}

TEST_F(notify_dispatcher, a_recovery_during_the_restart_is_sent_from_unknown) {
  const auto path = (std::filesystem::temp_directory_path() /
                     ("vitals_notify_state2_" + std::to_string(::getpid()) + ".json"))
                        .string();
  std::filesystem::remove(path);
  auto ch1 = std::make_shared<fake_channel>();
  auto o1 = options({{.name = "ops", .channel = ch1}});
  o1.state_file = path;
  {
    dispatcher d{std::move(o1)};
    fail(d, "db");
    d.flush();
  }
  auto ch2 = std::make_shared<fake_channel>();
  auto o2 = options({{.name = "ops", .channel = ch2}});
  o2.state_file = path;
  dispatcher d{std::move(o2)};
  d.on_transition(passing_check("db"), status::unknown, status::pass);
  d.flush();
  ASSERT_EQ(ch2->sent().size(), 1u);
  EXPECT_TRUE(ch2->sent()[0].alerts[0].resolved());
  std::filesystem::remove(path);
}

TEST_F(notify_dispatcher, a_removed_check_closes_its_announced_alert_and_forgets_a_pending_one) {
  auto ch = std::make_shared<fake_channel>();
  dispatcher d{options({{.name = "ops", .channel = ch, .route = {.for_duration = 1min}}})};
  fail(d, "gone");
  clk->advance(2min);
  d.poll();            // announced
  fail(d, "pending");  // not yet announced (for: 1m)
  fail(d, "kept");
  clk->advance(10s);
  d.flush();
  ASSERT_EQ(ch->sent().size(), 1u);
  d.keep_only({"kept"});
  d.flush();
  const auto sent = ch->sent();
  ASSERT_EQ(sent.size(), 2u);
  const alert& a = sent[1].alerts.at(0);
  EXPECT_EQ(a.name, "gone");
  EXPECT_TRUE(a.removed);
  EXPECT_TRUE(a.resolved());
  EXPECT_EQ(a.from, status::fail);
  EXPECT_EQ(a.to, status::unknown);
  EXPECT_EQ(sent[1].summary(), "[RESOLVED] gone (billing): removed from the configuration");
  EXPECT_EQ(render_payloads(http_format::pagerduty, sent[1]).size(), 1u);
  // "pending" was forgotten (never told, so nothing to close); "kept" still fires in time.
  clk->advance(1min);
  d.poll();
  d.flush();
  ASSERT_EQ(ch->sent().size(), 3u);
  EXPECT_EQ(ch->sent()[2].alerts.at(0).name, "kept");
  EXPECT_EQ(d.announced().size(), 1u);
  // Probes are never removed, and a second call has nothing left to close.
  d.keep_only({"kept"});
  d.flush();
  EXPECT_EQ(ch->sent().size(), 3u);
}

TEST_F(notify_dispatcher, a_check_removed_while_down_is_closed_from_the_state_file) {
  const auto path = (std::filesystem::temp_directory_path() /
                     ("vitals_notify_state3_" + std::to_string(::getpid()) + ".json"))
                        .string();
  std::filesystem::remove(path);
  auto o1 = options({{.name = "ops", .channel = std::make_shared<fake_channel>()}});
  o1.state_file = path;
  {
    dispatcher d{std::move(o1)};
    fail(d, "db");
    d.flush();
  }
  auto ch = std::make_shared<fake_channel>();
  auto o2 = options({{.name = "ops", .channel = ch, .route = {.send_on_resolved = true}}});
  o2.state_file = path;
  dispatcher d{std::move(o2)};
  d.keep_only({"cache"});  // the new configuration has no "db"
  d.flush();
  ASSERT_EQ(ch->sent().size(), 1u);
  EXPECT_TRUE(ch->sent()[0].alerts.at(0).removed);
  EXPECT_TRUE(d.announced().empty());
  std::filesystem::remove(path);
}

TEST_F(notify_dispatcher, a_damaged_state_file_is_reported_and_ignored) {
  const auto path = (std::filesystem::temp_directory_path() /
                     ("vitals_notify_bad_" + std::to_string(::getpid()) + ".json"))
                        .string();
  std::ofstream(path) << "{not json";
  std::vector<std::string> logs;
  auto ch = std::make_shared<fake_channel>();
  auto o = options({{.name = "ops", .channel = ch}});
  o.state_file = path;
  o.log = [&](std::string_view, std::string_view what) { logs.emplace_back(what); };
  dispatcher d{std::move(o)};
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_NE(logs[0].find("notification state ignored"), std::string::npos);
  fail(d, "db");
  d.flush();
  EXPECT_EQ(ch->sent().size(), 1u);
  std::filesystem::remove(path);
}

TEST(notify_glob, matches_stars_and_question_marks) {
  EXPECT_TRUE(glob_match("db-*", "db-main"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_TRUE(glob_match("*-eu-*", "db-eu-1"));
  EXPECT_FALSE(glob_match("db-*", "cache"));
  EXPECT_FALSE(glob_match("a?c", "ac"));
  EXPECT_TRUE(glob_match("exact", "exact"));
}

}  // namespace

namespace {

// Targets of `targets:` groups: routes by group, and one grouping window per group.
dispatcher_options with_groups(dispatcher_options o) {
  o.group_of = [](std::string_view check) {
    const auto dot = check.find('.');
    return dot == std::string_view::npos ? std::string{} : std::string{check.substr(0, dot)};
  };
  return o;
}

TEST_F(notify_dispatcher, routes_by_target_group) {
  auto web = std::make_shared<fake_channel>();
  auto web_db = std::make_shared<fake_channel>();
  auto all = std::make_shared<fake_channel>();
  dispatcher d{with_groups(options(
      {{.name = "web", .channel = web, .route = {.groups = {"web"}}},
       {.name = "web-db",
        .channel = web_db,
        .route = {.checks = {"*.db*"}, .groups = {"web*"}, .probes = {vitals::probe::ready}}},
       {.name = "all", .channel = all}}))};
  fail(d, "web.shop");
  fail(d, "web.db1");
  fail(d, "batch.db1");
  fail(d, "standalone");
  d.on_probe(vitals::probe::ready, status::pass, status::fail);
  d.flush();
  ASSERT_EQ(web->sent().size(), 2u);
  EXPECT_EQ(web->sent()[0].alerts[0].name, "web.shop");
  EXPECT_EQ(web->sent()[0].alerts[0].group, "web");
  EXPECT_EQ(web->sent()[1].alerts[0].name, "web.db1");
  // Both filters hold for checks; probes are routed by `probes` alone.
  ASSERT_EQ(web_db->sent().size(), 2u);
  EXPECT_EQ(web_db->sent()[0].alerts[0].name, "web.db1");
  EXPECT_EQ(web_db->sent()[1].alerts[0].name, "ready");
  ASSERT_EQ(all->sent().size(), 4u);
  EXPECT_EQ(all->sent()[3].alerts[0].group, "");
}

TEST_F(notify_dispatcher, group_by_target_group_makes_one_message_per_group) {
  auto by_group = std::make_shared<fake_channel>();
  auto together = std::make_shared<fake_channel>();
  dispatcher d{with_groups(
      options({{.name = "by-group",
                .channel = by_group,
                .route = {.group_wait = 10s, .group_by_target_group = true}},
               {.name = "together", .channel = together, .route = {.group_wait = 10s}}}))};
  fail(d, "web.a");
  fail(d, "db.x");
  fail(d, "other");
  clk->advance(2s);
  fail(d, "web.b");
  clk->advance(8s);
  d.poll();
  d.flush();
  ASSERT_EQ(together->sent().size(), 1u);
  EXPECT_EQ(together->sent()[0].alerts.size(), 4u);
  auto sent = by_group->sent();
  ASSERT_EQ(sent.size(), 3u);  // "", db, web: each window of its own
  std::map<std::string, std::string> summaries;
  for (const auto& m : sent) summaries[m.alerts[0].group] = m.summary();
  EXPECT_EQ(summaries["web"], "2 alerts in web (2 failing, 0 resolved): web.a, web.b");
  EXPECT_EQ(summaries["db"].rfind("[FAIL] db.x (billing)", 0), 0u) << summaries["db"];
  EXPECT_EQ(summaries[""].rfind("[FAIL] other", 0), 0u);
  // A group's window starts with its own first alert.
  fail(d, "db.y");
  clk->advance(5s);
  fail(d, "web.c");
  clk->advance(5s);
  d.poll();
  d.flush();
  ASSERT_EQ(by_group->sent().size(), 4u);
  EXPECT_EQ(by_group->sent()[3].alerts[0].name, "db.y");
  clk->advance(5s);
  d.poll();
  d.flush();
  ASSERT_EQ(by_group->sent().size(), 5u);
  EXPECT_EQ(by_group->sent()[4].alerts[0].name, "web.c");
}

TEST_F(notify_dispatcher, the_group_of_an_announced_alert_survives_a_restart) {
  const auto path = std::filesystem::temp_directory_path() / "vitals-notify-group-state.json";
  std::filesystem::remove(path);
  {
    auto ch = std::make_shared<fake_channel>();
    auto o = with_groups(options({{.name = "ops", .channel = ch}}));
    o.state_file = path.string();
    dispatcher d{std::move(o)};
    fail(d, "web.shop");
    d.flush();
  }
  auto ch = std::make_shared<fake_channel>();
  auto o = options({{.name = "ops", .channel = ch, .route = {.groups = {"web"}}}});  // no group_of
  o.state_file = path.string();
  dispatcher d{std::move(o)};
  const auto kept = d.announced();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].alert.group, "web");
  std::filesystem::remove(path);
}

TEST_F(notify_dispatcher, announced_alerts_carry_to_the_next_dispatcher_on_reload) {
  auto ch1 = std::make_shared<fake_channel>();
  std::vector<announced_alert> carried;
  {
    dispatcher d{options({{.name = "ops", .channel = ch1}, {.name = "other", .channel = ch1}})};
    fail(d, "db");
    d.flush();
    carried = d.announced();
    d.stop();
    fail(d, "late");  // after stop(): ignored, a successor owns the state
    d.flush();
    EXPECT_EQ(ch1->sent().size(), 2u);
  }
  ASSERT_EQ(carried.size(), 2u);
  auto ch2 = std::make_shared<fake_channel>();
  auto o = options({{.name = "ops", .channel = ch2}});  // "other" removed by the reload
  o.seed = carried;
  dispatcher d{std::move(o)};
  EXPECT_EQ(d.announced().size(), 1u);
  recover(d, "db");
  d.flush();
  ASSERT_EQ(ch2->sent().size(), 1u);
  EXPECT_TRUE(ch2->sent()[0].alerts[0].resolved());
}

}  // namespace
