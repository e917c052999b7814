#include <dirent.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "vitals/checks/exec.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::HasSubstr;
using testing::Not;

vitals::context make_ctx(std::chrono::milliseconds budget = 5s,
                         std::shared_ptr<std::atomic<bool>> cancelled = nullptr) {
  return vitals::context{"exec", std::chrono::steady_clock::now() + budget, std::move(cancelled)};
}

vitals::result sh(const std::string& script, std::chrono::milliseconds budget = 5s) {
  return vitals::checks::exec({.command = "/bin/sh", .args = {"-c", script}})
      ->run(make_ctx(budget));
}

std::string detail(const vitals::result& r, const std::string& key) {
  for (const auto& [k, v] : r.details) {
    if (k == key) {
      return v;
    }
  }
  return "<missing>";
}

int open_fds() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) {
    ++n;
  }
  return n;
}

/// True if this process has no child left, not even a zombie.
bool no_children() {
  int status = 0;
  return ::waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD;
}

/// Waits (bounded) for an orphan re-parented to us and returns how it died.
int reap_orphan(pid_t pid) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  int status = 0;
  while (std::chrono::steady_clock::now() < until) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return WIFSIGNALED(status) ? WTERMSIG(status) : -WEXITSTATUS(status) - 1000;
    }
    if (r < 0) {
      return -1;
    }
    std::this_thread::sleep_for(5ms);
  }
  ::kill(pid, SIGKILL);  // never leave a stray process behind, even when failing
  ::waitpid(pid, &status, 0);
  return 0;
}

std::vector<pid_t> read_pids(const fs::path& p) {
  std::vector<pid_t> pids;
  std::ifstream in(p);
  pid_t pid = 0;
  while (in >> pid) {
    pids.push_back(pid);
  }
  return pids;
}

/// Makes this test process the reaper of orphans, so it can prove how they died.
class subreaper : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    file_ =
        fs::temp_directory_path() / ("vitals-exec-" + std::to_string(::getpid()) + "-" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override {
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
    fs::remove(file_);
  }
  fs::path file_;
};

TEST(exec_check, exit_codes_map_to_pass_warn_fail) {
  auto ok = sh("echo fine; exit 0");
  EXPECT_EQ(ok.status, vitals::status::pass);
  EXPECT_EQ(ok.output, "");
  EXPECT_EQ(detail(ok, "exit_code"), "0");
  EXPECT_EQ(ok.observed->unit, "ms");

  auto warn = sh("echo 'queue is long'; exit 1");
  EXPECT_EQ(warn.status, vitals::status::warn);
  EXPECT_EQ(warn.output, "queue is long");

  auto fail = sh("echo 'queue is stuck' >&2; exit 2");
  EXPECT_EQ(fail.status, vitals::status::fail);
  EXPECT_EQ(fail.kind, vitals::failure_kind::assertion);
  EXPECT_EQ(fail.output, "queue is stuck");
  EXPECT_EQ(detail(fail, "exit_code"), "2");

  auto silent = sh("exit 3");
  EXPECT_EQ(silent.status, vitals::status::fail);
  EXPECT_EQ(silent.output, "/bin/sh exited with status 3");
}

TEST(exec_check, stdout_and_stderr_are_combined_in_order) {
  auto r = sh("echo one; echo two >&2; echo three; exit 2");
  EXPECT_EQ(r.output, "one\ntwo\nthree");
}

TEST(exec_check, death_by_signal_fails) {
  auto r = sh("echo dying; kill -9 $$");
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.output, "/bin/sh killed by signal 9 (Killed): dying");
  EXPECT_EQ(detail(r, "signal"), "9");
}

