#pragma once
// Shared support of the data-store check tests: server addresses from the environment
// (scripts/test-servers.sh), private server processes, a garbage-speaking listener, process
// freezing with a guaranteed SIGCONT, and /proc counters. Every wait is bounded.

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "vitals/check.hpp"

extern char** environ;

namespace vitals::test {

using namespace std::chrono_literals;

/// The value of an environment variable exported by scripts/test-servers.sh, or "" — the caller
/// skips (or fails, when VITALS_REQUIRE_SERVERS=1) through VITALS_SERVER_ENV.
inline std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}
inline bool servers_required() {
  const char* v = std::getenv("VITALS_REQUIRE_SERVERS");
  return v != nullptr && std::string(v) == "1";
}

/// `VITALS_SERVER_ENV(url, "VITALS_TEST_PG_URL");` declares `std::string url` from the
/// environment; skips the test if unset, or fails it when the test command asked for real
/// servers (VITALS_REQUIRE_SERVERS=1).
#define VITALS_SERVER_ENV(var, name)                                                            \
  std::string var = ::vitals::test::env_or_empty(name);                                         \
  if (var.empty()) {                                                                            \
    if (::vitals::test::servers_required()) {                                                   \
      GTEST_FAIL() << name << " is not set (run scripts/test-servers.sh start, source env.sh)"; \
    }                                                                                           \
    GTEST_SKIP() << name << " not set: start scripts/test-servers.sh and source its env.sh";    \
  }                                                                                             \
  static_assert(true, "")

/// The value of a result's detail `key`, or "" if it has none.
inline std::string detail_of(const vitals::result& r, const std::string& key) {
  for (const auto& [k, v] : r.details) {
    if (k == key) return v;
  }
  return {};
}

/// One run of a check with a deadline `timeout` from now (no engine involved).
inline vitals::result run_once(vitals::check& c, std::chrono::milliseconds timeout = 2s) {
  const vitals::context ctx{"t", std::chrono::steady_clock::now() + timeout,
                            std::make_shared<std::atomic<bool>>(false)};
  return c.run(ctx);
}

/// Number of threads of this process.
inline int thread_count() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (const dirent* e = ::readdir(d)) n += e->d_name[0] != '.' ? 1 : 0;
    ::closedir(d);
  }
  return n;
}

/// Number of open file descriptors of this process that are sockets.
inline int socket_count() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      char target[128] = {};
      const std::string path = std::string("/proc/self/fd/") + e->d_name;
      if (::readlink(path.c_str(), target, sizeof target - 1) > 0 &&
          std::string(target).rfind("socket:", 0) == 0) {
        ++n;
      }
    }
    ::closedir(d);
  }
  return n;
}

/// A loopback port nothing listens on (bound then closed).
inline std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

