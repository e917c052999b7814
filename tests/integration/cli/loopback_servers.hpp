#pragma once
// Small real servers on 127.0.0.1 for the CLI tests: a canned-response listener (for
// well-formed, garbage and truncated answers), a frozen listener (a child process SIGSTOPped
// after listen()), and a closed port. Each stops by itself in its destructor.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace vitals::cli::testing {

/// A listening socket on 127.0.0.1, on a free port.
inline int listen_loopback(std::uint16_t& port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 64) != 0) {
    close(fd);
    throw std::runtime_error("bind/listen");
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

/// A port nobody listens on (bound then closed: connecting to it is refused).
inline std::uint16_t closed_port() {
  std::uint16_t port = 0;
  close(listen_loopback(port));
  return port;
}

/// Answers every connection with `response` once the request head has arrived (or at once with
/// `answer_before_request`), then closes. Records the last request head.
class canned_server {
 public:
  explicit canned_server(std::string response, bool answer_before_request = false)
      : response_(std::move(response)), eager_(answer_before_request) {
    fd_ = listen_loopback(port_);
    thread_ = std::thread([this] { loop(); });
  }
  ~canned_server() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  canned_server(const canned_server&) = delete;
  canned_server& operator=(const canned_server&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::string url(const std::string& path = "/readyz") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  [[nodiscard]] std::string last_request() const {
    std::lock_guard lk(mu_);
    return last_request_;
  }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string req;
      if (eager_) {
        // Take what the client sent first (if anything) so closing never turns into a reset.
        pollfd q{c, POLLIN, 0};
        if (poll(&q, 1, 200) > 0) {
          char buf[4096];
          const ssize_t n = recv(c, buf, sizeof buf, 0);
          if (n > 0) req.assign(buf, static_cast<std::size_t>(n));
        }
      } else {
        char buf[4096];
        // Bounded: a client that sends nothing is dropped after 2 s.
        for (int i = 0; i < 40 && req.find("\r\n\r\n") == std::string::npos; ++i) {
          pollfd q{c, POLLIN, 0};
          if (poll(&q, 1, 50) <= 0) continue;
          const ssize_t n = recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          req.append(buf, static_cast<std::size_t>(n));
        }
      }
      {
        std::lock_guard lk(mu_);
        last_request_ = req;
      }
      if (!response_.empty()) {
        const ssize_t ignored = send(c, response_.data(), response_.size(), MSG_NOSIGNAL);
        static_cast<void>(ignored);
      }
      close(c);
    }
  }

  std::string response_;
  bool eager_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::string last_request_;
};

/// A listener owned by a child process that is SIGSTOPped: the kernel still completes TCP
/// handshakes into the backlog, but nobody ever answers — a frozen server.
class frozen_server {
 public:
  frozen_server() {
    const int fd = listen_loopback(port_);
    pid_ = fork();
    if (pid_ == 0) {
      for (;;) pause();  // owns the listener; never accepts
    }
    close(fd);
    kill(pid_, SIGSTOP);
    int status = 0;
    waitpid(pid_, &status, WUNTRACED);
  }
  ~frozen_server() {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  frozen_server(const frozen_server&) = delete;
  frozen_server& operator=(const frozen_server&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace vitals::cli::testing
