// /api/v1/events on the built-in server: Server-Sent Events over real sockets. A real service
// whose check the test flips, the event feed as its observer, and raw HTTP clients that read
// the stream as a browser's EventSource would (chunks decoded, frames parsed).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server_fixture.hpp"
#include "vitals/http/events.hpp"

namespace vitals::test {
namespace {

struct frame {
  std::string event;
  std::string data;
  std::string id;
};

/// An EventSource-like reader on a raw connection: the head, then the body's chunks decoded and
/// its frames parsed as they arrive (comments skipped).
class stream_reader {
 public:
  stream_reader(std::uint16_t port, std::string_view extra_headers = {},
                std::string_view target = "/api/v1/events")
      : c_(port) {
    c_.send(get(target, std::string{"Accept: text/event-stream\r\n"} + std::string{extra_headers}));
  }
  explicit stream_reader(client c) : c_(std::move(c)) {}

  /// The answer's head once it arrived ("" if not within `timeout`).
  std::string head(std::chrono::milliseconds timeout = 3000ms) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!head_done_) {
      pump();
      if (head_done_) break;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left <= 0ms || c_.fill(left) != read_end::data) {
        pump();
        break;
      }
    }
    return head_done_ ? head_ : std::string{};
  }
  [[nodiscard]] int status() {
    const std::string h = head();
    return h.size() > 12 ? std::atoi(h.c_str() + 9) : 0;
  }
  /// Every frame received so far.
  const std::vector<frame>& frames() {
    pump();
    return frames_;
  }
  /// Waits until a frame matches `pred`; the first that does.
  template <class Pred>
  std::optional<frame> wait_for(Pred pred, std::chrono::milliseconds timeout = 5000ms) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    std::size_t seen = 0;
    for (;;) {
      pump();
      for (; seen < frames_.size(); ++seen) {
        if (pred(frames_[seen])) return frames_[seen];
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left <= 0ms) return std::nullopt;
      const read_end e = c_.fill(left);
      if (e != read_end::data) {
        pump();
        for (; seen < frames_.size(); ++seen) {
          if (pred(frames_[seen])) return frames_[seen];
        }
        return std::nullopt;
      }
    }
  }
  std::optional<frame> wait_event(std::string_view type, std::string_view data_has = {},
                                  std::chrono::milliseconds timeout = 5000ms) {
    return wait_for(
        [&](const frame& f) {
          return f.event == type && f.data.find(data_has) != std::string::npos;
        },
        timeout);
  }
  /// Waits for a comment line (a heartbeat).
  bool wait_comment(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      pump();
      if (comments_ > 0) return true;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left <= 0ms || c_.fill(left) != read_end::data) {
        pump();
        return comments_ > 0;
      }
    }
  }
  client& raw() { return c_; }

 private:
  void pump() {
    raw_ += c_.take_buffered();
    if (!head_done_) {
      const auto end = raw_.find("\r\n\r\n");
      if (end == std::string::npos) return;
      head_ = raw_.substr(0, end);
      raw_.erase(0, end + 4);
      chunked_ = head_.find("Transfer-Encoding: chunked") != std::string::npos;
      head_done_ = true;
    }
    if (chunked_) {
      for (;;) {
        const auto eol = raw_.find("\r\n");
        if (eol == std::string::npos) break;
        const std::size_t size = std::stoul(raw_.substr(0, eol), nullptr, 16);
        if (raw_.size() < eol + 2 + size + 2) break;
        text_.append(raw_, eol + 2, size);
        raw_.erase(0, eol + 2 + size + 2);
      }
    } else {
      text_ += raw_;
      raw_.clear();
    }
    std::size_t at = 0;
    for (;;) {
      const auto nl = text_.find('\n', at);
      if (nl == std::string::npos) break;
      const std::string_view line{text_.data() + at, nl - at};
      at = nl + 1;
      if (line.empty()) {
        if (any_) frames_.push_back(current_);
        current_ = {};
        any_ = false;
        continue;
      }
      if (line.front() == ':') {
        ++comments_;
        continue;
      }
      const auto colon = line.find(": ");
      const std::string_view key = line.substr(0, colon);
      std::string value{colon == std::string_view::npos ? "" : line.substr(colon + 2)};
      if (key == "event") {
        current_.event = std::move(value);
      } else if (key == "data") {
        current_.data = std::move(value);
      } else if (key == "id") {
        current_.id = std::move(value);
      } else {
        continue;
      }
      any_ = true;
    }
    text_.erase(0, at);
  }

  client c_;
  bool head_done_ = false;
  bool chunked_ = false;
  std::string head_{};
  std::string raw_{};
  std::string text_{};
  frame current_{};
  bool any_ = false;
  std::size_t comments_ = 0;
  std::vector<frame> frames_{};
};

