// The udp check against real sockets on loopback: a responder this test runs itself (ephemeral
// port, stopped within 100 ms of the test's end), a closed port (ICMP port-unreachable) and a
// bound socket that never answers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "test_server.hpp"
#include "vitals/checks/udp.hpp"

namespace vitals::testkit {
namespace {

using namespace std::chrono_literals;
using vitals::failure_kind;
using vitals::status;

// A UDP socket bound to an ephemeral port of 127.0.0.1 or ::1.
class udp_socket {
 public:
  explicit udp_socket(bool v6 = false) : fd_(::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_loopback;
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof *a;
    }
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
      close();
      return;
    }
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  ~udp_socket() { close(); }
  udp_socket(const udp_socket&) = delete;
  udp_socket& operator=(const udp_socket&) = delete;
  [[nodiscard]] bool ok() const { return fd_ >= 0; }
  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

// Answers every datagram with reply(datagram), on its own thread, until destroyed.
class udp_responder {
 public:
  using reply_fn = std::function<std::string(const std::string&)>;
  explicit udp_responder(reply_fn reply, bool v6 = false)
      : sock_(v6), reply_(std::move(reply)), thread_([this] { serve(); }) {}
  ~udp_responder() {
    stop_ = true;
    thread_.join();
  }
  udp_responder(const udp_responder&) = delete;
  udp_responder& operator=(const udp_responder&) = delete;
  [[nodiscard]] bool ok() const { return sock_.ok(); }
  [[nodiscard]] std::uint16_t port() const { return sock_.port(); }
  [[nodiscard]] int datagrams() const { return datagrams_; }

 private:
  void serve() {
    char buf[2048];
    while (!stop_ && sock_.ok()) {
      pollfd p{.fd = sock_.fd(), .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      const auto n =
          ::recvfrom(sock_.fd(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) continue;
      ++datagrams_;
      const std::string out = reply_(std::string(buf, static_cast<std::size_t>(n)));
      (void)::sendto(sock_.fd(), out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from),
                     len);
    }
  }

  udp_socket sock_;
  reply_fn reply_;
  std::atomic<bool> stop_{false};
  std::atomic<int> datagrams_{0};
  std::thread thread_;
};

std::string echo(const std::string& in) { return "echo:" + in; }

std::string detail_of(const vitals::result& r, const std::string& key) {
  for (const auto& [k, v] : r.details) {
    if (k == key) return v;
  }
  return "(no " + key + ")";
}

TEST(udp_check, reply_with_the_expected_text_passes) {
  udp_responder srv{echo};
  ASSERT_TRUE(srv.ok());
  auto c = vitals::checks::udp(
      {.host = "127.0.0.1", .port = srv.port(), .send = "ping", .expect = "echo:ping"});
  const auto r = run_once(*c, 2s);
  EXPECT_EQ(r.status, status::pass) << r.output;
  ASSERT_TRUE(r.observed);
  EXPECT_EQ(r.observed->unit, "ms");
  EXPECT_EQ(detail_of(r, "peer"), "127.0.0.1:" + std::to_string(srv.port()));
  EXPECT_EQ(srv.datagrams(), 1);
}

TEST(udp_check, reply_without_the_expected_text_is_a_protocol_failure) {
  udp_responder srv{[](const std::string&) { return std::string{"nope"}; }};
  auto c = vitals::checks::udp(
      {.host = "127.0.0.1", .port = srv.port(), .send = "ping", .expect = "pong"});
  const auto r = run_once(*c, 2s);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::protocol);
  EXPECT_NE(r.output.find("the 4-byte reply from 127.0.0.1:" + std::to_string(srv.port()) +
                          " does not contain the expected text"),
            std::string::npos)
      << r.output;
}

TEST(udp_check, no_reply_expected_passes_once_sent_and_not_refused) {
  udp_socket silent;  // bound: the kernel takes the datagram, nobody answers
  ASSERT_TRUE(silent.ok());
  auto c = vitals::checks::udp(
      {.host = "127.0.0.1", .port = silent.port(), .send = "x", .icmp_wait = 50ms});
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_once(*c, 2s);
  EXPECT_EQ(r.status, status::pass) << r.output;
  EXPECT_EQ(detail_of(r, "reply"), "none expected; not refused within 50ms");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  char buf[16];
  EXPECT_EQ(::recv(silent.fd(), buf, sizeof buf, MSG_DONTWAIT), 1);  // it really was sent
}

TEST(udp_check, closed_port_is_refused) {
  std::uint16_t port = 0;
  {
    udp_socket s;
    ASSERT_TRUE(s.ok());
    port = s.port();
  }  // closed: the next datagram to it draws an ICMP port-unreachable
  for (const std::string expect : {"", "pong"}) {
    auto c =
        vitals::checks::udp({.host = "127.0.0.1", .port = port, .send = "x", .expect = expect});
    const auto r = run_once(*c, 2s);
    EXPECT_EQ(r.status, status::fail) << expect;
    EXPECT_EQ(r.kind, failure_kind::refused) << r.output;
    EXPECT_NE(r.output.find("connection refused (127.0.0.1:" + std::to_string(port) + ")"),
              std::string::npos)
        << r.output;
  }
}

TEST(udp_check, silent_peer_times_out_when_a_reply_is_expected) {
  udp_socket silent;
  ASSERT_TRUE(silent.ok());
  auto c =
      vitals::checks::udp({.host = "127.0.0.1", .port = silent.port(), .send = "x", .expect = "y"});
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_once(*c, 200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::timeout);
  EXPECT_NE(r.output.find("timed out after 200ms waiting for the reply from 127.0.0.1:" +
                          std::to_string(silent.port())),
            std::string::npos)
      << r.output;
}

TEST(udp_check, ipv6_loopback) {
  udp_responder srv{echo, /*v6=*/true};
  if (!srv.ok()) GTEST_SKIP() << "no IPv6 loopback here";
  auto c =
      vitals::checks::udp({.host = "::1", .port = srv.port(), .send = "6", .expect = "echo:6"});
  const auto r = run_once(*c, 2s);
  EXPECT_EQ(r.status, status::pass) << r.output;
  EXPECT_EQ(detail_of(r, "peer"), "[::1]:" + std::to_string(srv.port()));

  std::uint16_t closed = 0;
  {
    udp_socket s{true};
    closed = s.port();
  }
  auto refused = vitals::checks::udp({.host = "[::1]", .port = closed, .send = "x"});
  EXPECT_EQ(run_once(*refused, 2s).kind, failure_kind::refused);
}

}  // namespace
}  // namespace vitals::testkit