TEST(exec_check, output_is_cut_at_max_output) {
  auto r = sh("head -c 5000 /dev/zero | tr '\\0' a; exit 2");
  EXPECT_EQ(r.output, std::string(1024, 'a'));
  EXPECT_EQ(detail(r, "output_truncated"), "true");

  auto small =
      vitals::checks::exec(
          {.command = "sh", .args = {"-c", "echo 0123456789abc; exit 1"}, .max_output = 10})
          ->run(make_ctx());
  EXPECT_EQ(small.output, "0123456789");

  // Never split a UTF-8 character: "é" is 2 bytes, the cut at 1024 falls inside the 513th.
  auto utf8 = sh("i=0; while [ $i -lt 600 ]; do printf '\\303\\251'; i=$((i+1)); done; exit 2");
  EXPECT_EQ(utf8.output.size(), 1024U);
  auto odd = vitals::checks::exec({.command = "sh",
                                   .args = {"-c", "printf 'a\\303\\251\\303\\251'; exit 2"},
                                   .max_output = 4})
                 ->run(make_ctx());
  EXPECT_EQ(odd.output, "a\xc3\xa9");
}

TEST(exec_check, a_flood_of_output_does_not_block_the_child) {
  const auto start = std::chrono::steady_clock::now();
  auto r = sh("head -c 20000000 /dev/zero; exit 1");
  EXPECT_EQ(r.status, vitals::status::warn);
  EXPECT_EQ(detail(r, "output_truncated"), "true");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  // NUL and other control bytes are not passed on as such.
  EXPECT_EQ(r.output, std::string(1024, '?'));
}

TEST(exec_check, missing_program_is_internal) {
  auto r = vitals::checks::exec({.command = "vitals-no-such-program-xyz"})->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::internal);
  EXPECT_EQ(r.output, "cannot run vitals-no-such-program-xyz: No such file or directory");
}

TEST(exec_check, env_working_dir_and_path_lookup) {
  auto r = vitals::checks::exec({.command = "sh",
                                 .args = {"-c", "pwd; echo \"$VITALS_X\"; exit 1"},
                                 .env = {{"VITALS_X", "from-env"}},
                                 .working_dir = "/usr"})
               ->run(make_ctx());
  EXPECT_EQ(r.output, "/usr\nfrom-env");
}

TEST(exec_check, secrets_in_args_and_env_never_reach_the_output) {
  const std::string token = "tok-9f8e7d6c5b4a";
  auto c = vitals::checks::exec(
      {.command = "sh",
       .args = {"-c", "echo \"auth with $1 failed\"; echo \"env $T\" >&2; exit 2", "sh", token},
       .env = {{"T", token}},
       .secrets = {token}});
  auto r = c->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_THAT(r.output, Not(HasSubstr(token)));
  EXPECT_EQ(r.output, "auth with *** failed\nenv ***");
  EXPECT_EQ(c->traits().secrets, std::vector<std::string>{token});

  // A secret straddling the cut is scrubbed before cutting: not even its prefix survives.
  auto edge = vitals::checks::exec(
      {.command = "sh",
       .args = {"-c", "head -c 1020 /dev/zero | tr '\\0' a; echo \"$1\"; exit 2", "sh", token},
       .secrets = {token}});
  auto e = edge->run(make_ctx());
  EXPECT_THAT(e.output, Not(HasSubstr("tok")));
  EXPECT_THAT(e.output, HasSubstr("a***"));
}

TEST(exec_check, child_gets_clean_fds_and_signals) {
  // A descriptor the host opened without O_CLOEXEC, a blocked and an ignored signal.
  const int opened = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(opened, 0);
  const int leaky = ::fcntl(opened, F_DUPFD, 100);  // a number the shell would not use
  ::close(opened);
  ASSERT_EQ(leaky, 100);
  sigset_t block;
  sigset_t old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &block, &old), 0);
  auto* old_pipe = std::signal(SIGPIPE, SIG_IGN);

  auto r = sh(
      "for f in /proc/$$/fd/*; do echo ${f##*/}; done; grep -E '^Sig(Blk|Ign)' /proc/self/status; "
      "exit 1");

  std::signal(SIGPIPE, old_pipe);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::close(leaky);
  // (The shell's own directory listing may show up as 3.)
  EXPECT_THAT(r.output, testing::StartsWith("0\n1\n2\n"));
  EXPECT_THAT(r.output, Not(HasSubstr("100")));
  auto mask = [&](const std::string& key) {
    const auto at = r.output.find(key + ":\t");
    return at == std::string::npos
               ? ~0ULL
               : std::stoull(r.output.substr(at + key.size() + 2, 16), nullptr, 16);
  };
  EXPECT_EQ(mask("SigBlk"), 0U) << r.output;
  // Signals 1-31 back to default. (glibc leaves its internal 32 and 33 ignored after
  // posix_spawn; a glibc program re-installs them at start.)
  EXPECT_EQ(mask("SigIgn") & 0x7fffffffULL, 0U) << r.output;
}

