#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "vitals/checks/file.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::HasSubstr;

vitals::context make_ctx() {
  return vitals::context{"file", std::chrono::steady_clock::now() + 2s, nullptr};
}

class file_check : public testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("vitals-file-" + std::to_string(::getpid()) + "-" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "heartbeat").string();
    std::ofstream(path_) << "beat\n";
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, ec);
    fs::remove_all(dir_, ec);
  }
  void age_by(fs::file_time_type::duration d) {
    fs::last_write_time(path_, fs::file_time_type::clock::now() - d);
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(file_check, existing_file_passes_missing_fails) {
  auto ok = vitals::checks::file({.path = path_})->run(make_ctx());
  EXPECT_EQ(ok.status, vitals::status::pass);
  EXPECT_FALSE(ok.observed.has_value());

  auto missing = vitals::checks::file({.path = path_ + ".gone"})->run(make_ctx());
  EXPECT_EQ(missing.status, vitals::status::fail);
  EXPECT_EQ(missing.kind, vitals::failure_kind::assertion);
  EXPECT_EQ(missing.output, path_ + ".gone: does not exist");

  auto below_file = vitals::checks::file({.path = path_ + "/x"})->run(make_ctx());
  EXPECT_EQ(below_file.output, path_ + "/x: does not exist");
}

TEST_F(file_check, directories_count_too) {
  auto r = vitals::checks::file({.path = dir_.string(), .writable = true})->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::pass) << r.output;
}

TEST_F(file_check, stale_heartbeat_fails_with_its_age) {
  age_by(10min + 30s);
  auto r = vitals::checks::file({.path = path_, .max_age = 5min})->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::assertion);
  EXPECT_THAT(r.output, HasSubstr(path_ + ": last modified 10m3"));
  EXPECT_THAT(r.output, HasSubstr("s ago, older than 5m"));
  EXPECT_EQ(r.observed->unit, "s");
  EXPECT_NEAR(std::get<double>(r.observed->value), 630.0, 5.0);
}

TEST_F(file_check, ageing_heartbeat_warns_then_fails) {
  const vitals::checks::file_options o{.path = path_, .warn_age = 30s, .max_age = 2h};
  age_by(5s);
  EXPECT_EQ(vitals::checks::file(o)->run(make_ctx()).status, vitals::status::pass);
  age_by(90s);
  auto w = vitals::checks::file(o)->run(make_ctx());
  EXPECT_EQ(w.status, vitals::status::warn);
  EXPECT_THAT(w.output, HasSubstr("last modified 1m3"));
  EXPECT_THAT(w.output, HasSubstr(", older than 30s"));
  age_by(50h);
  auto f = vitals::checks::file(o)->run(make_ctx());
  EXPECT_EQ(f.status, vitals::status::fail);
  EXPECT_THAT(f.output, HasSubstr("last modified 2d2h ago, older than 2h"));
}

TEST_F(file_check, future_mtime_counts_as_fresh) {
  fs::last_write_time(path_, fs::file_time_type::clock::now() + 1h);
  auto r = vitals::checks::file({.path = path_, .max_age = 1s})->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::pass);
  EXPECT_DOUBLE_EQ(std::get<double>(r.observed->value), 0.0);
}

TEST_F(file_check, not_writable_fails) {
  // access(W_OK) ignores mode bits for root; a read-only mount refuses everyone.
  std::string target;
  if (::geteuid() != 0) {
    fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec);
    target = dir_.string();
  } else {
    std::ifstream mounts("/proc/self/mounts");
    std::string dev;
    std::string mnt;
    std::string type;
    std::string opts;
    std::string rest;
    while (mounts >> dev >> mnt >> type >> opts && std::getline(mounts, rest)) {
      if ((opts == "ro" || opts.starts_with("ro,")) && ::access(mnt.c_str(), F_OK) == 0 &&
          mnt.find("\\") == std::string::npos) {
        target = mnt;
        break;
      }
    }
    if (target.empty()) {
      GTEST_SKIP() << "running as root and no read-only mount to test against";
    }
  }
  auto r = vitals::checks::file({.path = target, .writable = true})->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::assertion);
  EXPECT_THAT(r.output, HasSubstr(target + ": not writable ("));
  EXPECT_EQ(vitals::checks::file({.path = target})->run(make_ctx()).status, vitals::status::pass);
}

TEST(file_check_options, traits_and_bad_options) {
  auto plain = vitals::checks::file({.path = "/x"})->traits();
  EXPECT_EQ(plain.type, "file");
  EXPECT_EQ(plain.component_type, "system");
  EXPECT_EQ(plain.measurement, "exists");
  EXPECT_FALSE(plain.dependency);
  EXPECT_EQ(vitals::checks::file({.path = "/x", .max_age = 1s})->traits().measurement, "age");
  EXPECT_THROW((void)vitals::checks::file({}), std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::file({.path = "/x", .max_age = -1s}), std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::file({.path = "/x", .warn_age = 2s, .max_age = 1s}),
               std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::file({.path = "/x", .warn_age = 2s, .max_age = 2s}),
               std::invalid_argument);
}

}  // namespace
