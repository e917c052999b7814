// Admission at the connection cap, against real sockets on loopback: idle keep-alive and
// silent connections make room for a new one, so a probe always gets through; floods of them
// (and slowloris beside them) never lock /livez out, and descriptors return to baseline.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "server_fixture.hpp"

namespace vitals::test {
namespace {

using clk = std::chrono::steady_clock;
using std::chrono::microseconds;

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator{"/proc/self/fd"}) ++n;
  return n;
}

/// Raises the soft descriptor limit to at least `need` (within the hard limit); false if the
/// hard limit is lower.
bool raise_fd_limit(rlim_t need) {
  rlimit l{};
  if (::getrlimit(RLIMIT_NOFILE, &l) != 0) return false;
  if (l.rlim_cur >= need) return true;
  if (l.rlim_max != RLIM_INFINITY && l.rlim_max < need) return false;
  l.rlim_cur = need;
  return ::setrlimit(RLIMIT_NOFILE, &l) == 0;
}

/// A fresh client's /livez, timed from connect to the whole answer.
struct probe_figures {
  int probes = 0;
  int failures = 0;
  microseconds worst{0};
  std::string first_failure{};

  void probe(std::uint16_t port) {
    const auto t0 = clk::now();
    std::string what;
    try {
      client c{port};
      if (c.send(get("/livez"))) {
        if (auto r = c.read_reply(false, 1000ms)) {
          if (r->status != 200) what = "status " + std::to_string(r->status);
        } else {
          what = "no answer";
        }
      } else {
        what = "send failed";
      }
    } catch (const std::exception& e) {
      what = e.what();
    }
    const auto dt = std::chrono::duration_cast<microseconds>(clk::now() - t0);
    ++probes;
    worst = std::max(worst, dt);
    if (!what.empty() && failures++ == 0) first_failure = what;
  }

