// Load client of bench/grpc/run.sh (ghz is not packaged): grpc.health.v1 against any server.
//
//   grpc_health_bench check --target 127.0.0.1:P [--clients 16] [--seconds 5] [--service ""]
//       N client threads, each with a channel (connection) of its own, calling Check back to
//       back (sync stub) for the duration after 1 s of warm-up; prints requests/s, p50, p99.
//   grpc_health_bench watch --target 127.0.0.1:P --pid SERVER_PID [--streams 1000]
//       opens N Watch streams (10 connections), waits for every first message, and prints the
//       server's VmRSS and Threads (/proc/PID/status) before and with the streams open.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"

namespace {

namespace hv1 = grpc::health::v1;
using clk = std::chrono::steady_clock;

std::shared_ptr<grpc::Channel> channel(const std::string& target, int id) {
  grpc::ChannelArguments args;
  args.SetInt("vitals.bench.channel", id);  // a connection of its own
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

struct figures {
  long rss_kib = -1;
  long threads = -1;
};
figures figures_of(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/status");
  figures f;
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") in >> f.rss_kib;
    if (key == "Threads:") in >> f.threads;
    std::string rest;
    std::getline(in, rest);
  }
  return f;
}

int run_check(const std::string& target, int clients, int seconds, const std::string& service) {
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::atomic<long> errors{0};
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(clients));
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto stub = hv1::Health::NewStub(channel(target, c));
      hv1::HealthCheckRequest req;
      req.set_service(service);
      auto& mine = lat[static_cast<std::size_t>(c)];
      mine.reserve(1 << 20);
      while (!stop.load(std::memory_order_relaxed)) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds{5});
        hv1::HealthCheckResponse resp;
        const auto t0 = clk::now();
        const grpc::Status s = stub->Check(&ctx, req, &resp);
        const auto t1 = clk::now();
        if (!s.ok() || resp.status() != hv1::HealthCheckResponse::SERVING) {
          errors.fetch_add(1, std::memory_order_relaxed);
        }
        if (measuring.load(std::memory_order_relaxed)) {
          mine.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds{1});
  errors = 0;
  measuring = true;
  const auto start = clk::now();
  std::this_thread::sleep_for(std::chrono::seconds{seconds});
  measuring = false;
  const double elapsed = std::chrono::duration<double>(clk::now() - start).count();
  stop = true;
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  const auto pct = [&](double p) {
    return all.empty() ? 0.0
                       : all[std::min(all.size() - 1, static_cast<std::size_t>(p * all.size()))];
  };
  std::printf(
      "check clients=%d requests=%zu rps=%.0f p50_us=%.0f p99_us=%.0f max_us=%.0f errors=%ld\n",
      clients, all.size(), static_cast<double>(all.size()) / elapsed, pct(0.50), pct(0.99),
      all.empty() ? 0.0 : all.back(), errors.load());
  return errors.load() == 0 ? 0 : 1;
}

class watcher final : public grpc::ClientReadReactor<hv1::HealthCheckResponse> {
 public:
  watcher(hv1::Health::Stub& stub, std::atomic<int>& first, std::condition_variable& cv)
      : first_(first), cv_(cv) {
    stub.async()->Watch(&ctx_, &req_, this);
    StartRead(&msg_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (!got_) {
      got_ = true;
      first_.fetch_add(1);
      cv_.notify_all();
    }
    StartRead(&msg_);
  }
  void OnDone(const grpc::Status&) override {
    std::lock_guard lk(mu_);
    done_ = true;
    done_cv_.notify_all();
  }
  void cancel_and_wait() {
    ctx_.TryCancel();
    std::unique_lock lk(mu_);
    done_cv_.wait_for(lk, std::chrono::seconds{10}, [this] { return done_; });
  }

 private:
  grpc::ClientContext ctx_;
  hv1::HealthCheckRequest req_;
  hv1::HealthCheckResponse msg_;
  std::atomic<int>& first_;
  std::condition_variable& cv_;
  bool got_ = false;
  std::mutex mu_;
  std::condition_variable done_cv_;
  bool done_ = false;
};

int run_watch(const std::string& target, int streams, const std::string& pid) {
  std::vector<std::unique_ptr<hv1::Health::Stub>> stubs;
  for (int c = 0; c < 10; ++c) stubs.push_back(hv1::Health::NewStub(channel(target, 100 + c)));
  // One Check per connection first, so the baseline includes the connections themselves.
  for (auto& s : stubs) {
    grpc::ClientContext ctx;
    hv1::HealthCheckRequest req;
    hv1::HealthCheckResponse resp;
    static_cast<void>(s->Check(&ctx, req, &resp));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds{500});
  const figures before = figures_of(pid);
  std::atomic<int> first{0};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<watcher>> ws;
  const auto t0 = clk::now();
  for (int i = 0; i < streams; ++i) {
    ws.push_back(std::make_unique<watcher>(*stubs[static_cast<std::size_t>(i % 10)], first, cv));
  }
  {
    std::unique_lock lk(mu);
    cv.wait_for(lk, std::chrono::seconds{30}, [&] { return first.load() >= streams; });
  }
  const double open_ms = std::chrono::duration<double, std::milli>(clk::now() - t0).count();
  std::this_thread::sleep_for(std::chrono::seconds{1});
  const figures open = figures_of(pid);
  std::printf(
      "watch streams=%d answered=%d open_ms=%.0f rss_before_kib=%ld rss_open_kib=%ld "
      "per_stream_kib=%.1f threads_before=%ld threads_open=%ld\n",
      streams, first.load(), open_ms, before.rss_kib, open.rss_kib,
      static_cast<double>(open.rss_kib - before.rss_kib) / streams, before.threads, open.threads);
  for (auto& w : ws) w->cancel_and_wait();
  return first.load() >= streams ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: grpc_health_bench check|watch --target HOST:PORT ...\n");
    return 64;
  }
  const std::string mode = argv[1];
  std::string target;
  std::string service;
  std::string pid;
  int clients = 16;
  int seconds = 5;
  int streams = 1000;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const std::string v = argv[i + 1];
    if (k == "--target")
      target = v;
    else if (k == "--service")
      service = v;
    else if (k == "--pid")
      pid = v;
    else if (k == "--clients")
      clients = std::stoi(v);
    else if (k == "--seconds")
      seconds = std::stoi(v);
    else if (k == "--streams")
      streams = std::stoi(v);
  }
  if (target.empty()) return 64;
  if (mode == "check") return run_check(target, clients, seconds, service);
  if (mode == "watch" && !pid.empty()) return run_watch(target, streams, pid);
  return 64;
}
