#pragma once
// A tiny blocking HTTP/1.1 client for the server tests: plain POSIX sockets with a poll()
// deadline on every call, so no test can hang.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace vitals::test {

using namespace std::chrono_literals;

struct http_reply {
  int status = 0;
  std::string head;  // status line and headers, without the blank line
  std::string body;
  [[nodiscard]] bool has_header(std::string_view line) const {
    return (head + "\r\n").find("\r\n" + std::string{line} + "\r\n") != std::string::npos;
  }
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const {
    const std::string key = "\r\n" + std::string{name} + ": ";
    const auto p = (head + "\r\n").find(key);
    if (p == std::string::npos) return std::nullopt;
    const auto start = p + key.size();
    return head.substr(start, head.find("\r\n", start) - start);
  }
};

/// Takes one complete response off the front of `buf` (received bytes); nullopt until one is
/// complete. A HEAD answer has no body whatever its Content-Length.
inline std::optional<http_reply> take_reply(std::string& buf, bool head_request) {
  const auto end = buf.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  http_reply r;
  r.head = buf.substr(0, end);
  if (r.head.rfind("HTTP/1.", 0) != 0 || r.head.size() < 12) {
    throw std::runtime_error("not an HTTP response: " + r.head.substr(0, 40));
  }
  r.status = std::atoi(r.head.c_str() + 9);
  std::size_t length = 0;
  if (auto cl = r.header("Content-Length")) length = std::stoul(*cl);
  if (head_request) length = 0;
  if (buf.size() < end + 4 + length) return std::nullopt;
  r.body = buf.substr(end + 4, length);
  buf.erase(0, end + 4 + length);
  return r;
}

/// How a read ended.
enum class read_end { data, eof, reset, timeout };

class client {
 public:
  explicit client(std::uint16_t port, bool ipv6 = false) {
    fd_ = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket");
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = 0;
    if (ipv6) {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_port = htons(port);
      a.sin6_addr = in6addr_loopback;
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    if (rc != 0) {
      ::close(fd_);
      throw std::runtime_error("connect");
    }
  }
  ~client() {
    if (fd_ >= 0) ::close(fd_);
  }
  client(const client&) = delete;
  client& operator=(const client&) = delete;
  client(client&& o) noexcept : fd_(std::exchange(o.fd_, -1)), buf_(std::move(o.buf_)) {}
  client& operator=(client&& o) noexcept {
    if (this != &o) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(o.fd_, -1);
      buf_ = std::move(o.buf_);
    }
    return *this;
  }

  /// False if the peer has closed or reset the connection.
  bool send(std::string_view data) {
    while (!data.empty()) {
      const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Reads whatever arrives before `timeout` into the internal buffer.
  read_end fill(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (r == 0) return read_end::timeout;
    char tmp[16384];
    const auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n == 0) return read_end::eof;
    if (n < 0) return errno == ECONNRESET ? read_end::reset : read_end::eof;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return read_end::data;
  }

  /// One response; nullopt if the connection ended or nothing complete came within `timeout`.
  std::optional<http_reply> read_reply(bool head_request = false,
                                       std::chrono::milliseconds timeout = 2000ms) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto r = take_reply(head_request)) return r;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left <= 0ms) return std::nullopt;
      if (fill(left) != read_end::data) return take_reply(head_request);
    }
  }

  /// Waits for the server to close: true if EOF or reset arrives within `timeout` (any data
  /// before it is kept in the buffer).
  bool wait_closed(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left <= 0ms) return false;
      const auto e = fill(left);
      if (e == read_end::eof || e == read_end::reset) return true;
      if (e == read_end::timeout) return false;
    }
  }

  /// Reads until the received bytes contain `needle` (true) or `timeout` passes or the
  /// connection ends (false). For streams, whose answers never complete.
  bool read_until(std::string_view needle, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (buf_.find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left <= 0ms || fill(left) != read_end::data) {
        return buf_.find(needle) != std::string::npos;
      }
    }
    return true;
  }

  [[nodiscard]] const std::string& buffered() const noexcept { return buf_; }
  /// What was received and not taken yet, emptying the buffer.
  std::string take_buffered() { return std::exchange(buf_, std::string{}); }
  [[nodiscard]] int fd() const noexcept { return fd_; }

 private:
  std::optional<http_reply> take_reply(bool head_request) {
    return vitals::test::take_reply(buf_, head_request);
  }

  int fd_ = -1;
  std::string buf_{};
};

/// "GET <target> HTTP/1.1" with a Host header and optional extra header lines.
inline std::string get(std::string_view target, std::string_view extra = {},
                       std::string_view method = "GET") {
  std::string s{method};
  s += ' ';
  s += target;
  s += " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  s += extra;
  s += "\r\n";
  return s;
}

/// A field of /proc/self/status in kB (VmRSS, Threads, ...).
inline long proc_status_kb(std::string_view field) {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(std::string{field} + ":", 0) == 0) {
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return -1;
}

}  // namespace vitals::test