  void expect_all_fast(const char* flood) const {
    EXPECT_EQ(failures, 0) << flood << ": " << first_failure;
    EXPECT_LT(worst, microseconds{100'000}) << flood;
    std::printf("[ figures  ] %s: %d probes, worst /livez %.2f ms\n", flood, probes,
                static_cast<double>(worst.count()) / 1000.0);
  }
};

/// Opens a connection that sends one request, reads its answer and then idles.
client idle_keep_alive(std::uint16_t port) {
  client c{port};
  c.send(get("/readyz"));
  static_cast<void>(c.read_reply(false, 1000ms));
  return c;
}

class admission_test : public server_test {
 protected:
  void SetUp() override { ASSERT_TRUE(raise_fd_limit(4096)) << "RLIMIT_NOFILE hard limit"; }
};

TEST_F(admission_test, the_longest_idle_then_the_oldest_silent_make_room) {
  ASSERT_NO_FATAL_FAILURE(start({.max_connections = 4}));
  client idle_old = idle_keep_alive(srv_->port());
  std::this_thread::sleep_for(5ms);
  client idle_new = idle_keep_alive(srv_->port());
  client silent_old = connect();
  ASSERT_TRUE(eventually([&] { return srv_->connections() == 3; }));
  std::this_thread::sleep_for(5ms);
  client silent_new = connect();
  ASSERT_TRUE(eventually([&] { return srv_->connections() == 4; }));

  const auto admitted = [&](client& closed) {
    client c = connect();
    EXPECT_TRUE(c.send(get("/livez")));
    auto r = c.read_reply();
    EXPECT_TRUE(r && r->status == 200);
    EXPECT_TRUE(closed.wait_closed(1s));
    return c;
  };
  client a = admitted(idle_old);
  EXPECT_EQ(srv_->stats().evicted_idle, 1u);
  // `a` is idle now too, but younger than idle_new.
  client b = admitted(idle_new);
  client c = admitted(a);  // the longest idle is now `a`: idle ones before silent ones
  client d = admitted(b);
  EXPECT_EQ(srv_->stats().evicted_idle, 4u);
  EXPECT_EQ(srv_->stats().evicted_silent, 0u);
  // Only busy (mid-request) and silent ones left: the oldest silent goes first.
  ASSERT_TRUE(c.send("GET /livez HTTP/1.1\r\n"));
  ASSERT_TRUE(d.send("GET /livez HTTP/1.1\r\n"));
  std::this_thread::sleep_for(50ms);
  client e = connect();
  ASSERT_TRUE(e.send(get("/livez")));
  ASSERT_TRUE(e.read_reply());
  EXPECT_TRUE(silent_old.wait_closed(1s));
  EXPECT_EQ(srv_->stats().evicted_silent, 1u);
  // The mid-request ones were never touched.
  ASSERT_TRUE(c.send("Host: x\r\n\r\n"));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(admission_test, a_flood_of_idle_keep_alive_connections_never_locks_the_probe_out) {
  ASSERT_NO_FATAL_FAILURE(start({.io_threads = 2, .max_connections = 64}));
  const std::size_t baseline = open_fds();
  probe_figures f;
  {
    std::vector<client> flood;
    flood.reserve(std::size_t{64} * 4);
    for (int i = 0; i < 64 * 4; ++i) {
      flood.push_back(idle_keep_alive(srv_->port()));
      if (i % 8 == 0) f.probe(srv_->port());
    }
    for (int i = 0; i < 50; ++i) f.probe(srv_->port());
    EXPECT_GT(srv_->stats().evicted_idle, 64u * 2);
    EXPECT_EQ(srv_->stats().refused_busy, 0u);
  }
  f.expect_all_fast("idle keep-alive flood, cap 64, 256 connections");
  EXPECT_TRUE(eventually([&] { return open_fds() == baseline; }))
      << open_fds() << " fds, baseline " << baseline;
  EXPECT_TRUE(eventually([&] { return srv_->connections() == 0; }));
}

TEST_F(admission_test, a_flood_of_silent_connections_never_locks_the_probe_out) {
  ASSERT_NO_FATAL_FAILURE(start({.io_threads = 2, .max_connections = 64}));
  const std::size_t baseline = open_fds();
  probe_figures f;
  {
    std::vector<client> flood;
    flood.reserve(std::size_t{64} * 4);
    for (int i = 0; i < 64 * 4; ++i) {
      flood.push_back(connect());
      if (i % 8 == 0) f.probe(srv_->port());
    }
    ASSERT_TRUE(eventually([&] { return srv_->connections() >= 64; }));
    for (int i = 0; i < 50; ++i) f.probe(srv_->port());
    EXPECT_GT(srv_->stats().evicted_silent, 64u * 2);
    EXPECT_EQ(srv_->stats().refused_busy, 0u);
  }
  f.expect_all_fast("silent flood, cap 64, 256 connections");
  EXPECT_TRUE(eventually([&] { return open_fds() == baseline; }))
      << open_fds() << " fds, baseline " << baseline;
}

TEST_F(admission_test, slowloris_beside_an_idle_flood_never_locks_the_probe_out) {
  // Slowloris connections are mid-request: never evicted (the header timeout cuts them); the
  // idle flood around them makes room.
  ASSERT_NO_FATAL_FAILURE(start({.io_threads = 2, .max_connections = 64}));
  const std::size_t baseline = open_fds();
  probe_figures f;
  {
    std::vector<client> slow;
    slow.reserve(32);
    for (int i = 0; i < 32; ++i) {
      slow.push_back(connect());
      ASSERT_TRUE(slow.back().send("G"));
    }
    std::vector<client> flood;
    flood.reserve(std::size_t{64} * 3);
    for (int i = 0; i < 64 * 3; ++i) flood.push_back(idle_keep_alive(srv_->port()));
    const std::string head = "ET /readyz HTTP/1.1\r\nX-Slow: sssssssss";
    std::size_t sent = 0;
    const auto until = clk::now() + 3s;
    auto next_byte = clk::now() + 1s;
    while (clk::now() < until) {
      if (clk::now() >= next_byte && sent < head.size()) {
        for (auto& c : slow) ASSERT_TRUE(c.send(std::string_view{&head[sent], 1}));
        ++sent;
        next_byte += 1s;
      }
      f.probe(srv_->port());
      std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(srv_->stats().refused_busy, 0u);
    // Every slowloris connection is still open: none was evicted.
    for (auto& c : slow) EXPECT_EQ(c.fill(0ms), read_end::timeout);
  }
  f.expect_all_fast("slowloris (32, a byte a second) + idle flood (192), cap 64");
  EXPECT_TRUE(eventually([&] { return open_fds() == baseline; }))
      << open_fds() << " fds, baseline " << baseline;
}

TEST_F(admission_test, per_client_limit_refuses_one_address_not_the_others) {
  ASSERT_NO_FATAL_FAILURE(start({.max_connections = 64, .max_connections_per_client = 8}));
  // 127.0.0.2 is loopback too: the hog, while the probe comes from 127.0.0.1.
  const auto from_hog = [&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000002);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    a.sin_port = htons(srv_->port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  };
  std::vector<int> hog;
  hog.reserve(20);
  for (int i = 0; i < 20; ++i) hog.push_back(from_hog());
  ASSERT_TRUE(eventually([&] { return srv_->stats().refused_per_client == 12; }))
      << srv_->stats().refused_per_client;
  EXPECT_EQ(srv_->connections(), 8u);
  probe_figures f;
  for (int i = 0; i < 10; ++i) f.probe(srv_->port());
  EXPECT_EQ(f.failures, 0) << f.first_failure;
  for (const int fd : hog) ::close(fd);
  ASSERT_TRUE(eventually([&] { return srv_->connections() == 0; }));
  // The count went back with them.
  for (int i = 0; i < 8; ++i) hog[static_cast<std::size_t>(i)] = from_hog();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(srv_->stats().refused_per_client, 12u);
  EXPECT_EQ(srv_->connections(), 8u);
  for (int i = 0; i < 8; ++i) ::close(hog[static_cast<std::size_t>(i)]);
}

// The flood runs in a child process so that each process needs 10,000 descriptors, not both
// ends in one. The child only makes async-signal-safe calls (it is forked from a threaded
// process): everything it needs is allocated before the fork.
int flood_child(std::uint16_t port, int n, int* fds, int report, int hold) {
  const std::string_view req = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  int answered = 0;
  for (int i = 0; i < n; ++i) {
    fds[i] = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fds[i] < 0 || ::connect(fds[i], reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) break;
    if (::send(fds[i], req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      break;
    pollfd p{fds[i], POLLIN, 0};
    char buf[512];
    if (::poll(&p, 1, 2000) == 1 && ::recv(fds[i], buf, sizeof buf, 0) > 0) ++answered;
  }
  if (::write(report, &answered, sizeof answered) != sizeof answered) return 1;
  char go = 0;
  if (::read(hold, &go, 1) < 0) return 1;
  for (int i = 0; i < n; ++i) {
    if (fds[i] >= 0) ::close(fds[i]);
  }
  return 0;
}

TEST_F(admission_test, ten_thousand_idle_connections_never_lock_the_probe_out) {
  // 10,000 held at the cap, then 2,000 more that each evict the longest idle one: probes
  // meanwhile contend with them at the cap (each admission scans 10,000 connections).
  constexpr int cap = 10'000;
  constexpr int flood = cap + 2'000;
  if (!raise_fd_limit(flood + 512)) {
    rlimit l{};
    ::getrlimit(RLIMIT_NOFILE, &l);
    GTEST_SKIP() << "needs RLIMIT_NOFILE hard limit >= " << flood + 512 << " (ulimit -Hn), have "
                 << l.rlim_max;
  }
  ASSERT_NO_FATAL_FAILURE(start({.io_threads = 2, .max_connections = cap}));
  const std::size_t baseline = open_fds();
  std::vector<int> fds(flood, -1);
  int report[2];
  int hold[2];
  ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(hold, O_CLOEXEC), 0);
  const auto t0 = clk::now();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) ::_exit(flood_child(srv_->port(), flood, fds.data(), report[1], hold[0]));
  ::close(report[1]);
  ::close(hold[0]);
  probe_figures f;
  int answered = -1;
  const auto give_up = clk::now() + 60s;
  for (;;) {
    pollfd p{report[0], POLLIN, 0};
    if (::poll(&p, 1, 2) == 1) {
      ASSERT_EQ(::read(report[0], &answered, sizeof answered),
                static_cast<ssize_t>(sizeof answered));
      break;
    }
    f.probe(srv_->port());
    ASSERT_LT(clk::now(), give_up) << "flood did not finish";
  }
  const auto flood_time = std::chrono::duration_cast<std::chrono::milliseconds>(clk::now() - t0);
  EXPECT_EQ(answered, flood);
  EXPECT_GE(srv_->connections(), static_cast<std::size_t>(cap) - 10);
  for (int i = 0; i < 200; ++i) f.probe(srv_->port());
  EXPECT_GE(srv_->stats().evicted_idle, static_cast<std::uint64_t>(flood - cap));
  EXPECT_EQ(srv_->stats().refused_busy, 0u);
  std::printf("[ figures  ] %d idle connections (cap %d) opened in %lld ms, %llu evicted\n", flood,
              cap, static_cast<long long>(flood_time.count()),
              static_cast<unsigned long long>(srv_->stats().evicted_idle));
  f.expect_all_fast("10,000 idle keep-alive connections at the cap + 2,000 over it");
  ASSERT_EQ(::write(hold[1], "x", 1), 1);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
  ::close(report[0]);
  ::close(hold[1]);
  EXPECT_TRUE(eventually([&] { return open_fds() == baseline; }, 10s))
      << open_fds() << " fds, baseline " << baseline;
  EXPECT_TRUE(eventually([&] { return srv_->connections() == 0; }, 10s));
}

}  // namespace
}  // namespace vitals::test
