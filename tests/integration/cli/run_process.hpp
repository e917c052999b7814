#pragma once
// Runs a program with a hard time bound and captures its exit code, stdout and stderr. Only the
// child started here is ever signalled (by its PID).

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

struct process_result {
  int exit_code = -1;  ///< -1 if killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
  bool killed_at_bound = false;
};

/// Runs argv (argv[0] is a path) with extra environment entries ("K=V"), killing it if it runs
/// longer than `bound`.
inline process_result run_process(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds bound = std::chrono::seconds{30},
                                  const std::vector<std::string>& extra_env = {}) {
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) env_store.emplace_back(*e);
  for (const auto& e : extra_env) env_store.push_back(e);
  std::vector<char*> env;
  for (auto& e : env_store) env.push_back(e.data());
  env.push_back(nullptr);

  const auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&fa);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    throw std::runtime_error("cannot spawn " + argv[0]);
  }
  process_result res;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    const auto left = bound - std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - start);
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      res.killed_at_bound = true;
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? res.out : res.err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  res.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (WIFEXITED(status)) {
    res.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    res.signal = WTERMSIG(status);
  }
  return res;
}

}  // namespace vitals::cli::testing

namespace vitals::cli::testing {

/// A child process kept running for the duration of a test (a server), killed by PID in the
/// destructor. `first_line()` waits (bounded) for the first line it prints on stdout.
class background_process {
 public:
  explicit background_process(const std::vector<std::string>& argv) {
    int out_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out_pipe[1]);
    if (rc != 0) {
      close(out_pipe[0]);
      throw std::runtime_error("cannot spawn " + argv[0]);
    }
    out_ = out_pipe[0];
  }
  ~background_process() {
    if (out_ >= 0) close(out_);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  background_process(const background_process&) = delete;
  background_process& operator=(const background_process&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }

  /// The first line printed on stdout, or "" if none within `bound`.
  std::string first_line(std::chrono::milliseconds bound = std::chrono::seconds{10}) {
    std::string line;
    const auto end = std::chrono::steady_clock::now() + bound;
    while (line.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char c[256];
      const ssize_t n = read(out_, c, sizeof c);
      if (n <= 0) return "";
      line.append(c, static_cast<std::size_t>(n));
    }
    return line.substr(0, line.find('\n'));
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
};

}  // namespace vitals::cli::testing
