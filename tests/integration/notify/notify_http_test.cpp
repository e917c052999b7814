// Webhook, Slack, Teams and PagerDuty notifiers POSTing to real receivers on 127.0.0.1: payload
// shapes, HTTPS, a receiver that hangs, one that fails then recovers, one that refuses.

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "notify_support.hpp"
#include "pki.hpp"
#include "test_server.hpp"
#include "vitals/notify.hpp"
#include "vitals/registry.hpp"
#include "vitals/service.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using vitals::status;
using namespace vitals::notify;
using namespace vitals::notify::test;
using vitals::testkit::request_info;
using vitals::testkit::response_spec;
using vitals::testkit::test_server;

struct recorder {
  std::mutex mu;
  std::vector<request_info> got;
  std::atomic<int> fail_first{0};
  std::chrono::milliseconds delay{0};
  test_server::handler handler() {
    return [this](const request_info& r) {
      std::lock_guard lk(mu);
      got.push_back(r);
      if (fail_first > 0) {
        --fail_first;
        return response_spec{.status = 500, .body = "boom"};
      }
      return response_spec{.status = 200, .body = "ok", .delay = delay};
    };
  }
  std::vector<request_info> requests() {
    std::lock_guard lk(mu);
    return got;
  }
};

std::string url(const test_server& s, const std::string& scheme, const std::string& path) {
  return scheme + "://127.0.0.1:" + std::to_string(s.port()) + path;
}

TEST(notify_http, webhook_posts_json_and_resolved) {
  recorder rec;
  test_server srv{rec.handler()};
  dispatcher d{base(
      {{.name = "hook", .channel = make_http_notifier({.url = url(srv, "http", "/hook/T0K3N")})}})};
  fail(d, "db");
  recover(d, "db");
  d.flush();
  auto got = rec.requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/hook/T0K3N");
  EXPECT_EQ(got[0].headers["content-type"], "application/json");
  const auto j = json::parse(got[0].body);
  EXPECT_EQ(j["check"], "db");
  EXPECT_EQ(j["from"], "pass");
  EXPECT_EQ(j["to"], "fail");
  EXPECT_EQ(j["failure_kind"], "refused");
  EXPECT_EQ(j["output"], "connection refused");
  EXPECT_TRUE(j["time"].is_string());
  EXPECT_EQ(j["service_id"], "billing");
  EXPECT_EQ(j["version"], "1.2.3");
  EXPECT_EQ(j["link"], "http://billing:8081/health");
  // The URL (a secret) is not in the message.
  EXPECT_EQ(got[0].body.find("T0K3N"), std::string::npos);
  EXPECT_EQ(json::parse(got[1].body)["status"], "resolved");
  EXPECT_EQ(d.stats()[0].sent_ok, 2u);
}

TEST(notify_http, slack_teams_and_pagerduty_over_https) {
  vitals::testkit::pki pki;
  const auto cert = pki.issue("receiver", {});
  recorder slack_rec, teams_rec, pd_rec;
  test_server slack{slack_rec.handler(), vitals::testkit::server_tls{.cert = cert}};
  test_server teams{teams_rec.handler(), vitals::testkit::server_tls{.cert = cert}};
  test_server pd{pd_rec.handler(), vitals::testkit::server_tls{.cert = cert}};
  const auto ca = pki.ca().cert_file;
  dispatcher d{
      base({{.name = "slack",
             .channel = make_http_notifier(
                 {.format = http_format::slack, .url = url(slack, "https", "/s"), .ca_file = ca})},
            {.name = "teams",
             .channel = make_http_notifier(
                 {.format = http_format::teams, .url = url(teams, "https", "/t"), .ca_file = ca})},
            {.name = "pd",
             .channel = make_http_notifier({.format = http_format::pagerduty,
                                            .url = url(pd, "https", "/v2/enqueue"),
                                            .routing_key = "R0UT1NGKEY",
                                            .ca_file = ca})}})};
  fail(d, "db");
  recover(d, "db");
  d.flush();
  for (const auto& s : d.stats()) {
    EXPECT_EQ(s.sent_ok, 2u) << s.name;
    EXPECT_EQ(s.sent_error, 0u) << s.name;
  }
  auto sl = slack_rec.requests();
  ASSERT_EQ(sl.size(), 2u);
  const auto sj = json::parse(sl[0].body);
  EXPECT_TRUE(sj["text"].is_string());
  EXPECT_TRUE(sj["blocks"].is_array());
  auto tm = teams_rec.requests();
  ASSERT_EQ(tm.size(), 2u);
  EXPECT_EQ(json::parse(tm[0].body)["@type"], "MessageCard");
  auto pr = pd_rec.requests();
  ASSERT_EQ(pr.size(), 2u);
  const auto t = json::parse(pr[0].body), r = json::parse(pr[1].body);
  EXPECT_EQ(t["routing_key"], "R0UT1NGKEY");
  EXPECT_EQ(t["event_action"], "trigger");
  EXPECT_EQ(r["event_action"], "resolve");
  EXPECT_EQ(t["dedup_key"], r["dedup_key"]);
  EXPECT_TRUE(t["payload"]["summary"].is_string());
  EXPECT_EQ(t["payload"]["source"], "billing");
  EXPECT_EQ(t["payload"]["severity"], "critical");
}

