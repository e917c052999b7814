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

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

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

}  // namespace vitals::cli::testing
