// The memcached check against the real memcached of scripts/test-servers.sh
// (VITALS_TEST_MEMCACHED_ADDR). Holds that server's RESOURCE_LOCK.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "db_support.hpp"
#include "vitals/checks/memcached.hpp"

namespace {

using namespace std::chrono_literals;
using vitals::failure_kind;
using vitals::status;
using vitals::test::detail_of;
using vitals::test::run_once;

// `stats` over a fresh socket: the value of one counter (-1 on failure).
long long memcached_stat(const std::string& addr, const std::string& name) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(addr.substr(addr.find(':') + 1))));
  ::inet_pton(AF_INET, addr.substr(0, addr.find(':')).c_str(), &a.sin_addr);
  const timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::send(fd, "stats\r\n", 7, MSG_NOSIGNAL) == 7) {
    char buf[4096];
    while (reply.find("END\r\n") == std::string::npos) {
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      reply.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  const auto at = reply.find("STAT " + name + " ");
  return at == std::string::npos ? -1 : std::stoll(reply.substr(at + 6 + name.size()));
}

TEST(memcached_check, passes_with_version) {
  VITALS_SERVER_ENV(addr, "VITALS_TEST_MEMCACHED_ADDR");
  const auto r = run_once(*vitals::checks::memcached({.address = addr}));
  ASSERT_EQ(r.status, status::pass) << r.output;
  EXPECT_EQ(r.observed->unit, "ms");
  EXPECT_FALSE(detail_of(r, "server_version").empty());
}

TEST(memcached_check, keeps_one_connection_between_runs) {
  VITALS_SERVER_ENV(addr, "VITALS_TEST_MEMCACHED_ADDR");
  auto c = vitals::checks::memcached({.address = addr});
  ASSERT_EQ(run_once(*c).status, status::pass);
  const auto before = memcached_stat(addr, "total_connections");
  ASSERT_GT(before, 0);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(run_once(*c).status, status::pass);
  // +1: the stats connection of this test itself.
  EXPECT_EQ(memcached_stat(addr, "total_connections"), before + 1);
}

TEST(memcached_check, closed_port_is_refused_at_once) {
  const auto port = std::to_string(vitals::test::closed_port());
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_once(*vitals::checks::memcached({.address = "127.0.0.1:" + port}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 200ms);
  EXPECT_EQ(r.kind, failure_kind::refused);
  EXPECT_EQ(r.output, "connection refused (127.0.0.1:" + port + ")");
}

}  // namespace
