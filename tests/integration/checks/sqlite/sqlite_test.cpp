#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "vitals/checks/sqlite.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::HasSubstr;

class sqlite_locked : public testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::temp_directory_path() /
             ("vitals-sqlite-lock-" + std::to_string(::getpid()) + "-" +
              testing::UnitTest::GetInstance()->current_test_info()->name() + ".db"))
                .string();
    fs::remove(path_);
    ASSERT_EQ(::sqlite3_open(path_.c_str(), &holder_), SQLITE_OK);
    ASSERT_EQ(::sqlite3_exec(holder_, "CREATE TABLE t(a); INSERT INTO t VALUES (1);", nullptr,
                             nullptr, nullptr),
              SQLITE_OK);
  }
  void TearDown() override {
    ::sqlite3_close(holder_);
    fs::remove(path_);
  }
  void lock(const char* how) {
    ASSERT_EQ(::sqlite3_exec(holder_, how, nullptr, nullptr, nullptr), SQLITE_OK);
  }

  sqlite3* holder_ = nullptr;
  std::string path_;
};

TEST_F(sqlite_locked, a_held_write_lock_times_out_at_the_deadline) {
  lock("BEGIN IMMEDIATE");
  auto c = vitals::checks::sqlite({.path = path_, .read_only = false});
  const auto start = std::chrono::steady_clock::now();
  auto r = c->run(vitals::context{"db", start + 300ms, nullptr});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::timeout);
  EXPECT_EQ(r.output, path_ + ": cannot lock for writing: database is locked (deadline reached)");
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 1500ms);

  // Readers are not blocked by a RESERVED lock.
  auto ro = vitals::checks::sqlite({.path = path_})
                ->run(vitals::context{"db", std::chrono::steady_clock::now() + 2s, nullptr});
  EXPECT_EQ(ro.status, vitals::status::pass) << ro.output;
}

TEST_F(sqlite_locked, an_exclusive_lock_blocks_readers_until_the_deadline) {
  lock("BEGIN EXCLUSIVE");
  lock("UPDATE t SET a = 2");
  const auto start = std::chrono::steady_clock::now();
  auto r =
      vitals::checks::sqlite({.path = path_})->run(vitals::context{"db", start + 300ms, nullptr});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.kind, vitals::failure_kind::timeout);
  EXPECT_THAT(r.output, HasSubstr("database is locked"));
  EXPECT_LT(took, 1500ms);

  lock("COMMIT");
  auto after = vitals::checks::sqlite({.path = path_, .read_only = false, .quick_check = true})
                   ->run(vitals::context{"db", std::chrono::steady_clock::now() + 2s, nullptr});
  EXPECT_EQ(after.status, vitals::status::pass) << after.output;
}

}  // namespace
