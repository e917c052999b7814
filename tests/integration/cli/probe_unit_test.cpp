// Pure parts of `vitals probe`: durations, URLs, the status-line scanner, URL redaction.
#include <gtest/gtest.h>

#include <string>

#include "probe/duration.hpp"
#include "probe/http_status.hpp"
#include "probe/url.hpp"

namespace vitals::cli {
namespace {

using namespace std::chrono_literals;

std::chrono::milliseconds dur(std::string_view s) {
  std::chrono::milliseconds d{-1};
  EXPECT_TRUE(parse_duration(s, d)) << s;
  return d;
}

TEST(probe_duration, parses_units_and_bare_seconds) {
  EXPECT_EQ(dur("2s"), 2s);
  EXPECT_EQ(dur("500ms"), 500ms);
  EXPECT_EQ(dur("1.5s"), 1500ms);
  EXPECT_EQ(dur("1m30s"), 90s);
  EXPECT_EQ(dur("2h"), 2h);
  EXPECT_EQ(dur("3"), 3s);
  EXPECT_EQ(dur("0"), 0ms);
  EXPECT_EQ(dur("1us"), 1ms);  // rounded up, never silently zero
  EXPECT_EQ(dur("250us"), 1ms);
}

TEST(probe_duration, rejects_garbage) {
  std::chrono::milliseconds d{};
  for (const char* bad :
       {"", "s", "-1s", "1x", "1m30", "1..5s", "abc", "1e3s", "99999999999999h"}) {
    EXPECT_FALSE(parse_duration(bad, d)) << bad;
  }
}

TEST(probe_url, splits_host_port_and_target) {
  url_parts u;
  const char* err = nullptr;
  ASSERT_TRUE(parse_http_url("http://127.0.0.1:8081/readyz?verbose#frag", u, err));
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 8081);
  EXPECT_EQ(u.target, "/readyz?verbose");

  ASSERT_TRUE(parse_http_url("HTTPS://example.test", u, err));
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.port, 443);
  EXPECT_FALSE(u.explicit_port);
  EXPECT_EQ(u.target, "/");

  ASSERT_TRUE(parse_http_url("http://[::1]:9000/livez", u, err));
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 9000);

  ASSERT_TRUE(parse_http_url("http://user:pw@h:1/x", u, err));
  EXPECT_EQ(u.userinfo, "user:pw");
  EXPECT_EQ(u.host, "h");
}

TEST(probe_url, rejects_bad_urls_with_a_reason) {
  url_parts u;
  for (const char* bad :
       {"localhost:8081/readyz", "ftp://h/", "http://", "http://h:0/", "http://h:70000/",
        "http://h:12ab/", "http://[::1/", "http://h/a b", "http://bad host/"}) {
    const char* err = nullptr;
    EXPECT_FALSE(parse_http_url(bad, u, err)) << bad;
    EXPECT_NE(err, nullptr) << bad;
  }
}

TEST(probe_url, redaction_masks_only_the_password) {
  char buf[256];
  redact_url_into("http://user:hunter2@h:1/p?q=1", buf, sizeof buf);
  EXPECT_STREQ(buf, "http://user:***@h:1/p?q=1");
  redact_url_into("http://user@h/", buf, sizeof buf);
  EXPECT_STREQ(buf, "http://user@h/");
  redact_url_into("http://h/a@b", buf, sizeof buf);  // '@' in the path is not userinfo
  EXPECT_STREQ(buf, "http://h/a@b");
  redact_url_into("http://u:secret@h/", buf, 8);  // truncation never leaks either
  EXPECT_EQ(std::string{buf}.find("secret"), std::string::npos);
}

status_scan scan(std::string_view s, int& code) {
  std::size_t end = 0;
  return scan_status(s, code, end);
}

TEST(probe_status, reads_the_final_status_code) {
  int code = 0;
  EXPECT_EQ(scan("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", code), status_scan::done);
  EXPECT_EQ(code, 200);
  EXPECT_EQ(scan("HTTP/1.0 503 Service Unavailable\r\n", code), status_scan::done);
  EXPECT_EQ(code, 503);
  EXPECT_EQ(scan("HTTP/1.1 204\r\n", code), status_scan::done);  // empty reason phrase
  EXPECT_EQ(code, 204);
}

TEST(probe_status, skips_interim_responses) {
  int code = 0;
  EXPECT_EQ(scan("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n", code),
            status_scan::done);
  EXPECT_EQ(code, 200);
  EXPECT_EQ(scan("HTTP/1.1 100 Continue\r\n\r\n", code), status_scan::need_more);
}

TEST(probe_status, waits_for_a_complete_line) {
  int code = 0;
  EXPECT_EQ(scan("", code), status_scan::need_more);
  EXPECT_EQ(scan("HTT", code), status_scan::need_more);
  EXPECT_EQ(scan("HTTP/1.1 20", code), status_scan::need_more);
  EXPECT_EQ(scan("HTTP/1.1 200 OK", code), status_scan::need_more);
}

TEST(probe_status, rejects_what_is_not_http1) {
  int code = 0;
  for (const char* bad :
       {"SSH-2.0-OpenSSH_9.2\r\n", "HTTP/2 200\r\n", "HTTP/1.1 2x0 OK\r\n", "HTTP/1.1 200OK\r\n",
        "\x16\x03\x01", "hello", "HTTP/1.1 099 x\r\n", "+PONG\r\n"}) {
    EXPECT_EQ(scan(bad, code), status_scan::bad) << bad;
  }
  // An endless status line is cut off instead of buffered forever.
  std::string huge = "HTTP/1.1 200 " + std::string(20000, 'x');
  EXPECT_EQ(scan(huge, code), status_scan::bad);
}

}  // namespace
}  // namespace vitals::cli
