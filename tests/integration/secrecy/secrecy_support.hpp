#pragma once
// Shared pieces of the secrecy suite: the canary and every form it may leak in, a scanner that
// reports where it leaked (with the canary masked, so the test log itself stays clean), and the
// hostile peers the checks are pointed at: a port nobody listens on, a listener that accepts and
// never answers, and a listener that answers garbage echoing whatever it was sent (the worst case
// for a check that quotes a peer's reply). Every wait is bounded.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace vitals::secrecy {

using namespace std::chrono_literals;

/// The password put into every check's configuration. The '@' makes its percent-encoded form (in
/// URLs) differ from the raw one, so both must be searched for.
inline constexpr std::string_view canary = "Canary-Pw@7f3b9c";
inline constexpr std::string_view canary_pct = "Canary-Pw%407f3b9c";
/// The user sent with it (Basic authentication is base64("user:password")).
inline constexpr std::string_view canary_user = "vitals";
/// The bearer token of the endpoints: it must not leak either (logs, CLI output).
inline constexpr std::string_view endpoint_token = "Tok-Secrecy-4d5e6f7a8b";

inline std::string base64(std::string_view in) {
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) |
                   (static_cast<unsigned char>(in[i + 1]) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += table[(n >> 6) & 63];
    out += table[n & 63];
  }
  if (i + 1 == in.size()) {
    const auto n = static_cast<unsigned char>(in[i]) << 16;
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const auto n =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += table[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

/// Every form of a secret searched for. The bare suffix "7f3b9c" also catches a truncated or
/// re-encoded canary (a leak of half a password is a leak).
struct needle {
  std::string text;
  std::string label;
};
inline const std::vector<needle>& needles() {
  static const std::vector<needle> n = [] {
    const std::string basic = base64(std::string{canary_user} + ":" + std::string{canary});
    std::vector<needle> v{
        {std::string{canary}, "canary"},
        {std::string{canary_pct}, "canary (percent-encoded)"},
        {"Canary-Pw%407F3B9C", "canary (percent-encoded, upper)"},
        {"7f3b9c", "canary suffix"},
        {basic, "base64(user:canary)"},
        // Without its padding and last group: catches a truncated Basic header too.
        {basic.substr(0, basic.size() - 4), "base64(user:canary) prefix"},
        {base64(canary), "base64(canary)"},
        {std::string{endpoint_token}, "endpoint token"},
    };
    return v;
  }();
  return n;
}

/// `text` with every needle replaced by <label>, for failure messages.
inline std::string masked(std::string text) {
  for (const auto& n : needles()) {
    for (auto p = text.find(n.text); p != std::string::npos; p = text.find(n.text, p)) {
      text.replace(p, n.text.size(), "<" + n.label + ">");
    }
  }
  return text;
}

/// Counts what was scanned, so the report can say how much output was searched.
struct scan_stats {
  std::size_t texts = 0;
  std::size_t bytes = 0;
};
inline scan_stats& stats() {
  static scan_stats s;
  return s;
}

/// Fails the test (non-fatally) for every form of the canary found in `text`; `where` names the
/// output (endpoint and caller, log, command...). Returns true if clean.
inline bool expect_clean(const std::string& where, const std::string& text) {
  ++stats().texts;
  stats().bytes += text.size();
  bool clean = true;
  for (const auto& n : needles()) {
    const auto p = text.find(n.text);
    if (p == std::string::npos) continue;
    clean = false;
    const auto from = p > 120 ? p - 120 : 0;
    ADD_FAILURE() << "LEAK of " << n.label << " in " << where << ":\n  ..."
                  << masked(text.substr(from, 300)) << "...";
  }
  return clean;
}

/// The value of a variable exported by scripts/test-servers.sh; skips (or fails when
/// VITALS_REQUIRE_SERVERS=1) when unset.
inline std::string server_env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}
inline bool servers_required() {
  const char* v = std::getenv("VITALS_REQUIRE_SERVERS");
  return v != nullptr && std::string_view{v} == "1";
}
#define VITALS_SECRECY_SERVER(var, name)                                                  \
  const std::string var = ::vitals::secrecy::server_env(name);                            \
  if (var.empty()) {                                                                      \
    if (::vitals::secrecy::servers_required()) GTEST_FAIL() << name << " is not set";     \
    GTEST_SKIP() << name << " not set: scripts/test-servers.sh start; source its env.sh"; \
  }                                                                                       \
  static_assert(true, "")

/// host:port of a URL such as `postgres://user:pw@127.0.0.1:55432/db`.
inline std::string host_port_of(const std::string& url) {
  auto rest = url.substr(url.find("://") + 3);
  if (const auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  return rest.substr(0, rest.find('/'));
}
/// The same URL with the password replaced by the (wrong) canary, percent-encoded.
inline std::string with_canary_password(const std::string& url) {
  const auto scheme_end = url.find("://") + 3;
  const auto at = url.rfind('@');
  std::string user = url.substr(scheme_end, at - scheme_end);
  user = user.substr(0, user.find(':'));
  return url.substr(0, scheme_end) + user + ":" + std::string{canary_pct} + url.substr(at);
}

inline int loopback_listener(std::uint16_t* port, int backlog) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, backlog) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind/listen");
  }
  *port = ntohs(a.sin_port);
  return fd;
}

