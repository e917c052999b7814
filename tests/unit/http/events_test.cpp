// /api/v1/events through handler::handle() (no streaming: what is new since Last-Event-ID, then
// the answer ends), and the event feed it reads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "event_stream.hpp"
#include "rig.hpp"
#include "target.hpp"
#include "vitals/http/events.hpp"
#include "vitals/http/targets.hpp"

namespace {

using testing::HasSubstr;
using testing::Not;
using json = nlohmann::json;
using vitals::http::event_feed;
using vitals::http::status_event;

/// The frames of an event-stream body: (event type, data, id) per frame with data or an id.
struct frame {
  std::string event;
  std::string data;
  std::string id;
};
std::vector<frame> frames_of(const std::string& body) {
  std::vector<frame> out;
  frame f;
  bool any = false;
  std::size_t at = 0;
  while (at < body.size()) {
    const auto nl = body.find('\n', at);
    const std::string line = body.substr(at, nl - at);
    at = nl == std::string::npos ? body.size() : nl + 1;
    if (line.empty()) {
      if (any) out.push_back(f);
      f = {};
      any = false;
      continue;
    }
    if (line.front() == ':') continue;
    const auto colon = line.find(": ");
    const std::string key = line.substr(0, colon);
    const std::string value = colon == std::string::npos ? "" : line.substr(colon + 2);
    if (key == "event") f.event = value, any = true;
    if (key == "data") f.data = value, any = true;
    if (key == "id") f.id = value, any = true;
  }
  return out;
}

status_event change(std::string check, vitals::status from, vitals::status to,
                    std::string output = {}) {
  return status_event{.check = std::move(check),
                      .from = from,
                      .to = to,
                      .kind = to == vitals::status::fail ? vitals::failure_kind::refused
                                                         : vitals::failure_kind::none,
                      .time = std::chrono::system_clock::time_point{std::chrono::hours{480000}},
                      .output = std::move(output)};
}

TEST(EventFeed, IdsIncreaseFromTheCreationTimeAndResumeWithinTheBuffer) {
  const auto before =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  event_feed feed{3};
  const std::uint64_t start = feed.last_id();
  EXPECT_GE(start, before);  // an id of an earlier process is always older
  const auto a = feed.publish(change("db", vitals::status::unknown, vitals::status::pass));
  const auto b = feed.publish(change("db", vitals::status::pass, vitals::status::fail));
  EXPECT_EQ(a, start + 1);
  EXPECT_EQ(b, start + 2);
  EXPECT_EQ(feed.last_id(), b);

  auto p = feed.since(start, 10);
  ASSERT_EQ(p.events.size(), 2U);
  EXPECT_FALSE(p.missed);
  EXPECT_EQ(p.events[0].id, a);
  EXPECT_EQ(p.events[1].to, vitals::status::fail);
  EXPECT_EQ(p.last_id, b);

  p = feed.since(a, 10);
  ASSERT_EQ(p.events.size(), 1U);
  EXPECT_EQ(p.events[0].id, b);

  p = feed.since(b, 10);  // up to date
  EXPECT_TRUE(p.events.empty());
  EXPECT_FALSE(p.missed);
  EXPECT_EQ(p.last_id, b);

  p = feed.since(start, 1);  // a page, then the rest
  ASSERT_EQ(p.events.size(), 1U);
  EXPECT_TRUE(p.more);
  EXPECT_EQ(p.last_id, a);
}

TEST(EventFeed, AnIdTooOldOrNotOfThisFeedIsAMiss) {
  event_feed feed{2};
  const std::uint64_t start = feed.last_id();
  for (int i = 0; i < 5; ++i) {
    feed.publish(change("db", vitals::status::pass, vitals::status::fail));
  }
  const std::uint64_t last = feed.last_id();
  // Only the last two are kept: resuming after the second means three were dropped.
  auto p = feed.since(start + 2, 10);
  EXPECT_TRUE(p.missed);
  EXPECT_TRUE(p.events.empty());
  EXPECT_EQ(p.last_id, last);
  // After the third: the fourth and fifth are there.
  p = feed.since(start + 3, 10);
  EXPECT_FALSE(p.missed);
  EXPECT_EQ(p.events.size(), 2U);
  // An id of an earlier process, and one never handed out.
  EXPECT_TRUE(feed.since(start - 1000, 10).missed);
  EXPECT_TRUE(feed.since(last + 1, 10).missed);
  EXPECT_TRUE(feed.since(0, 10).missed);
}

TEST(EventFeed, SubscribersAreWokenUntilTheirHandleGoes) {
  event_feed feed;
  std::atomic<int> woken{0};
  {
    const auto sub = feed.subscribe([&woken] { ++woken; });
    feed.publish(change("a", vitals::status::unknown, vitals::status::pass));
    feed.publish(change("a", vitals::status::pass, vitals::status::fail));
    EXPECT_EQ(woken.load(), 2);
  }
  feed.publish(change("a", vitals::status::fail, vitals::status::pass));
  EXPECT_EQ(woken.load(), 2);
}

TEST(EventFeed, ObservesTransitionsOfAService) {
  auto feed = std::make_shared<event_feed>();
  vitals_test::rig rig;
  auto& db = rig.add("db", vitals::pass());
  rig.start({.events = feed}, {}, {feed});
  const std::uint64_t start = feed->last_id();
  rig.run();  // unknown -> pass
  db.set(vitals::fail("connection refused", vitals::failure_kind::refused));
  rig.run();  // pass -> fail
  // Observers are fed on their own thread: bounded wait for the two events.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while (feed->last_id() < start + 2 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  const auto p = feed->since(start, 10);
  ASSERT_EQ(p.events.size(), 2U);
  EXPECT_EQ(p.events[0].check, "db");
  EXPECT_EQ(p.events[0].from, vitals::status::unknown);
  EXPECT_EQ(p.events[0].to, vitals::status::pass);
  EXPECT_EQ(p.events[1].to, vitals::status::fail);
  EXPECT_EQ(p.events[1].kind, vitals::failure_kind::refused);
  EXPECT_EQ(p.events[1].output, "connection refused");
}

class api_events : public testing::Test {
 protected:
  void SetUp() override {
    rig_.add("app", vitals::pass());
    catalog_->set({{"web.shop", {.group = "web", .labels = {{"team", "shop"}}}}});
    rig_.start({.token = "t0k3n-value", .targets = catalog_, .events = feed_});
    start_ = feed_->last_id();
  }
  [[nodiscard]] vitals::http::response get(std::string_view target,
                                           std::string_view last_event_id = {},
                                           std::string_view auth = {}) const {
    std::vector<vitals::http::header> headers;
    if (!last_event_id.empty()) headers.push_back({"Last-Event-ID", last_event_id});
    return rig_.get(target, auth, "GET", headers);
  }

