#include "vitals/checks/exec.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/format.hpp"
#include "vitals/checks/descriptors.hpp"
#include "vitals/redact.hpp"

extern char** environ;  // NOLINT: POSIX

namespace vitals::checks {
namespace {

using std::chrono::steady_clock;

/// Owns a descriptor; closed on every path so 50 runs leave the fd table as it was.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  void reset() noexcept {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_ = -1;
};

struct spawn_attr {
  posix_spawnattr_t attr{};
  spawn_attr() { ::posix_spawnattr_init(&attr); }
  ~spawn_attr() { ::posix_spawnattr_destroy(&attr); }
  spawn_attr(const spawn_attr&) = delete;
  spawn_attr& operator=(const spawn_attr&) = delete;
};

struct spawn_actions {
  posix_spawn_file_actions_t actions{};
  spawn_actions() { ::posix_spawn_file_actions_init(&actions); }
  ~spawn_actions() { ::posix_spawn_file_actions_destroy(&actions); }
  spawn_actions(const spawn_actions&) = delete;
  spawn_actions& operator=(const spawn_actions&) = delete;
};

/// A descriptor that polls readable when `pid` exits (Linux >= 5.3), or -1. Called through
/// syscall(): glibc 2.36's <sys/pidfd.h> lacks C linkage for C++ callers.
int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

/// Cuts at `max` bytes without splitting a UTF-8 sequence, drops control characters other than
/// newline and tab (the text ends up in probe bodies and logs), trims trailing whitespace.
std::string clean_output(std::string_view text, std::size_t max, bool& truncated) {
  truncated = text.size() > max;
  if (truncated) {
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) {
      --cut;
    }
    text = text.substr(0, cut);
  }
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 && c != '\n' && c != '\t' ? '?' : u == 0x7F ? '?' : c);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\t')) {
    out.pop_back();
  }
  return out;
}

class exec_check final : public vitals::check, public checks::descriptor_user {
 public:
  // The output pipe (both ends while spawning) and /dev/null for the child's stdin.
  [[nodiscard]] std::size_t descriptors() const noexcept override { return 3; }

  explicit exec_check(exec_options options) : options_(std::move(options)) {
    for (const auto& s : options_.secrets) {
      redactor_.add_secret(s);
      longest_secret_ = std::max(longest_secret_, s.size());
    }
    argv_storage_.push_back(options_.command);
    argv_storage_.insert(argv_storage_.end(), options_.args.begin(), options_.args.end());
  }

  vitals::result run(const vitals::context& ctx) override {
    const auto start = steady_clock::now();
    const auto deadline = ctx.deadline();
    if (start >= deadline || ctx.cancelled()) {
      return vitals::fail("deadline passed before " + program() + " was started",
                          vitals::failure_kind::timeout);
    }

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      return sys_failure("pipe");
    }
    unique_fd rd{fds[0]};
    unique_fd wr{fds[1]};
    // Only our end is non-blocking: the child gets an ordinary blocking stdout.
    ::fcntl(rd.get(), F_SETFL, ::fcntl(rd.get(), F_GETFL) | O_NONBLOCK);

    pid_t pid = -1;
    if (const int rc = spawn(wr, pid); rc != 0) {
      return vitals::fail(scrub("cannot run " + program() + ": " + std::strerror(rc)),
                          vitals::failure_kind::internal);
    }
    wr.reset();  // else we would never see EOF

    const child_run c = watch(ctx, pid, rd, deadline);
    const reaping w = reap(pid, c.lost);
    const double ms =
        std::chrono::duration<double, std::milli>(steady_clock::now() - start).count();

