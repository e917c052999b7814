// The command channel: argv without a shell, the webhook JSON on stdin, killed at the deadline.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "vitals/notify.hpp"

extern char** environ;  // NOLINT: POSIX

namespace vitals::notify {

namespace {

struct fd_pair {
  int fd[2] = {-1, -1};
  ~fd_pair() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
  void close(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

// A program that exits without reading its stdin must not kill us with SIGPIPE: the signal is
// blocked in this thread for the write, and a pending one consumed.
ssize_t write_no_sigpipe(int fd, const char* data, std::size_t n) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  const ssize_t w = ::write(fd, data, n);
  const int saved = errno;
  if (w < 0 && saved == EPIPE) {
    const timespec zero{0, 0};
    static_cast<void>(::sigtimedwait(&pipe_set, nullptr, &zero));
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return w;
}

class command_notifier final : public notifier {
 public:
  explicit command_notifier(command_notifier_options o) : options_(std::move(o)) {
    if (options_.argv.empty() || options_.argv.front().empty()) {
      throw std::invalid_argument("command notifier: argv is empty");
    }
  }

  delivery send(const message& m, steady_time deadline) override {
    const std::string input = render_payloads(http_format::webhook, m).front() + "\n";
    fd_pair in, out;
    if (::pipe2(in.fd, O_CLOEXEC) != 0 || ::pipe2(out.fd, O_CLOEXEC) != 0) {
      return {.ok = false, .error = std::string("pipe: ") + std::strerror(errno)};
    }
    posix_spawn_file_actions_t fa;
    ::posix_spawn_file_actions_init(&fa);
    ::posix_spawn_file_actions_adddup2(&fa, in.fd[0], 0);
    ::posix_spawn_file_actions_adddup2(&fa, out.fd[1], 1);
    ::posix_spawn_file_actions_adddup2(&fa, out.fd[1], 2);
    std::vector<char*> argv;
    for (auto& a : options_.argv) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      return {.ok = false,
              .error = "cannot run " + options_.argv.front() + ": " + std::strerror(rc),
              .permanent = rc == ENOENT || rc == EACCES};
    }
    in.close(0);
    out.close(1);
    ::fcntl(in.fd[1], F_SETFL, O_NONBLOCK);
    std::size_t written = 0;
    std::string output;
    bool killed = false;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ::kill(pid, SIGKILL);
        killed = true;
        break;
      }
      pollfd fds[2] = {{out.fd[0], POLLIN, 0}, {in.fd[1], POLLOUT, 0}};
      const int n = ::poll(fds, in.fd[1] >= 0 ? 2 : 1, static_cast<int>(left.count()) + 1);
      if (n < 0 && errno != EINTR) break;
      if (in.fd[1] >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
        const ssize_t w =
            write_no_sigpipe(in.fd[1], input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<std::size_t>(w);
        if (w < 0 && errno != EAGAIN) written = input.size();  // EPIPE: it does not read stdin
        if (written >= input.size()) in.close(1);
      }
      if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        char buf[512];
        const ssize_t r = ::read(out.fd[0], buf, sizeof buf);
        if (r <= 0) break;  // every writer closed: the program has ended (or closed its output)
        if (output.size() < 1024) output.append(buf, static_cast<std::size_t>(r));
      }
    }
    int st = 0;
    if (!killed) {
      // Output closed: wait for the exit, still within the deadline.
      while (::waitpid(pid, &st, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() >= deadline) {
          ::kill(pid, SIGKILL);
          killed = true;
          break;
        }
        ::usleep(2000);
      }
    }
    if (killed) ::waitpid(pid, &st, 0);
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
    if (killed) return {.ok = false, .error = options_.argv.front() + " killed at the deadline"};
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return {};
    std::string why = WIFEXITED(st) ? "exit status " + std::to_string(WEXITSTATUS(st))
                                    : "killed by signal " + std::to_string(WTERMSIG(st));
    if (!output.empty()) why += ": " + output.substr(0, 200);
    return {.ok = false, .error = options_.argv.front() + " failed (" + why + ")"};
  }

 private:
  command_notifier_options options_;
};

}  // namespace

std::shared_ptr<notifier> make_command_notifier(command_notifier_options options) {
  return std::make_shared<command_notifier>(std::move(options));
}

}  // namespace vitals::notify