class events_test : public ::testing::Test {
 protected:
  /// `keep`: the feed's capacity.
  void start(http::server_options o = {}, std::size_t keep = 4096) {
    feed_ = std::make_shared<http::event_feed>(keep);
    registry reg;
    reg.add("alive", [](const context&) { return pass(); },
            {.probes = live | ready | startup, .interval = 1s, .timeout = 500ms});
    reg.add("db",
            [up = up_](const context&) {
              return up->load() ? pass() : fail("connection refused", failure_kind::refused);
            },
            {.probes = {},
             .interval = 50ms,
             .timeout = 40ms,
             .failure_threshold = 1,
             .success_threshold = 1});
    svc_ = std::make_unique<service>(
        std::move(reg), service_options{.on_event = [](const event&) {}, .observers = {feed_}});
    svc_->start();
    ASSERT_TRUE(eventually([&] {
      const auto* db = svc_->current()->find("db");
      return db != nullptr && db->reported.status == status::pass;
    }));
    o.address = "127.0.0.1";
    o.port = 0;
    srv_ = std::make_unique<http::server>(*svc_, std::move(o),
                                          http::handler_options{.token = "tok", .events = feed_});
    srv_->start();
  }
  void TearDown() override {
    if (srv_) srv_->stop();
    if (svc_) svc_->stop();
  }
  [[nodiscard]] int probe(std::string_view path = "/livez") const {
    client c{srv_->port()};
    c.send(get(path));
    const auto r = c.read_reply();
    return r ? r->status : 0;
  }
  void set_db(bool up) { up_->store(up); }

  std::shared_ptr<std::atomic<bool>> up_ = std::make_shared<std::atomic<bool>>(true);
  std::shared_ptr<http::event_feed> feed_{};
  std::unique_ptr<service> svc_{};
  std::unique_ptr<http::server> srv_{};
};

