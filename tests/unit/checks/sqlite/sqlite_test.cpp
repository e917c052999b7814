#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "vitals/checks/sqlite.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::HasSubstr;
using testing::StartsWith;

vitals::context make_ctx() {
  return vitals::context{"db", std::chrono::steady_clock::now() + 5s, nullptr};
}

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  ASSERT_EQ(::sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
}

class sqlite_check : public testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("vitals-sqlite-" + std::to_string(::getpid()) + "-" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "app.db").string();
    sqlite3* db = nullptr;
    ASSERT_EQ(::sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    exec(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT); CREATE INDEX i ON t(b);");
    exec(db,
         "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000) "
         "INSERT INTO t(b) SELECT printf('value-%06d', x) FROM n;");
    ::sqlite3_close(db);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::string path_;
};

TEST_F(sqlite_check, healthy_database_passes) {
  auto r = vitals::checks::sqlite({.path = path_, .quick_check = true})->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::pass) << r.output;
  EXPECT_EQ(r.observed->unit, "ms");
  EXPECT_GE(std::get<double>(r.observed->value), 0.0);
  ASSERT_EQ(r.details.size(), 1U);
  EXPECT_EQ(r.details[0].first, "sqlite_version");
  EXPECT_EQ(r.details[0].second, ::sqlite3_libversion());
}

TEST_F(sqlite_check, writable_check_takes_a_lock_and_writes_nothing) {
  const auto before = fs::last_write_time(path_);
  const auto size = fs::file_size(path_);
  auto r = vitals::checks::sqlite({.path = path_, .read_only = false})->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::pass) << r.output;
  EXPECT_EQ(fs::last_write_time(path_), before);
  EXPECT_EQ(fs::file_size(path_), size);
  EXPECT_FALSE(fs::exists(path_ + "-journal"));
}

TEST_F(sqlite_check, missing_file_fails_and_is_not_created) {
  const std::string gone = (dir_ / "missing.db").string();
  for (bool ro : {true, false}) {
    auto r = vitals::checks::sqlite({.path = gone, .read_only = ro})->run(make_ctx());
    EXPECT_EQ(r.status, vitals::status::fail);
    EXPECT_EQ(r.kind, vitals::failure_kind::internal);
    EXPECT_EQ(r.output, gone + ": cannot open: unable to open database file");
    EXPECT_FALSE(fs::exists(gone));
  }
}

TEST_F(sqlite_check, a_file_that_is_not_a_database_is_a_protocol_failure) {
  const std::string text = (dir_ / "notes.txt").string();
  std::ofstream(text) << std::string(8192, 'x');
  auto r = vitals::checks::sqlite({.path = text})->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::protocol);
  EXPECT_EQ(r.output, text + ": cannot read: file is not a database");
}

TEST_F(sqlite_check, corruption_fails_quick_check_only_when_asked) {
  sqlite3* db = nullptr;
  ASSERT_EQ(::sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(::sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(::sqlite3_step(st), SQLITE_ROW);
  const auto pages = ::sqlite3_column_int64(st, 0);
  ::sqlite3_finalize(st);
  ::sqlite3_close(db);
  {
    // Scribble over the cell pointers of the last b-tree page.
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp((pages - 1) * 4096 + 200);
    const std::string junk(64, '\xff');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  EXPECT_EQ(vitals::checks::sqlite({.path = path_})->run(make_ctx()).status, vitals::status::pass);
  auto r = vitals::checks::sqlite({.path = path_, .quick_check = true})->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::assertion);
  EXPECT_THAT(r.output, StartsWith(path_ + ": quick_check: *** in database main ***"));
  EXPECT_THAT(r.output, HasSubstr("out of range"));
}

TEST_F(sqlite_check, uri_paths_are_accepted) {
  auto r = vitals::checks::sqlite({.path = "file:" + path_ + "?mode=ro"})->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::pass) << r.output;
}

TEST_F(sqlite_check, expired_deadline_is_a_timeout) {
  auto c = vitals::checks::sqlite({.path = path_});
  auto r = c->run(vitals::context{"db", std::chrono::steady_clock::now(), nullptr});
  EXPECT_EQ(r.kind, vitals::failure_kind::timeout);
}

TEST(sqlite_check_options, traits_and_bad_options) {
  auto t = vitals::checks::sqlite({.path = "/x.db"})->traits();
  EXPECT_EQ(t.type, "sqlite");
  EXPECT_EQ(t.component_type, "datastore");
  EXPECT_EQ(t.measurement, "responseTime");
  EXPECT_TRUE(t.dependency);
  EXPECT_THROW((void)vitals::checks::sqlite({}), std::invalid_argument);
}

}  // namespace