/// True once 127.0.0.1:port accepts a TCP connection (polled up to `timeout`).
inline bool wait_listening(std::uint16_t port, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

/// A server process started by the test and stopped by PID (SIGCONT, SIGTERM, then SIGKILL).
class child_process {
 public:
  child_process() = default;
  explicit child_process(std::vector<std::string> argv) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() { stop(); }

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] bool started() const noexcept { return pid_ > 0; }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {  // 2 s
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(10ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

/// A private redis-server on a free loopback port (no persistence), with `password` as
/// requirepass if non-empty.
inline std::unique_ptr<child_process> start_redis(std::uint16_t port, const std::string& password) {
  std::vector<std::string> argv{
      "redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1",
      "--save",       "",       "--appendonly",       "no",     "--dir",
      "/tmp"};
  if (!password.empty()) {
    argv.emplace_back("--requirepass");
    argv.push_back(password);
  }
  auto p = std::make_unique<child_process>(std::move(argv));
  if (!p->started() || !wait_listening(port, 5s)) return nullptr;
  return p;
}

/// A private memcached on a free loopback port.
inline std::unique_ptr<child_process> start_memcached(std::uint16_t port) {
  std::vector<std::string> argv{"memcached", "-l", "127.0.0.1", "-p", std::to_string(port),
                                "-U",        "0",  "-m",        "16"};
  if (::geteuid() == 0) {
    argv.emplace_back("-u");
    argv.emplace_back("memcache");
  }
  auto p = std::make_unique<child_process>(std::move(argv));
  if (!p->started() || !wait_listening(port, 5s)) return nullptr;
  return p;
}

/// SIGSTOPs processes for the lifetime of the object; SIGCONT is guaranteed by the destructor
/// (also when an assertion fails half-way).
class frozen {
 public:
  // kill() only queues the stop: a thread busy elsewhere (in the kernel, or on the other core of
  // a loaded machine) may still answer a request or two. Frozen means every thread of every
  // process is stopped (state T in /proc/<pid>/task/<tid>/stat), waited for up to 2 s.
  explicit frozen(std::vector<pid_t> pids) : pids_(std::move(pids)) {
    for (const pid_t p : pids_) ::kill(p, SIGSTOP);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{2};
    while (!all_stopped() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  frozen(const frozen&) = delete;
  frozen& operator=(const frozen&) = delete;
  ~frozen() { thaw(); }
  void thaw() {
    for (const pid_t p : pids_) ::kill(p, SIGCONT);
    pids_.clear();
  }

 private:
  [[nodiscard]] bool all_stopped() const {
    for (const pid_t p : pids_) {
      const std::string tasks = "/proc/" + std::to_string(p) + "/task";
      DIR* d = ::opendir(tasks.c_str());
      if (d == nullptr) continue;  // gone: nothing left to answer
      bool stopped = true;
      while (const dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        std::ifstream in(tasks + "/" + e->d_name + "/stat");
        std::string line;
        std::getline(in, line);
        const auto close = line.rfind(") ");
        const char state = close != std::string::npos && close + 2 < line.size()
                               ? line[close + 2]
                               : 'X';  // vanished while read: not answering either
        if (state != 'T' && state != 't' && state != 'Z' && state != 'X') stopped = false;
      }
      ::closedir(d);
      if (!stopped) return false;
    }
    return true;
  }

  std::vector<pid_t> pids_;
};

/// `pid` and its direct children (a PostgreSQL postmaster serves each connection from a child:
/// freezing only the postmaster would leave a kept connection answering).
inline std::vector<pid_t> with_children(pid_t pid) {
  std::vector<pid_t> out{pid};
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  pid_t c = 0;
  while (in >> c) out.push_back(c);
  return out;
}

/// A loopback listener that answers every connection with the same pseudo-random bytes (fixed
/// seed) and then keeps reading until the client closes (or 2 s). Not any protocol.
class garbage_server {
 public:
  explicit garbage_server(std::uint32_t seed = 42, std::size_t bytes = 512) {
    std::mt19937 rng(seed);
    garbage_.resize(bytes);
    for (auto& ch : garbage_) ch = static_cast<char>(rng() & 0xff);
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  garbage_server(const garbage_server&) = delete;
  garbage_server& operator=(const garbage_server&) = delete;
  ~garbage_server() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] const std::string& bytes() const noexcept { return garbage_; }
  [[nodiscard]] int connections() const noexcept { return connections_.load(); }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      (void)::send(fd, garbage_.data(), garbage_.size(), MSG_NOSIGNAL);
      const auto until = std::chrono::steady_clock::now() + 2s;
      char buf[1024];
      while (!stop_ && std::chrono::steady_clock::now() < until) {
        pollfd c{fd, POLLIN, 0};
        if (::poll(&c, 1, 20) > 0 && ::recv(fd, buf, sizeof buf, 0) <= 0) break;
      }
      ::close(fd);
    }
  }

  std::string garbage_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

/// `url` with its password replaced by `password` (for wrong-password tests).
inline std::string with_password(const std::string& url, const std::string& password) {
  const auto scheme_end = url.find("://");
  const auto at = url.find('@', scheme_end);
  const auto colon = url.find(':', scheme_end + 3);
  if (scheme_end == std::string::npos || at == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + password + url.substr(at);
}

/// The password part of a URL's userinfo ("" if none).
inline std::string password_of(const std::string& url) {
  const auto scheme_end = url.find("://");
  const auto at = url.find('@', scheme_end);
  const auto colon = url.find(':', scheme_end + 3);
  if (scheme_end == std::string::npos || at == std::string::npos || colon > at) return "";
  return url.substr(colon + 1, at - colon - 1);
}

}  // namespace vitals::test
