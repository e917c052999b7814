#pragma once
// The fault scenarios every data-store check goes through, against a real vitals::service and
// a real vitals::http::server on loopback, with the real clock (short intervals and timeouts).

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "db_support.hpp"
#include "server_client.hpp"
#include "vitals/http/server.hpp"
#include "vitals/registry.hpp"
#include "vitals/service.hpp"

namespace vitals::test {

/// A service with one check "dep" behind the built-in server (port 0), capturing every event.
class probed_service {
 public:
  probed_service(std::shared_ptr<vitals::check> c, vitals::check_options options,
                 std::string token = "fault-test-token")
      : token_(std::move(token)) {
    vitals::registry reg;
    reg.add("dep", std::move(c), std::move(options));
    svc_ = std::make_unique<vitals::service>(
        std::move(reg), vitals::service_options{.on_event = [this](const vitals::event& e) {
          const std::lock_guard lock(mu_);
          events_.push_back(e);
        }});
    svc_->start();
    http_ = std::make_unique<vitals::http::server>(
        *svc_, vitals::http::server_options{.address = "127.0.0.1", .port = 0},
        vitals::http::handler_options{.token = token_});
    http_->start();
  }
  ~probed_service() {
    http_->stop();
    svc_->stop();
  }
  probed_service(const probed_service&) = delete;
  probed_service& operator=(const probed_service&) = delete;

  [[nodiscard]] std::uint16_t port() const { return http_->port(); }
  [[nodiscard]] vitals::check_state state() const { return *svc_->current()->find("dep"); }

  /// Waits (bounded) until the reported result satisfies `pred`.
  bool wait_reported(const std::function<bool(const vitals::result&)>& pred,
                     std::chrono::milliseconds timeout) const {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (pred(state().reported)) return true;
      std::this_thread::sleep_for(5ms);
    }
    return pred(state().reported);
  }

  /// One GET on a fresh connection (with the bearer token if asked).
  http_reply get(const std::string& target, bool authorized = false) const {
    client c{port()};
    c.send(vitals::test::get(target, authorized ? "Authorization: Bearer " + token_ + "\r\n" : ""));
    auto r = c.read_reply(false, 2000ms);
    return r ? *r : http_reply{};
  }

  std::string event_log() const {
    const std::lock_guard lock(mu_);
    std::string all;
    for (const auto& e : events_) all += e.check + " " + e.message + "\n";
    return all;
  }

 private:
  std::string token_;
  mutable std::mutex mu_;
  std::vector<vitals::event> events_;
  std::unique_ptr<vitals::service> svc_;
  std::unique_ptr<vitals::http::server> http_;
};

inline bool is_pass(const vitals::result& r) { return r.status == vitals::status::pass; }
inline bool is_timeout(const vitals::result& r) {
  return r.status == vitals::status::fail && r.kind == vitals::failure_kind::timeout;
}

