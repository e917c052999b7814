// The vitals gRPC health server (a process of its own: vitals_grpc_test_server) under Watch
// load: clients that never read while checks flap, 1,000 concurrent streams, shutdown with all
// of them open. Its threads and memory are read from /proc/<pid>/status.

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "grpc_support.hpp"

namespace {

using namespace std::chrono_literals;
using namespace vitals::grpc::testing;

// ASan keeps freed memory in its quarantine: RSS measures nothing there (LeakSanitizer and the
// plain build cover it), as in the HTTP server's tests. Threads and answers are checked anyway.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool rss_is_meaningful = false;
#else
constexpr bool rss_is_meaningful = true;
#endif

struct server_process {
  child_process proc{{VITALS_GRPC_TEST_SERVER}};
  std::string target;
  server_process() {
    const std::string first = proc.read_line();
    EXPECT_EQ(first.rfind("port ", 0), 0U) << first;
    target = "127.0.0.1:" + first.substr(5);
  }
  void ask_ok(const std::string& cmd) { ASSERT_EQ(proc.ask(cmd, 60s), "ok") << cmd; }
};

// A channel that lets the server write little before its writes stall: the window the client
// announces is small and does not grow (no BDP probing).
std::shared_ptr<::grpc::Channel> small_window_channel(const std::string& target, int id) {
  ::grpc::ChannelArguments args;
  args.SetInt("vitals.test.channel", id);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  return ::grpc::CreateCustomChannel(target, ::grpc::InsecureChannelCredentials(), args);
}

TEST(GrpcHealthLoad, WatchersThatNeverReadCostNothingAndBlockNoOne) {
  server_process s;
  auto idle_channel = small_window_channel(s.target, 1);
  auto idle_stub = hv1::Health::NewStub(idle_channel);
  auto stub = hv1::Health::NewStub(make_channel(s.target, ::grpc::InsecureChannelCredentials(), 2));
  std::vector<std::unique_ptr<watch_stream>> idle;
  idle.reserve(50);
  for (int i = 0; i < 50; ++i) {
    idle.push_back(std::make_unique<watch_stream>(*idle_stub, i % 2 == 0 ? "" : "db", "", false));
  }
  watch_stream reader{*stub, "db"};
  ASSERT_TRUE(reader.wait_last(SERVING));
  s.ask_ok("flap db 20");  // warm up: allocations that stay
  ASSERT_TRUE(reader.wait_last(SERVING));
  const proc_figures before = figures_of(s.proc.pid());

  for (int round = 0; round < 10; ++round) {
    s.ask_ok("flap db 40");
    // Another client is answered at once and sees the latest status while 50 streams are stuck.
    const auto t0 = std::chrono::steady_clock::now();
    const auto a = check(*stub, "db");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
    EXPECT_EQ(a.status, SERVING);
    EXPECT_TRUE(reader.wait_last(SERVING));
  }
  const proc_figures after = figures_of(s.proc.pid());
  std::cout << "[ figures  ] 50 unread Watch streams, 400 flaps: RSS " << before.rss_kib << " -> "
            << after.rss_kib << " KiB, threads " << before.threads << " -> " << after.threads
            << "\n";
  if (rss_is_meaningful) {
    EXPECT_LT(after.rss_kib - before.rss_kib, 4 * 1024);
  }
  EXPECT_LE(after.threads, before.threads + 4);  // gRPC's pool may add a thread or two
  const auto seen = reader.messages();
  EXPECT_TRUE(no_duplicates(seen));
  EXPECT_EQ(seen.back(), SERVING);

  idle.clear();
  s.ask_ok("stop");
  EXPECT_EQ(s.proc.wait_exit(), 0);
}

TEST(GrpcHealthLoad, SlowReaderGetsTheNewestStatusNotABacklog) {
  server_process s;
  // The server's writes to this stream stall after a few messages: it keeps one pending status.
  auto stub = hv1::Health::NewStub(small_window_channel(s.target, 1));
  struct delayed final : ::grpc::ClientReadReactor<hv1::HealthCheckResponse> {
    ::grpc::ClientContext ctx;
    hv1::HealthCheckRequest req;
    hv1::HealthCheckResponse msg;
    std::mutex mu;
    std::condition_variable cv;
    std::vector<serving> got;
    bool done = false;
    explicit delayed(hv1::Health::Stub& stub) {
      req.set_service("db");
      stub.async()->Watch(&ctx, &req, this);
      StartCall();
    }
    void read() { StartRead(&msg); }
    void OnReadDone(bool ok) override {
      if (!ok) return;
      {
        std::lock_guard lk(mu);
        got.push_back(msg.status());
      }
      cv.notify_all();
      StartRead(&msg);
    }
    void OnDone(const ::grpc::Status&) override {
      std::lock_guard lk(mu);
      done = true;
      cv.notify_all();
    }
  } slow{*stub};
  s.ask_ok("flap db 301");  // ends at fail
  slow.read();
  {
    std::unique_lock lk(slow.mu);
    ASSERT_TRUE(slow.cv.wait_for(
        lk, 10s, [&] { return !slow.got.empty() && slow.got.back() == NOT_SERVING; }));
  }
  std::this_thread::sleep_for(300ms);  // anything still buffered arrives
  std::vector<serving> got;
  {
    std::lock_guard lk(slow.mu);
    got = slow.got;
  }
  std::cout << "[ figures  ] slow reader: " << got.size() << " messages for 302 statuses\n";
  EXPECT_LT(got.size(), 200U);  // coalesced: the stalled writes were not queued
  EXPECT_TRUE(no_duplicates(got));
  EXPECT_EQ(got.back(), NOT_SERVING);
  s.ask_ok("stop");
  std::unique_lock lk(slow.mu);
  EXPECT_TRUE(slow.cv.wait_for(lk, 10s, [&] { return slow.done; }));
}

TEST(GrpcHealthLoad, AThousandWatchStreamsWhileChecksFlap) {
  server_process s;
  const proc_figures idle = figures_of(s.proc.pid());
  constexpr int channels = 10;
  constexpr int per_channel = 100;
  const std::vector<std::string> names{"", "db", "readiness", "liveness", "cache"};
  std::vector<std::unique_ptr<hv1::Health::Stub>> stubs;
  stubs.reserve(channels);
  for (int c = 0; c < channels; ++c) {
    stubs.push_back(
        hv1::Health::NewStub(make_channel(s.target, ::grpc::InsecureChannelCredentials(), c)));
  }
  std::vector<std::unique_ptr<watch_stream>> ws;
  std::vector<std::string> watched;
  for (int i = 0; i < channels * per_channel; ++i) {
    watched.push_back(names[static_cast<std::size_t>(i) % names.size()]);
    ws.push_back(std::make_unique<watch_stream>(*stubs[static_cast<std::size_t>(i % channels)],
                                                watched.back()));
  }
  for (auto& w : ws) ASSERT_TRUE(w->wait_last(SERVING));
  s.ask_ok("flap db 10");  // warm up
  for (auto& w : ws) ASSERT_TRUE(w->wait_last(SERVING));
  const proc_figures open = figures_of(s.proc.pid());

  s.ask_ok("flap db 60");
  s.ask_ok("set cache fail");
  s.ask_ok("flap db 61");  // ends at fail
  for (std::size_t i = 0; i < ws.size(); ++i) {
    const bool db_down = watched[i] == "" || watched[i] == "db" || watched[i] == "readiness";
    const bool down = db_down || watched[i] == "cache";
    EXPECT_TRUE(ws[i]->wait_last(down ? NOT_SERVING : SERVING)) << i << " " << watched[i];
    EXPECT_TRUE(no_duplicates(ws[i]->messages())) << i;
  }
  const proc_figures flapped = figures_of(s.proc.pid());
  std::cout << "[ figures  ] 1000 Watch streams: threads idle " << idle.threads << ", open "
            << open.threads << ", after 121 flaps " << flapped.threads << "; RSS idle "
            << idle.rss_kib << " KiB, open " << open.rss_kib << " KiB, after " << flapped.rss_kib
            << " KiB\n";
  // No thread per stream: gRPC's callback pool grows by a few threads under load, to its own
  // bound, whatever the number of streams.
  EXPECT_LE(open.threads, idle.threads + 8);
  EXPECT_LE(flapped.threads, idle.threads + 10);
  if (rss_is_meaningful) {
    EXPECT_LT(flapped.rss_kib - open.rss_kib, 8 * 1024);
  }

  // Shutdown with every stream open: a final NOT_SERVING for each, then OK.
  s.ask_ok("set db pass");
  s.ask_ok("set cache pass");
  for (auto& w : ws) ASSERT_TRUE(w->wait_last(SERVING));
  const auto t0 = std::chrono::steady_clock::now();
  s.ask_ok("stop");
  std::cout << "[ figures  ] stop with 1000 streams open: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - t0)
                   .count()
            << " ms\n";
  for (auto& w : ws) {
    ASSERT_TRUE(w->wait_done());
    EXPECT_EQ(w->final_status().error_code(), ::grpc::StatusCode::OK);
    EXPECT_EQ(w->messages().back(), NOT_SERVING);
    EXPECT_TRUE(no_duplicates(w->messages()));
  }
  EXPECT_EQ(s.proc.wait_exit(), 0);
}

}  // namespace