    if (!c.exited) {
      const std::string why = c.timed_out
                                  ? "timed out after " + base::format_duration(deadline - start)
                                  : std::string("cancelled");
      return vitals::fail(why + " running " + program() + "; process group killed",
                          vitals::failure_kind::timeout)
          .observe(ms, "ms");
    }
    if (w.reaped != pid) {
      // SIGCHLD set to SIG_IGN by the host, or another thread reaped our child.
      return vitals::fail(
                 "exit status of " + program() + " was lost (" + std::strerror(w.wait_errno) + ")",
                 vitals::failure_kind::internal)
          .observe(ms, "ms");
    }
    return judge(w.status, c.captured).observe(ms, "ms");
  }

  [[nodiscard]] vitals::check_traits traits() const override {
    return {.type = "exec",
            .component_type = "component",
            .measurement = "responseTime",
            .dependency = true,
            .secrets = options_.secrets};
  }

 private:
  // What watching the child saw: its output (bounded) and how the wait ended.
  struct child_run {
    std::string captured;
    bool exited = false;
    bool timed_out = false;
    bool lost = false;  // waitid() says the child is gone without us reaping it
  };
  struct reaping {
    int status = 0;
    pid_t reaped = -1;
    int wait_errno = ECHILD;
  };

  // posix_spawn()s the command with `wr` as stdout/stderr, /dev/null as stdin, no other
  // inherited descriptor, its own process group and default signals. 0 or an errno.
  int spawn(const unique_fd& wr, pid_t& pid) {
    spawn_actions fa;
    ::posix_spawn_file_actions_adddup2(&fa.actions, wr.get(), STDOUT_FILENO);
    ::posix_spawn_file_actions_adddup2(&fa.actions, wr.get(), STDERR_FILENO);
    ::posix_spawn_file_actions_addopen(&fa.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    // Descriptors the host opened without O_CLOEXEC (sockets, database files) must not leak.
    ::posix_spawn_file_actions_addclosefrom_np(&fa.actions, 3);
    if (!options_.working_dir.empty()) {
      ::posix_spawn_file_actions_addchdir_np(&fa.actions, options_.working_dir.c_str());
    }

    spawn_attr sa;
    sigset_t none;
    sigset_t all;
    sigemptyset(&none);
    sigemptyset(&all);
    // Every signal but glibc's internal ones (32, 33), which it keeps to itself.
    for (int sig = 1; sig < 32; ++sig) {
      sigaddset(&all, sig);
    }
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; ++sig) {
      sigaddset(&all, sig);
    }
    // Own process group so the deadline can kill everything the command started; the
    // engine's thread may block or ignore signals (SIGPIPE, SIGTERM): the child must not.
    ::posix_spawnattr_setflags(
        &sa.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    ::posix_spawnattr_setpgroup(&sa.attr, 0);
    ::posix_spawnattr_setsigmask(&sa.attr, &none);
    ::posix_spawnattr_setsigdefault(&sa.attr, &all);

    std::vector<char*> argv;
    argv.reserve(argv_storage_.size() + 1);
    for (auto& a : argv_storage_) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);

    std::vector<std::string> env_storage;
    std::vector<char*> envp;
    char** env = environ;
    if (!options_.env.empty()) {
      env_storage = merged_environment();
      envp.reserve(env_storage.size() + 1);
      for (auto& e : env_storage) {
        envp.push_back(e.data());
      }
      envp.push_back(nullptr);
      env = envp.data();
    }

    const bool search = options_.command.find('/') == std::string::npos;
    return search ? ::posix_spawnp(&pid, options_.command.c_str(), &fa.actions, &sa.attr,
                                   argv.data(), env)
                  : ::posix_spawn(&pid, options_.command.c_str(), &fa.actions, &sa.attr,
                                  argv.data(), env);
  }

  // Reads the child's output until it exits, the deadline passes or the run is cancelled.
  child_run watch(const vitals::context& ctx, pid_t pid, unique_fd& rd,
                  steady_clock::time_point deadline) const {
    // A pidfd lets poll() wake up on exit; without one (old kernel) poll in short slices.
    unique_fd pidfd{open_pidfd(pid)};
    child_run c;
    const std::size_t keep = options_.max_output + longest_secret_ + 256;
    char buf[4096];
    auto drain = [&] {
      for (;;) {
        const ssize_t n = ::read(rd.get(), buf, sizeof buf);
        if (n > 0) {
          // Keep reading past the limit so a chatty child never blocks on a full pipe.
          const auto room = keep - std::min(keep, c.captured.size());
          c.captured.append(buf, std::min(room, static_cast<std::size_t>(n)));
          continue;
        }
        if (n < 0 && errno == EINTR) {
          continue;
        }
        if (n == 0) {
          rd.reset();
        }
        return;
      }
    };

    for (;;) {
      if (child_exited(pid, c.lost)) {
        c.exited = true;
        break;
      }
      const auto now = steady_clock::now();
      if (now >= deadline) {
        c.timed_out = true;
        break;
      }
      if (ctx.cancelled()) {
        break;
      }
      auto wait = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
      // Bounded so that cancellation is noticed, and short when we cannot poll for the exit.
      const bool can_poll_exit = pidfd.valid();
      wait = std::min(wait, std::chrono::milliseconds{can_poll_exit ? 100 : 10});
      pollfd pfds[2];
      nfds_t n = 0;
      if (rd.valid()) {
        pfds[n++] = {.fd = rd.get(), .events = POLLIN, .revents = 0};
      }
      if (can_poll_exit) {
        pfds[n++] = {.fd = pidfd.get(), .events = POLLIN, .revents = 0};
      }
      const int pr = ::poll(pfds, n, static_cast<int>(wait.count()));
      if (pr < 0 && errno != EINTR) {
        break;  // cannot wait any more: treated as cancellation, the group is killed
      }
      if (rd.valid()) {
        drain();
      }
    }
    if (c.exited && rd.valid()) {
      drain();  // what the command wrote just before exiting
    }
    return c;
  }

  // Kills the whole group before reaping the leader: while the leader is an unreaped zombie
  // its pid (= the group id) cannot be reused, so this never hits an unrelated process. On a
  // normal exit it removes whatever the command left running in the background.
  static reaping reap(pid_t pid, bool lost) {
    reaping w;
    if (!lost) {
      ::killpg(pid, SIGKILL);
      do {
        w.reaped = ::waitpid(pid, &w.status, 0);
      } while (w.reaped < 0 && errno == EINTR);
      w.wait_errno = errno;
    }
    return w;
  }

  // Exit status 0 → pass, 1 → warn, other → fail; a signal → fail; output scrubbed and cut.
  vitals::result judge(int status, const std::string& captured) const {
    bool truncated = false;
    std::string output = clean_output(scrub(captured), options_.max_output, truncated);
    vitals::result r;
    if (WIFEXITED(status)) {
      const int code = WEXITSTATUS(status);
      if (output.empty()) {
        output = program() + " exited with status " + std::to_string(code);
      }
      r = code == 0 ? vitals::pass() : code == 1 ? vitals::warn(output) : vitals::fail(output);
      r.detail("exit_code", std::to_string(code));
    } else {
      const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      const std::string what =
          program() + " killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
      r = vitals::fail(output.empty() ? what : what + ": " + output);
      r.detail("signal", std::to_string(sig));
    }
    if (truncated) {
      r.detail("output_truncated", "true");
    }
    return r;
  }

  /// Exited (or was killed), without reaping it: see reap().
  /// `lost`: the child is gone but not ours to reap any more (SIGCHLD ignored by the host).
  static bool child_exited(pid_t pid, bool& lost) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
      lost = errno == ECHILD;
      return lost;
    }
    return info.si_pid == pid;
  }

  [[nodiscard]] std::string program() const { return scrub(options_.command); }

  [[nodiscard]] std::string scrub(std::string_view text) const { return redactor_.scrub(text); }

  vitals::result sys_failure(const char* what) const {
    const int err = errno;
    return vitals::fail(std::string(what) + ": " + std::strerror(err),
                        vitals::failure_kind::internal);
  }

  [[nodiscard]] std::vector<std::string> merged_environment() const {
    std::vector<std::string> out;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      const std::string_view entry{*e};
      const auto name = entry.substr(0, entry.find('='));
      const bool overridden = std::any_of(options_.env.begin(), options_.env.end(),
                                          [&](const auto& kv) { return kv.first == name; });
      if (!overridden) {
        out.emplace_back(entry);
      }
    }
    for (const auto& [k, v] : options_.env) {
      out.push_back(k + "=" + v);
    }
    return out;
  }

  exec_options options_;
  vitals::redactor redactor_;
  std::size_t longest_secret_ = 0;
  std::vector<std::string> argv_storage_;  // not mutated during a run; posix_spawn wants char*
};

}  // namespace

std::shared_ptr<vitals::check> exec(exec_options options) {
  if (options.command.empty()) {
    throw std::invalid_argument("exec: command must not be empty");
  }
  if (options.max_output == 0) {
    throw std::invalid_argument("exec: max_output must be at least 1 byte");
  }
  for (const auto& [k, v] : options.env) {
    if (k.empty() || k.find('=') != std::string::npos) {
      throw std::invalid_argument("exec: bad environment variable name \"" + k + "\"");
    }
  }
  return std::make_shared<exec_check>(std::move(options));
}

}  // namespace vitals::checks