/// Server frozen with SIGSTOP: the check reports `timeout` at its deadline, /readyz keeps
/// answering fast, threads and sockets stay flat over 50 intervals, and after SIGCONT the check
/// recovers within its success threshold.
inline void frozen_server_scenario(std::shared_ptr<vitals::check> c,
                                   const std::function<std::vector<pid_t>()>& pids_to_freeze) {
  constexpr auto interval = 100ms;
  constexpr auto timeout = 50ms;
  constexpr int success_threshold = 2;
  probed_service s{std::move(c),
                   {.interval = interval,
                    .timeout = timeout,
                    .jitter = 0.0,
                    .success_threshold = success_threshold}};
  ASSERT_TRUE(s.wait_reported(is_pass, 5s)) << s.state().reported.output;
  client probe{s.port()};
  auto timed_readyz = [&](int& status) {
    const auto t0 = std::chrono::steady_clock::now();
    probe.send(vitals::test::get("/readyz"));
    const auto r = probe.read_reply(false, 1000ms);
    status = r ? r->status : 0;
    return std::chrono::steady_clock::now() - t0;
  };
  int code = 0;
  (void)timed_readyz(code);
  ASSERT_EQ(code, 200);

  std::vector<std::chrono::nanoseconds> latencies;
  std::vector<int> threads, sockets;
  std::chrono::nanoseconds recovery{};
  {
    frozen freeze{pids_to_freeze()};
    const auto frozen_at = std::chrono::steady_clock::now();
    ASSERT_TRUE(s.wait_reported(is_timeout, 3s))
        << vitals::to_string(s.state().reported.kind) << ": " << s.state().reported.output;
    // The first timeout shows up one interval + one timeout after the freeze at the latest.
    EXPECT_LT(std::chrono::steady_clock::now() - frozen_at, interval + timeout + 200ms);
    const auto runs_before = s.state().runs;
    const int base_threads = thread_count();
    const int base_sockets = socket_count();
    // 50 intervals, /readyz polled every 5 ms meanwhile.
    const auto until = std::chrono::steady_clock::now() + 50 * (interval + timeout);
    auto next_sample = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < until) {
      latencies.push_back(timed_readyz(code));
      ASSERT_EQ(code, 503);
      if (std::chrono::steady_clock::now() >= next_sample) {
        threads.push_back(thread_count());
        sockets.push_back(socket_count());
        next_sample += interval;
      }
      std::this_thread::sleep_for(5ms);
    }
    const auto st = s.state();
    EXPECT_TRUE(is_timeout(st.reported)) << st.reported.output;
    EXPECT_GE(st.runs - runs_before, 40u) << "the check should have run ~50 times";
    // Flat: one run in flight at most, so at most one extra socket (its connection attempt)
    // and no thread beyond the pool's.
    EXPECT_LE(*std::max_element(threads.begin(), threads.end()), base_threads + 1);
    EXPECT_LE(*std::max_element(sockets.begin(), sockets.end()), base_sockets + 1);
    EXPECT_LE(threads.back(), base_threads + 1);
    EXPECT_LE(sockets.back(), base_sockets + 1);
    std::printf("[ frozen   ] runs=%llu threads %d..%d (base %d) sockets %d..%d (base %d)\n",
                static_cast<unsigned long long>(st.runs - runs_before),
                *std::min_element(threads.begin(), threads.end()),
                *std::max_element(threads.begin(), threads.end()), base_threads,
                *std::min_element(sockets.begin(), sockets.end()),
                *std::max_element(sockets.begin(), sockets.end()), base_sockets);
    freeze.thaw();
    const auto thawed_at = std::chrono::steady_clock::now();
    EXPECT_TRUE(s.wait_reported(is_pass, 5s)) << s.state().reported.output;
    recovery = std::chrono::steady_clock::now() - thawed_at;
  }
  // Recovery takes `success_threshold` passing runs: about that many intervals (plus the
  // server's time to drain the connection attempts queued while it was stopped).
  EXPECT_LT(recovery, (success_threshold + 2) * (interval + timeout) + 500ms);
  std::sort(latencies.begin(), latencies.end());
  const auto p50 = latencies[latencies.size() / 2];
  const auto p99 = latencies[latencies.size() * 99 / 100];
  const auto max = latencies.back();
  auto ms = [](std::chrono::nanoseconds d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  std::printf("[ frozen   ] /readyz n=%zu p50=%.3fms p99=%.3fms max=%.3fms; recovery %.0fms\n",
              latencies.size(), ms(p50), ms(p99), ms(max), ms(recovery));
  EXPECT_LT(p99, 10ms);
}

/// Wrong password: `auth`, and the password appears in no response body (anonymous verbose
/// /readyz, authorized /health and /health/dep) and in no event.
inline void wrong_password_scenario(std::shared_ptr<vitals::check> c, const std::string& password) {
  probed_service s{std::move(c), {.interval = 200ms, .timeout = 150ms}};
  ASSERT_TRUE(s.wait_reported(
      [](const vitals::result& r) { return r.kind == vitals::failure_kind::auth; }, 5s))
      << vitals::to_string(s.state().reported.kind) << ": " << s.state().reported.output;
  const auto verbose = s.get("/readyz?verbose");
  const auto verbose_auth = s.get("/readyz?verbose", true);
  const auto health = s.get("/health", true);
  const auto one = s.get("/health/dep", true);
  EXPECT_EQ(verbose.status, 503);
  EXPECT_EQ(health.status, 503);
  // Not vacuous: the authorized body does carry the failure text.
  EXPECT_NE(health.body.find("auth"), std::string::npos) << health.body;
  for (const auto* body : {&verbose.body, &verbose_auth.body, &health.body, &one.body}) {
    EXPECT_EQ(body->find(password), std::string::npos) << *body;
  }
  const auto log = s.event_log();
  EXPECT_FALSE(log.empty());
  EXPECT_EQ(log.find(password), std::string::npos) << log;
  EXPECT_EQ(s.state().reported.output.find(password), std::string::npos);
}

/// A listener answering random bytes: `protocol` (or another classified failure), no crash,
/// bounded by the deadline.
inline void garbage_scenario(
    const std::function<std::shared_ptr<vitals::check>(std::uint16_t)>& make) {
  garbage_server g;
  auto c = make(g.port());
  for (int i = 0; i < 3; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = run_once(*c, 1s);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1100ms);
    EXPECT_EQ(r.status, vitals::status::fail);
    EXPECT_EQ(r.kind, vitals::failure_kind::protocol) << r.output;
    std::printf("[ garbage  ] %s: %s\n", std::string(vitals::to_string(r.kind)).c_str(),
                r.output.c_str());
  }
  EXPECT_GE(g.connections(), 1);
}

/// Refused: a closed port fails with `refused` well under the timeout.
inline void refused_scenario(const std::shared_ptr<vitals::check>& c, std::uint16_t port) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_once(*c, 2s);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 200ms);
  EXPECT_EQ(r.kind, vitals::failure_kind::refused) << r.output;
  EXPECT_NE(r.output.find(std::to_string(port)), std::string::npos) << r.output;
}

}  // namespace vitals::test
