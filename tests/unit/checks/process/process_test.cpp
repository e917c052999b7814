#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "vitals/checks/process.hpp"

extern char** environ;  // NOLINT: POSIX

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

vitals::context make_ctx() {
  return vitals::context{"process", std::chrono::steady_clock::now() + 2s, nullptr};
}

class process_check : public testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("vitals-process-" + std::to_string(::getpid()) + "-" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "proc");
    pid_file_ = (dir_ / "app.pid").string();
    write(pid_file_, "1234\n");
    fake_process(1234, "nginx", 'S');
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
  void fake_process(int pid, const std::string& comm, char state) {
    const auto d = dir_ / "proc" / std::to_string(pid);
    fs::create_directories(d);
    write(d / "stat", std::to_string(pid) + " (" + comm + ") " + state + " 1 1 1 0 -1 4194560\n");
    write(d / "comm", comm + "\n");
  }
  vitals::result run(vitals::checks::process_options o) {
    o.proc_root = (dir_ / "proc").string();
    return vitals::checks::process(std::move(o))->run(make_ctx());
  }

  fs::path dir_;
  std::string pid_file_;
};

TEST_F(process_check, live_process_from_pid_file_passes) {
  auto r = run({.pid_file = pid_file_, .name = "nginx"});
  EXPECT_EQ(r.status, vitals::status::pass);
  EXPECT_EQ(std::get<std::int64_t>(r.observed->value), 1234);
  const std::vector<std::pair<std::string, std::string>> expected{{"name", "nginx"},
                                                                  {"state", "S"}};
  EXPECT_EQ(r.details, expected);
}

TEST_F(process_check, odd_names_with_parentheses_and_spaces_parse) {
  fake_process(77, "a) R (b", 'R');
  EXPECT_EQ(run({.pid = 77, .name = "a) R (b"}).status, vitals::status::pass);
  fake_process(78, "x) Z (y", 'S');
  EXPECT_EQ(run({.pid = 78}).status, vitals::status::pass);
}

TEST_F(process_check, long_names_match_the_15_bytes_the_kernel_keeps) {
  fake_process(90, "postgres_export", 'S');
  EXPECT_EQ(run({.pid = 90, .name = "postgres_exporter"}).status, vitals::status::pass);
  EXPECT_EQ(run({.pid = 90, .name = "postgres_exp"}).status, vitals::status::fail);
}

TEST_F(process_check, dead_process_fails) {
  write(pid_file_, "999\n");
  auto r = run({.pid_file = pid_file_});
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::assertion);
  EXPECT_EQ(r.output, "pid 999 (from " + pid_file_ + ") is not running");
  EXPECT_EQ(run({.pid = 999}).output, "pid 999 is not running");
}

TEST_F(process_check, zombie_fails) {
  fake_process(1234, "nginx", 'Z');
  auto r = run({.pid_file = pid_file_});
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.output, "pid 1234 (from " + pid_file_ + ") is a zombie (exited, not reaped)");
}

TEST_F(process_check, recycled_pid_with_another_name_fails) {
  auto r = run({.pid_file = pid_file_, .name = "postgres"});
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.output, "pid 1234 (from " + pid_file_ + ") is \"nginx\", expected \"postgres\"");
}

TEST_F(process_check, missing_or_garbage_pid_file) {
  auto missing = run({.pid_file = pid_file_ + ".nope"});
  EXPECT_EQ(missing.status, vitals::status::fail);
  EXPECT_EQ(missing.kind, vitals::failure_kind::assertion);
  EXPECT_EQ(missing.output, "pid file " + pid_file_ + ".nope does not exist or is unreadable");
  for (const char* garbage : {"", "abc", "12abc", "0", "-5", "99999999999999999999"}) {
    write(pid_file_, garbage);
    auto r = run({.pid_file = pid_file_});
    EXPECT_EQ(r.kind, vitals::failure_kind::protocol) << garbage;
    EXPECT_EQ(r.output, "pid file " + pid_file_ + " holds no pid") << garbage;
  }
  write(pid_file_, "  1234  \r\n");
  EXPECT_EQ(run({.pid_file = pid_file_}).status, vitals::status::pass);
}

TEST_F(process_check, unparsable_stat_is_internal) {
  write(dir_ / "proc" / "1234" / "stat", "1234 nonsense");
  EXPECT_EQ(run({.pid = 1234}).kind, vitals::failure_kind::internal);
}

TEST(process_check_real, this_process_is_alive_and_a_reaped_child_is_not) {
  const auto dir =
      fs::temp_directory_path() / ("vitals-process-real-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto pid_file = (dir / "self.pid").string();
  std::ofstream(pid_file) << ::getpid() << "\n";
  std::string comm;
  std::getline(std::ifstream("/proc/self/comm"), comm);
  auto self = vitals::checks::process({.pid_file = pid_file, .name = comm})->run(make_ctx());
  EXPECT_EQ(self.status, vitals::status::pass) << self.output;

  pid_t child = -1;
  char arg0[] = "true";
  char* argv[] = {arg0, nullptr};
  ASSERT_EQ(::posix_spawnp(&child, "true", nullptr, nullptr, argv, environ), 0);
  int st = 0;
  ASSERT_EQ(::waitpid(child, &st, 0), child);
  auto gone = vitals::checks::process({.pid = child})->run(make_ctx());
  EXPECT_EQ(gone.status, vitals::status::fail);
  EXPECT_EQ(gone.output, "pid " + std::to_string(child) + " is not running");
  fs::remove_all(dir);
}

TEST(process_check_real, traits_and_bad_options) {
  auto t = vitals::checks::process({.pid = 1})->traits();
  EXPECT_EQ(t.type, "process");
  EXPECT_EQ(t.component_type, "system");
  EXPECT_FALSE(t.dependency);
  EXPECT_THROW((void)vitals::checks::process({}), std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::process({.pid = -3}), std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::process({.pid = 1, .proc_root = ""}), std::invalid_argument);
}

}  // namespace