TEST_F(events_test, streams_status_changes_as_they_happen) {
  start();
  stream_reader s{srv_->port()};
  const std::string head = s.head();
  ASSERT_FALSE(head.empty());
  EXPECT_EQ(head.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_NE(head.find("Content-Type: text/event-stream\r\n"), std::string::npos);
  EXPECT_NE((head + "\r\n").find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE((head + "\r\n").find("Cache-Control: no-store\r\n"), std::string::npos);
  EXPECT_EQ(head.find("Content-Length"), std::string::npos);
  const auto ready = s.wait_event("ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->id, std::to_string(feed_->last_id()));
  EXPECT_TRUE(eventually([&] { return srv_->stats().event_streams == 1; }));

  set_db(false);
  const auto down = s.wait_event("status", R"("status":"fail")");
  ASSERT_TRUE(down) << s.raw().buffered();
  EXPECT_NE(down->data.find(R"("target":"db")"), std::string::npos);
  EXPECT_NE(down->data.find(R"("previous":"pass")"), std::string::npos);
  EXPECT_NE(down->data.find(R"("kind":"refused")"), std::string::npos);
  EXPECT_EQ(down->data.find("connection refused"), std::string::npos);  // no token: no output
  // The stream never holds up the probes.
  EXPECT_EQ(probe("/livez"), 200);
  EXPECT_EQ(probe("/readyz"), 200);  // db is a monitored target (probes: [])

  set_db(true);
  const auto up = s.wait_event("status", R"("status":"pass")");
  ASSERT_TRUE(up);
  EXPECT_GT(std::stoull(up->id), std::stoull(down->id));
}

TEST_F(events_test, the_token_holder_sees_outputs) {
  start();
  stream_reader s{srv_->port(), "Authorization: Bearer tok\r\n"};
  ASSERT_TRUE(s.wait_event("ready"));
  set_db(false);
  const auto down = s.wait_event("status", R"("status":"fail")");
  ASSERT_TRUE(down);
  EXPECT_NE(down->data.find(R"("output":"connection refused")"), std::string::npos);
}

TEST_F(events_test, a_reconnect_with_last_event_id_gets_what_it_missed) {
  start();
  std::string last;
  {
    stream_reader s{srv_->port()};
    const auto ready = s.wait_event("ready");
    ASSERT_TRUE(ready);
    last = ready->id;
  }
  const std::uint64_t from = std::stoull(last);
  set_db(false);
  ASSERT_TRUE(eventually([&] { return feed_->last_id() >= from + 1; }));
  set_db(true);
  ASSERT_TRUE(eventually([&] { return feed_->last_id() >= from + 2; }));

  stream_reader again{srv_->port(), "Last-Event-ID: " + last + "\r\n"};
  const auto ready = again.wait_event("ready");
  ASSERT_TRUE(ready);
  const auto f = again.frames();
  ASSERT_GE(f.size(), 3U);
  EXPECT_EQ(f[0].event, "status");
  EXPECT_EQ(f[0].id, std::to_string(from + 1));
  EXPECT_NE(f[0].data.find(R"("status":"fail")"), std::string::npos);
  EXPECT_EQ(f[1].id, std::to_string(from + 2));
  EXPECT_NE(f[1].data.find(R"("status":"pass")"), std::string::npos);
  EXPECT_NE(ready->data.find(R"("missed":false)"), std::string::npos);

  // An id from before this process (or garbage): told to refetch, then live again.
  stream_reader stranger{srv_->port(), "Last-Event-ID: 42\r\n"};
  const auto missed = stranger.wait_event("ready");
  ASSERT_TRUE(missed);
  EXPECT_NE(missed->data.find(R"("missed":true)"), std::string::npos);
  set_db(false);
  EXPECT_TRUE(stranger.wait_event("status", R"("status":"fail")"));
}

TEST_F(events_test, a_quiet_stream_gets_heartbeats) {
  start({.event_heartbeat = 300ms});
  stream_reader s{srv_->port()};
  ASSERT_TRUE(s.wait_event("ready"));
  EXPECT_TRUE(s.wait_comment(3s));
}

TEST_F(events_test, the_cap_answers_503_and_a_closed_stream_gives_its_place_back) {
  start({.max_event_streams = 2});
  auto a = std::make_unique<stream_reader>(srv_->port());
  stream_reader b{srv_->port()};
  ASSERT_TRUE(a->wait_event("ready"));
  ASSERT_TRUE(b.wait_event("ready"));
  {
    client c{srv_->port()};
    c.send(get("/api/v1/events"));
    const auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(r->header("Retry-After"), "5");
  }
  EXPECT_EQ(srv_->stats().event_streams_refused, 1U);
  EXPECT_EQ(probe(), 200);  // the streams take places of their own, not the probes'
  a.reset();                // the client goes away: noticed at once (a read is always pending)
  ASSERT_TRUE(eventually([&] { return srv_->stats().event_streams == 1; }, 2000ms));
  stream_reader c{srv_->port()};
  EXPECT_EQ(c.status(), 200);
  EXPECT_TRUE(c.wait_event("ready"));
}

TEST_F(events_test, streams_are_capped_at_half_the_connections) {
  start({.max_connections = 4, .max_event_streams = 64});
  stream_reader a{srv_->port()};
  stream_reader b{srv_->port()};
  ASSERT_EQ(a.status(), 200);
  ASSERT_EQ(b.status(), 200);
  stream_reader c{srv_->port()};
  EXPECT_EQ(c.status(), 503);
  // Two streams, a refused one closing: the other places are there for probes.
  EXPECT_EQ(probe(), 200);
}

TEST_F(events_test, a_consumer_that_does_not_read_is_dropped_not_buffered) {
  start({}, 256);
  // A client with a small receive buffer that never reads, and one that does.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(srv_->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string request =
      get("/api/v1/events", "Authorization: Bearer tok\r\nAccept: text/event-stream\r\n");
  ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  stream_reader reader{srv_->port(), "Authorization: Bearer tok\r\n"};
  ASSERT_TRUE(reader.wait_event("ready"));
  ASSERT_TRUE(eventually([&] { return srv_->stats().event_streams == 2; }));

  // 1,000 changes with 2 KiB outputs, published as fast as the reading client takes them:
  // the stalled client falls more than the feed's 256 behind and is closed, holding no more
  // than one write's bytes meanwhile.
  const std::string output(2048, 'x');
  std::uint64_t last = 0;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 50; ++i) {
      last = feed_->publish({.check = "db",
                             .from = status::pass,
                             .to = status::fail,
                             .kind = failure_kind::refused,
                             .output = output});
    }
    ASSERT_TRUE(reader.wait_for([&](const frame& f) { return f.id == std::to_string(last); }))
        << "round " << round;
  }
  EXPECT_TRUE(eventually([&] { return srv_->stats().event_streams_dropped == 1; }, 5s));
  EXPECT_TRUE(eventually([&] { return srv_->stats().event_streams == 1; }, 5s));
  // The reader got every one of them, in order, and the server kept answering.
  const auto frames = reader.frames();
  std::uint64_t previous = 0;
  std::size_t statuses = 0;
  for (const frame& f : frames) {
    if (f.event != "status") continue;
    ++statuses;
    const std::uint64_t id = std::stoull(f.id);
    if (previous != 0) {
      EXPECT_EQ(id, previous + 1);
    }
    previous = id;
  }
  EXPECT_EQ(statuses, 1000U);
  EXPECT_EQ(probe(), 200);
  ::close(fd);
}

TEST_F(events_test, http_1_0_streams_until_the_connection_closes) {
  start();
  client c{srv_->port()};
  c.send("GET /api/v1/events HTTP/1.0\r\n\r\n");
  stream_reader s{std::move(c)};
  const std::string head = s.head();
  EXPECT_NE((head + "\r\n").find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos);
  ASSERT_TRUE(s.wait_event("ready"));
  set_db(false);
  EXPECT_TRUE(s.wait_event("status", R"("status":"fail")"));
}

TEST_F(events_test, requests_pipelined_before_the_stream_are_answered_first) {
  start();
  client c{srv_->port()};
  c.send(get("/livez") + get("/api/v1/events") + get("/readyz"));
  const auto live = c.read_reply();
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  stream_reader s{std::move(c)};
  EXPECT_EQ(s.status(), 200);
  EXPECT_TRUE(s.wait_event("ready"));
}

TEST_F(events_test, head_is_answered_without_streaming) {
  start();
  client c{srv_->port()};
  c.send(get("/api/v1/events", {}, "HEAD"));
  const auto r = c.read_reply(true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->header("Content-Length").has_value());
  EXPECT_EQ(srv_->stats().event_streams, 0U);
  EXPECT_EQ(probe(), 200);
}

TEST_F(events_test, stopping_the_server_ends_every_stream) {
  start();
  stream_reader a{srv_->port()};
  stream_reader b{srv_->port()};
  ASSERT_TRUE(a.wait_event("ready"));
  ASSERT_TRUE(b.wait_event("ready"));
  srv_->stop();
  EXPECT_TRUE(a.raw().wait_closed(3s));
  EXPECT_TRUE(b.raw().wait_closed(3s));
  EXPECT_EQ(srv_->stats().event_streams, 0U);
}

TEST_F(events_test, the_metrics_count_streams) {
  start({.max_event_streams = 3});
  stream_reader s{srv_->port()};
  ASSERT_TRUE(s.wait_event("ready"));
  client c{srv_->port()};
  c.send(get("/metrics", "Authorization: Bearer tok\r\n"));
  const auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("vitals_http_event_streams 1\n"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("vitals_http_event_streams_max 3\n"), std::string::npos);
  EXPECT_NE(r->body.find(R"(vitals_http_event_streams_closed_total{reason="slow"} 0)"),
            std::string::npos);
}

}  // namespace
}  // namespace vitals::test