TEST_F(subreaper, deadline_kills_the_whole_process_group) {
  const auto start = std::chrono::steady_clock::now();
  auto r = vitals::checks::exec(
               {.command = "sh",
                .args = {"-c", "sleep 100 & echo $! > " + file_.string() +
                                   "; sleep 100 & echo $! >> " + file_.string() + "; wait"}})
               ->run(make_ctx(400ms));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::timeout);
  EXPECT_THAT(r.output,
              testing::MatchesRegex("timed out after [0-9]+ms running sh; process group killed"));
  EXPECT_GE(took, 400ms);
  EXPECT_LT(took, 1500ms);

  const auto pids = read_pids(file_);
  ASSERT_EQ(pids.size(), 2U);
  for (pid_t pid : pids) {
    // Both background sleeps were orphaned to us: they must have died of SIGKILL.
    EXPECT_EQ(reap_orphan(pid), SIGKILL) << "pid " << pid;
  }
  EXPECT_TRUE(no_children());
}

TEST_F(subreaper, leftovers_of_a_finished_command_are_killed) {
  auto r = vitals::checks::exec({.command = "sh",
                                 .args = {"-c", "sleep 100 & echo $! > " + file_.string() +
                                                    "; exec 1>&- 2>&-; exit 0"}})
               ->run(make_ctx(5s));
  EXPECT_EQ(r.status, vitals::status::pass) << r.output;
  const auto pids = read_pids(file_);
  ASSERT_EQ(pids.size(), 1U);
  EXPECT_EQ(reap_orphan(pids[0]), SIGKILL);
}

TEST(exec_check, a_child_holding_the_pipe_does_not_hold_the_run) {
  // The background sleep keeps stdout open; the run still ends when sh exits.
  const auto start = std::chrono::steady_clock::now();
  auto r = sh("sleep 100 & echo started; exit 1");
  EXPECT_EQ(r.status, vitals::status::warn);
  EXPECT_EQ(r.output, "started");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_TRUE(no_children());
}

TEST(exec_check, cancellation_kills_the_group) {
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  std::thread canceller([cancelled] {
    std::this_thread::sleep_for(150ms);
    cancelled->store(true);
  });
  const auto start = std::chrono::steady_clock::now();
  auto r =
      vitals::checks::exec({.command = "sleep", .args = {"100"}})->run(make_ctx(30s, cancelled));
  canceller.join();
  EXPECT_EQ(r.kind, vitals::failure_kind::timeout);
  EXPECT_EQ(r.output, "cancelled running sleep; process group killed");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_TRUE(no_children());
}

TEST(exec_check, expired_deadline_starts_nothing) {
  auto r = vitals::checks::exec({.command = "true"})
               ->run(vitals::context{"exec", std::chrono::steady_clock::now(), nullptr});
  EXPECT_EQ(r.kind, vitals::failure_kind::timeout);
  EXPECT_EQ(r.output, "deadline passed before true was started");
}

TEST(exec_check, no_zombies_and_flat_fd_count_over_50_runs) {
  auto quick = vitals::checks::exec({.command = "sh", .args = {"-c", "echo x; exit 1"}});
  auto slow = vitals::checks::exec({.command = "sleep", .args = {"100"}});
  (void)quick->run(make_ctx());  // let lazily opened descriptors (locale, ...) settle
  const int before = open_fds();
  for (int i = 0; i < 50; ++i) {
    auto r = i % 10 == 9 ? slow->run(make_ctx(20ms)) : quick->run(make_ctx());
    ASSERT_NE(r.status, vitals::status::pass);
    ASSERT_TRUE(no_children()) << "run " << i;
  }
  EXPECT_EQ(open_fds(), before);
}

}  // namespace