/// A port on 127.0.0.1 nothing listens on (bound, then closed): connections are refused.
inline std::uint16_t refused_port() {
  std::uint16_t port = 0;
  ::close(loopback_listener(&port, 1));
  return port;
}

/// A listener whose connections complete in the kernel backlog and are never accepted, read or
/// answered: the peer looks frozen (instead of SIGSTOPping a shared server).
class silent_listener {
 public:
  silent_listener() : fd_(loopback_listener(&port_, 128)) {}
  ~silent_listener() { ::close(fd_); }
  silent_listener(const silent_listener&) = delete;
  silent_listener& operator=(const silent_listener&) = delete;
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  std::uint16_t port_ = 0;
  int fd_ = -1;
};

/// Accepts every connection, reads what the client sends for a short while, then answers bytes
/// that are no protocol at all but quote everything received (credentials included), and closes.
class garbage_listener {
 public:
  garbage_listener() : fd_(loopback_listener(&port_, 64)), thread_([this] { serve(); }) {}
  ~garbage_listener() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  garbage_listener(const garbage_listener&) = delete;
  garbage_listener& operator=(const garbage_listener&) = delete;
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::size_t connections() const noexcept { return connections_; }

 private:
  void serve() {
    // One thread per connection: the checks of a scenario connect at the same time and each must
    // get its garbage well within its timeout.
    std::vector<std::thread> sessions;
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++connections_;
      sessions.emplace_back([c] { answer(c); });
    }
    for (auto& t : sessions) t.join();
  }

  static void answer(int c) {
    std::string got;
    const auto until = std::chrono::steady_clock::now() + 100ms;
    while (got.size() < 8192) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left <= 0ms) break;
      pollfd q{c, POLLIN, 0};
      if (::poll(&q, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[4096];
      const auto n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    // No protocol starts like this (not HTTP, not TLS, not RESP, not a PostgreSQL or MySQL
    // packet), and it quotes the request back in full.
    // Each word on its own too, as an error quoting one argument would ("-ERR bad 'pw'").
    std::string words;
    std::size_t from = 0;
    while (from < got.size()) {
      const auto end = std::min(got.find_first_of(" \t\r\n", from), got.size());
      if (end > from) words += " [" + got.substr(from, end - from) + "]";
      from = end + 1;
    }
    const std::string reply = "~~garbage~~ you said <" + got + "> ~~garbage~~" + words + "\r\n";
    (void)::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
    ::shutdown(c, SHUT_RDWR);
    ::close(c);
  }

  std::uint16_t port_ = 0;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> connections_{0};
  std::thread thread_;
};

/// A fresh directory under the temp dir, removed on destruction.
class temp_dir {
 public:
  temp_dir() {
    std::mt19937_64 rng{std::random_device{}()};
    path_ =
        std::filesystem::temp_directory_path() /
        ("vitals-secrecy-" + std::to_string(::getpid()) + "-" + std::to_string(rng() % 1000000));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    const auto p = path_ / name;
    std::ofstream{p, std::ios::binary} << text;
    return p;
  }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

}  // namespace vitals::secrecy