  std::shared_ptr<event_feed> feed_ = std::make_shared<event_feed>();
  std::shared_ptr<vitals::http::target_catalog> catalog_ =
      std::make_shared<vitals::http::target_catalog>();
  vitals_test::rig rig_;
  std::uint64_t start_ = 0;
};

TEST_F(api_events, AFreshClientGetsTheNewestIdAndNoBacklog) {
  feed_->publish(change("web.shop", vitals::status::unknown, vitals::status::pass));
  const auto r = get("/api/v1/events");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(vitals_test::header_of(r, "Content-Type"), "text/event-stream");
  EXPECT_EQ(vitals_test::header_of(r, "Cache-Control"), "no-store");
  EXPECT_EQ(vitals_test::header_of(r, "X-Accel-Buffering"), "no");
  EXPECT_THAT(r.body, testing::StartsWith("retry: 2000\n\n"));
  const auto f = frames_of(r.body);
  ASSERT_EQ(f.size(), 1U);
  EXPECT_EQ(f[0].event, "ready");
  EXPECT_EQ(f[0].id, std::to_string(start_ + 1));
  EXPECT_EQ(json::parse(f[0].data),
            json::parse(R"({"last_id":)" + std::to_string(start_ + 1) + R"(,"missed":false})"));
}

TEST_F(api_events, LastEventIdResumesWithWhatWasMissed) {
  const auto a = feed_->publish(change("web.shop", vitals::status::unknown, vitals::status::pass));
  const auto b = feed_->publish(change("web.shop", vitals::status::pass, vitals::status::fail,
                                       "refused by postgres://app:s3cr3t@db/app"));
  const auto r = get("/api/v1/events", std::to_string(a));
  ASSERT_EQ(r.status, 200);
  const auto f = frames_of(r.body);
  ASSERT_EQ(f.size(), 2U);
  EXPECT_EQ(f[0].event, "status");
  EXPECT_EQ(f[0].id, std::to_string(b));
  const json e = json::parse(f[0].data);
  EXPECT_EQ(e["id"], b);
  EXPECT_EQ(e["target"], "web.shop");
  EXPECT_EQ(e["group"], "web");
  EXPECT_EQ(e["status"], "fail");
  EXPECT_EQ(e["previous"], "pass");
  EXPECT_EQ(e["kind"], "refused");
  EXPECT_EQ(e["time"], "2024-10-04T00:00:00.000Z");
  EXPECT_FALSE(e.contains("output"));  // anonymous
  EXPECT_EQ(f[1].event, "ready");
  EXPECT_EQ(f[1].id, std::to_string(b));

  // The query parameter, for a first connection that resumes (EventSource sends no header
  // then); the header wins when both are there (a reconnect of that EventSource).
  const auto q = get("/api/v1/events?last_event_id=" + std::to_string(start_));
  EXPECT_EQ(frames_of(q.body).size(), 3U);
  const auto both =
      get("/api/v1/events?last_event_id=" + std::to_string(start_), std::to_string(b));
  EXPECT_EQ(frames_of(both.body).size(), 1U);
}

TEST_F(api_events, OutputsAreForTheTokenHolderAndScrubbed) {
  const auto b = feed_->publish(change("app", vitals::status::pass, vitals::status::fail,
                                       "refused by postgres://app:s3cr3t@db/app with t0k3n-value"));
  const auto r = get("/api/v1/events", std::to_string(b - 1), "Bearer t0k3n-value");
  const auto f = frames_of(r.body);
  ASSERT_EQ(f.size(), 2U);
  const json e = json::parse(f[0].data);
  ASSERT_TRUE(e.contains("output"));
  EXPECT_THAT(e["output"].get<std::string>(), HasSubstr("refused by postgres://app:***@db/app"));
  EXPECT_THAT(r.body, Not(HasSubstr("s3cr3t")));
  EXPECT_THAT(r.body, Not(HasSubstr("t0k3n-value")));
  EXPECT_FALSE(e.contains("group"));  // not a target of a group
}

TEST_F(api_events, AnIdThatCannotBeResumedSaysMissed) {
  feed_->publish(change("app", vitals::status::unknown, vitals::status::pass));
  for (const std::string& id :
       {std::string{"12"}, std::string{"not-a-number"}, std::to_string(feed_->last_id() + 5)}) {
    const auto r = get("/api/v1/events", id);
    ASSERT_EQ(r.status, 200) << id;
    const auto f = frames_of(r.body);
    ASSERT_EQ(f.size(), 1U) << id;
    EXPECT_EQ(f[0].event, "ready");
    EXPECT_EQ(json::parse(f[0].data)["missed"], true) << id;
    EXPECT_EQ(f[0].id, std::to_string(feed_->last_id()));
  }
}

TEST_F(api_events, ABadQueryIs400AndHeadHasNoBody) {
  EXPECT_EQ(get("/api/v1/events?last_event_id=x1").status, 400);
  EXPECT_EQ(get("/api/v1/events?last_event_id=%zz").status, 400);
  const auto head = rig_.get("/api/v1/events", {}, "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_GT(head.content_length, 0U);
  EXPECT_EQ(rig_.get("/api/v1/events", {}, "POST").status, 405);
}

TEST_F(api_events, AStreamingTransportTakesAPlaceOrGets503) {
  // What the built-in server does: offer places; the route takes one per stream.
  vitals::http::detail::stream_slots slots;
  slots.cap = 1;
  const auto& impl = vitals::http::detail::handler_access::of(rig_.handler());
  const vitals::http::detail::serve_extras extras{.streams = &slots};
  const auto first = impl.serve("GET", "/api/v1/events", "", false, {}, false, extras);
  EXPECT_EQ(first.status, 200);
  EXPECT_TRUE(first.stream);
  EXPECT_EQ(first.stream_after, feed_->last_id());
  EXPECT_EQ(slots.open.load(), 1U);
  const auto second = impl.serve("GET", "/api/v1/events", "", false, {}, false, extras);
  EXPECT_EQ(second.status, 503);
  EXPECT_FALSE(second.stream);
  EXPECT_EQ(second.typed->headers.back().name, "Retry-After");
  EXPECT_EQ(slots.refused.load(), 1U);
  slots.give_back();
  EXPECT_TRUE(impl.serve("GET", "/api/v1/events", "", false, {}, false, extras).stream);
}

TEST(ApiEventsOff, WithoutAFeedThePathIs404) {
  vitals_test::rig rig;
  rig.add("app", vitals::pass());
  rig.start();
  EXPECT_EQ(rig.get("/api/v1/events").status, 404);
}

TEST(EventBatch, AStreamAheadOfTheBatchGetsOnlyWhatItLacks) {
  event_feed feed;
  const auto start = feed.last_id();
  for (int i = 0; i < 3; ++i) {
    feed.publish(
        change("a", vitals::status::pass, vitals::status::fail, "out" + std::to_string(i)));
  }
  const auto page = feed.since(start, 10);
  vitals::http::detail::event_batch batch;
  const vitals::redactor scrub;
  vitals::http::detail::render_batch(batch, scrub, nullptr, page.events);
  EXPECT_EQ(frames_of(std::string{batch.after(start, false)}).size(), 3U);
  EXPECT_EQ(frames_of(std::string{batch.after(start + 2, false)}).size(), 1U);
  EXPECT_EQ(batch.after(start + 3, true), "");
  EXPECT_THAT(std::string{batch.after(start + 2, true)}, HasSubstr("out2"));
  EXPECT_THAT(std::string{batch.after(start, false)}, Not(HasSubstr("out")));
}

TEST(EventId, DigitsOnly) {
  using vitals::http::detail::parse_event_id;
  EXPECT_EQ(parse_event_id("1733280000000123"), 1733280000000123U);
  EXPECT_FALSE(parse_event_id(""));
  EXPECT_FALSE(parse_event_id("-1"));
  EXPECT_FALSE(parse_event_id("12a"));
  EXPECT_FALSE(parse_event_id(" 12"));
  EXPECT_FALSE(parse_event_id("99999999999999999999999"));
}

}  // namespace