TEST(notify_http, a_500_then_recovery_is_retried_and_delivered_once) {
  recorder rec;
  rec.fail_first = 2;
  test_server srv{rec.handler()};
  dispatcher d{base({{.name = "hook",
                      .channel = make_http_notifier({.url = url(srv, "http", "/")}),
                      .delivery = {.retries = 3, .backoff = 20ms}}})};
  fail(d, "db");
  d.flush();
  EXPECT_EQ(rec.requests().size(), 3u);
  const auto s = d.stats()[0];
  EXPECT_EQ(s.sent_ok, 1u);
  EXPECT_EQ(s.sent_error, 2u);
  EXPECT_EQ(s.dropped, 0u);
}

TEST(notify_http, a_refusing_receiver_is_dropped_after_retries_without_leaking_the_url) {
  log_capture logs;
  auto o = base({{.name = "hook",
                  .channel = make_http_notifier(
                      {.url = "http://127.0.0.1:" + std::to_string(vitals::testkit::closed_port()) +
                              "/hook/T0K3N-SECRET"}),
                  .delivery = {.retries = 2, .backoff = 10ms}}});
  o.log = logs.sink();
  dispatcher d{std::move(o)};
  fail(d, "db");
  d.flush();
  const auto s = d.stats()[0];
  EXPECT_EQ(s.sent_ok, 0u);
  EXPECT_EQ(s.sent_error, 3u);
  EXPECT_EQ(s.dropped, 1u);
  const auto lines = logs.get();
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& l : lines) {
    EXPECT_EQ(l.find("T0K3N-SECRET"), std::string::npos) << l;
    EXPECT_NE(l.find("refused"), std::string::npos) << l;
  }
}

TEST(notify_http, a_hanging_receiver_slows_no_check_no_probe_and_no_other_notifier) {
  recorder hung_rec, ok_rec;
  hung_rec.delay = 20s;  // far past the attempt deadline
  test_server hung{hung_rec.handler()};
  test_server ok{ok_rec.handler()};
  auto d = std::make_shared<dispatcher>(
      base({{.name = "hung",
             .channel = make_http_notifier({.url = url(hung, "http", "/")}),
             .delivery = {.timeout = 500ms, .retries = 0}},
            {.name = "ok", .channel = make_http_notifier({.url = url(ok, "http", "/")})}}));
  std::atomic<bool> down{false};
  vitals::registry reg;
  reg.add("db",
          [&](const vitals::context&) {
            return down ? vitals::fail("connection refused", vitals::failure_kind::refused)
                        : vitals::pass();
          },
          {.probes = vitals::ready, .interval = 20ms, .timeout = 10ms, .max_staleness = 10s});
  // A loaded machine may time out the first run (10 ms): count the transitions the engine made.
  std::atomic<unsigned> transitions{0}, first_passes{0};
  vitals::service svc{std::move(reg),
                      {.on_event =
                           [&](const vitals::event& e) {
                             if (e.what != vitals::event::type::transition) return;
                             ++transitions;
                             if (e.from == status::unknown && e.to == status::pass) ++first_passes;
                           },
                       .observers = {d}}};
  svc.start();
  const auto wait_for = [&](auto pred) {
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!pred() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    return pred();
  };
  ASSERT_TRUE(
      wait_for([&] { return svc.current()->probe_status(vitals::probe::ready) == status::pass; }));
  down = true;
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      wait_for([&] { return svc.current()->probe_status(vitals::probe::ready) == status::fail; }));
  // The other notifier delivered while the hung one is stuck in its attempt.
  ASSERT_TRUE(wait_for([&] { return ok_rec.requests().size() >= 1; }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 400ms);
  down = false;
  ASSERT_TRUE(
      wait_for([&] { return svc.current()->probe_status(vitals::probe::ready) == status::pass; }));
  ASSERT_TRUE(wait_for([&] { return ok_rec.requests().size() >= 2; }));
  // The check kept running on schedule throughout.
  const auto runs = svc.current()->find("db")->runs;
  ASSERT_TRUE(wait_for([&] { return svc.current()->find("db")->runs >= runs + 5; }));
  svc.stop();
  d->flush();
  const auto st = d->stats();
  // One message per transition (a first pass announces nothing), none per run.
  EXPECT_EQ(st[1].sent_ok, ok_rec.requests().size());
  EXPECT_EQ(st[1].sent_ok, transitions.load() - first_passes.load());
  EXPECT_GE(st[1].sent_ok, 2u);
  EXPECT_GE(st[0].sent_error, 1u);  // timed out at its deadline
}

}  // namespace
