#pragma once
// Real gRPC servers for the `vitals probe grpc://` tests, driven through their stdin: the grpc++
// peer with gRPC's own default health service (tests/peers) and a Python grpcio server
// (grpc_health_server.py). Both print `port <N>` once listening and take `set <service>
// <STATUS>` commands. Each is killed by its PID in the destructor.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "loopback_servers.hpp"

extern char** environ;

namespace vitals::cli::testing {

class peer_process {
 public:
  explicit peer_process(const std::vector<std::string>& argv) {
    int in_pipe[2];
    int out_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe failed");
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_pipe[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in_pipe[0]);
    close(out_pipe[1]);
    if (rc != 0) {
      close(in_pipe[1]);
      close(out_pipe[0]);
      throw std::runtime_error("cannot spawn " + argv[0]);
    }
    in_ = in_pipe[1];
    out_ = out_pipe[0];
  }
  ~peer_process() {
    if (in_ >= 0) close(in_);
    if (out_ >= 0) close(out_);
    if (pid_ > 0) {
      kill(pid_, SIGCONT);  // a test may have frozen it
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  peer_process(const peer_process&) = delete;
  peer_process& operator=(const peer_process&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }

  /// The next line on stdout, or "" if none within `bound`.
  std::string read_line(std::chrono::milliseconds bound = std::chrono::seconds{15}) {
    const auto end = std::chrono::steady_clock::now() + bound;
    while (buffer_.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char c[512];
      const ssize_t n = read(out_, c, sizeof c);
      if (n <= 0) return "";
      buffer_.append(c, static_cast<std::size_t>(n));
    }
    const auto nl = buffer_.find('\n');
    std::string line = buffer_.substr(0, nl);
    buffer_.erase(0, nl + 1);
    return line;
  }

  /// Sends one command line and returns the server's one-line answer.
  std::string command(const std::string& line) {
    const std::string l = line + "\n";
    if (write(in_, l.data(), l.size()) != static_cast<ssize_t>(l.size())) return "";
    return read_line();
  }

  /// Waits for `port <N>` and returns N (0 if the server did not start).
  int wait_port() {
    const std::string line = read_line();
    if (line.rfind("port ", 0) != 0) return 0;
    return std::stoi(line.substr(5));
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  std::string buffer_;
};

// ---- hand-made HTTP/2 answers -----------------------------------------------------------
// To put in front of the probe what no correct gRPC server sends (compressed or oversized
// messages, missing trailers, resets...): frames and HPACK literals written byte by byte.

namespace h2 {

inline std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                         const std::string& payload) {
  std::string f;
  const auto n = static_cast<std::uint32_t>(payload.size());
  f += static_cast<char>(n >> 16);
  f += static_cast<char>(n >> 8);
  f += static_cast<char>(n);
  f += static_cast<char>(type);
  f += static_cast<char>(flags);
  f += static_cast<char>((stream >> 24) & 0x7f);
  f += static_cast<char>(stream >> 16);
  f += static_cast<char>(stream >> 8);
  f += static_cast<char>(stream);
  return f + payload;
}

constexpr std::uint8_t data = 0, headers = 1, rst_stream = 3, settings = 4, goaway = 7;
constexpr std::uint8_t end_stream = 1, end_headers = 4;

/// A header block of literals without indexing (names and values shorter than 127 bytes).
inline std::string block(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string b;
  for (const auto& [name, value] : fields) {
    b += '\0';
    b += static_cast<char>(name.size());
    b += name;
    b += static_cast<char>(value.size());
    b += value;
  }
  return b;
}

/// A gRPC message: flags, big-endian length (as announced), payload.
inline std::string message(const std::string& payload, std::uint8_t flags = 0,
                           std::uint32_t announced = UINT32_MAX) {
  const std::uint32_t n =
      announced == UINT32_MAX ? static_cast<std::uint32_t>(payload.size()) : announced;
  std::string m;
  m += static_cast<char>(flags);
  m += static_cast<char>(n >> 24);
  m += static_cast<char>(n >> 16);
  m += static_cast<char>(n >> 8);
  m += static_cast<char>(n);
  return m + payload;
}

/// The server preface (an empty SETTINGS) and the response to stream 1.
inline std::string answer(const std::vector<std::pair<std::string, std::string>>& head,
                          const std::string& body,
                          const std::vector<std::pair<std::string, std::string>>& trailers) {
  std::string out = frame(settings, 0, 0, "");
  const bool trailers_only = body.empty() && trailers.empty();
  out += frame(headers, end_headers | (trailers_only ? end_stream : 0), 1, block(head));
  if (!body.empty()) out += frame(data, trailers.empty() ? end_stream : 0, 1, body);
  if (!trailers.empty()) out += frame(headers, end_headers | end_stream, 1, block(trailers));
  return out;
}

}  // namespace h2

/// Answers every connection with fixed bytes once the client's preface has arrived, then reads
/// until the client closes (so that closing never turns into a reset), bounded.
class h2_canned_server {
 public:
  explicit h2_canned_server(std::string bytes) : bytes_(std::move(bytes)) {
    fd_ = listen_loopback(port_);
    thread_ = std::thread([this] { loop(); });
  }
  ~h2_canned_server() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  h2_canned_server(const h2_canned_server&) = delete;
  h2_canned_server& operator=(const h2_canned_server&) = delete;
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string got;
      char buf[4096];
      for (int i = 0; i < 40 && got.size() < 24; ++i) {  // the 24-byte client preface
        pollfd q{c, POLLIN, 0};
        if (poll(&q, 1, 50) <= 0) continue;
        const ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
      }
      const ssize_t ignored = send(c, bytes_.data(), bytes_.size(), MSG_NOSIGNAL);
      static_cast<void>(ignored);
      // Then read until the client closes, or sends nothing for 300 ms: a canned answer that
      // stops short (a DATA frame cut in the middle) ends with this close, well before the
      // probe's 2 s deadline however slow the machine (a 2 s linger raced with it).
      for (;;) {
        pollfd q{c, POLLIN, 0};
        if (poll(&q, 1, 300) <= 0) break;
        if (recv(c, buf, sizeof buf, 0) <= 0) break;
      }
      close(c);
    }
  }

  std::string bytes_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace vitals::cli::testing
