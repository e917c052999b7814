#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "test_server.hpp"
#include "vitals/checks/tcp.hpp"

namespace vitals::testkit {
namespace {

using namespace std::chrono_literals;
using vitals::failure_kind;
using vitals::status;

response_spec pong(const request_info&) { return {.body = "PONG"}; }

TEST(tcp_check, connect_passes) {
  test_server srv{pong};
  auto c = vitals::checks::tcp({.host = "127.0.0.1", .port = srv.port()});
  auto r = run_once(*c, 2s);
  EXPECT_EQ(r.status, status::pass) << r.output;
  ASSERT_TRUE(r.observed);
  EXPECT_EQ(r.observed->unit, "ms");
}

TEST(tcp_check, localhost_name_resolves) {
  test_server srv{pong};
  auto c = vitals::checks::tcp({.host = "localhost", .port = srv.port()});
  auto r = run_once(*c, 2s);
  EXPECT_EQ(r.status, status::pass) << r.output;
}

TEST(tcp_check, send_and_expect) {
  test_server srv{pong};
  auto c = vitals::checks::tcp({.host = "127.0.0.1",
                                .port = srv.port(),
                                .send = "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                                .expect = "PONG"});
  auto r = run_once(*c, 2s);
  EXPECT_EQ(r.status, status::pass) << r.output;

  auto wrong = vitals::checks::tcp({.host = "127.0.0.1",
                                    .port = srv.port(),
                                    .send = "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                                    .expect = "+PONG"});
  r = run_once(*wrong, 2s);
  EXPECT_EQ(r.status, status::fail);
  EXPECT_EQ(r.kind, failure_kind::protocol);
  EXPECT_NE(r.output.find("expected \"+PONG\" not found"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("HTTP/1.1 200 OK"), std::string::npos) << r.output;
}

TEST(tcp_check, banner_expected_from_a_silent_peer_times_out) {
  test_server srv{pong};  // waits for a request, sends nothing first
  auto c = vitals::checks::tcp({.host = "127.0.0.1", .port = srv.port(), .expect = "220 "});
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run_once(*c, 100ms);
  EXPECT_EQ(r.kind, failure_kind::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 300ms);
  EXPECT_NE(r.output.find("waiting for the expected reply from 127.0.0.1:"), std::string::npos)
      << r.output;
}

TEST(tcp_check, refused_port) {
  auto c = vitals::checks::tcp({.host = "127.0.0.1", .port = closed_port()});
  auto r = run_once(*c, 2s);
  EXPECT_EQ(r.kind, failure_kind::refused);
  EXPECT_NE(r.output.find("connection refused (127.0.0.1:"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace vitals::testkit
