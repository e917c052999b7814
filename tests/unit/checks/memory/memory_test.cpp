#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "vitals/checks/memory.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::HasSubstr;

constexpr std::uint64_t MiB = 1ULL << 20;

vitals::context make_ctx() {
  return vitals::context{"memory", std::chrono::steady_clock::now() + 2s, nullptr};
}

/// A crafted procfs: meminfo, self/status and 4242/status.
class memory_check : public testing::Test {
 protected:
  void SetUp() override {
    root_ =
        fs::temp_directory_path() / ("vitals-memory-" + std::to_string(::getpid()) + "-" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "self");
    fs::create_directories(root_ / "4242");
  }
  void TearDown() override { fs::remove_all(root_); }

  void meminfo(std::uint64_t total_kb, std::uint64_t available_kb) {
    std::ofstream(root_ / "meminfo") << "MemTotal:       " << total_kb << " kB\n"
                                     << "MemFree:          123456 kB\n"
                                     << "MemAvailable:   " << available_kb << " kB\n"
                                     << "Buffers:          1000 kB\n";
  }
  void status(const std::string& who, std::uint64_t rss_kb) {
    std::ofstream(root_ / who / "status")
        << "Name:\tapp\nVmPeak:\t  999999 kB\nVmRSS:\t  " << rss_kb << " kB\nThreads:\t4\n";
  }

  vitals::result run(vitals::checks::memory_options o) {
    o.proc_root = root_.string();
    return vitals::checks::memory(std::move(o))->run(make_ctx());
  }

  fs::path root_;
};

std::string detail(const vitals::result& r, const std::string& key) {
  for (const auto& [k, v] : r.details) {
    if (k == key) {
      return v;
    }
  }
  return "<missing>";
}

TEST_F(memory_check, system_pass_observes_available_percent) {
  meminfo(16 * 1024 * 1024, 8 * 1024 * 1024);
  auto r = run({});
  EXPECT_EQ(r.status, vitals::status::pass);
  EXPECT_DOUBLE_EQ(std::get<double>(r.observed->value), 50.0);
  EXPECT_EQ(r.observed->unit, "percent");
  EXPECT_EQ(detail(r, "available_bytes"), std::to_string(8ULL << 30));
  EXPECT_EQ(detail(r, "total_bytes"), std::to_string(16ULL << 30));
}

TEST_F(memory_check, system_warn_and_fail) {
  meminfo(16 * 1024 * 1024, 1258291);  // 7.5%
  auto w = run({});
  EXPECT_EQ(w.status, vitals::status::warn);
  EXPECT_EQ(w.output, "available memory 7.5% (1.2 GiB of 16 GiB), below 10%");

  meminfo(16 * 1024 * 1024, 524288);  // 3.125%
  auto f = run({});
  EXPECT_EQ(f.status, vitals::status::fail);
  EXPECT_EQ(f.kind, vitals::failure_kind::assertion);
  EXPECT_EQ(f.output, "available memory 3.1% (512 MiB of 16 GiB), below 5%");
}

TEST_F(memory_check, system_boundaries_are_strict) {
  meminfo(1000, 100);  // exactly 10%
  EXPECT_EQ(run({}).status, vitals::status::pass);
  meminfo(1000, 50);  // exactly 5%
  EXPECT_EQ(run({}).status, vitals::status::warn);
}

TEST_F(memory_check, min_available_bytes_fails) {
  meminfo(64 * 1024 * 1024, 32 * 1024 * 1024);  // 50%, 32 GiB
  auto r = run({.min_available_bytes = 64ULL << 30});
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.output, "available memory 50.0% (32 GiB of 64 GiB), below 64 GiB");
}

TEST_F(memory_check, rss_thresholds_of_this_process) {
  status("self", 600 * 1024);  // 600 MiB
  const vitals::checks::memory_options o{.warn_rss_bytes = 512 * MiB,
                                         .fail_rss_bytes = 1024 * MiB,
                                         .warn_available_percent = 0,
                                         .fail_available_percent = 0};
  auto w = run(o);
  EXPECT_EQ(w.status, vitals::status::warn);
  EXPECT_EQ(w.output, "RSS 600 MiB, above 512 MiB");
  EXPECT_EQ(std::get<std::int64_t>(w.observed->value), 600 * 1024 * 1024);
  EXPECT_EQ(w.observed->unit, "bytes");

  status("self", 2 * 1024 * 1024);
  auto f = run(o);
  EXPECT_EQ(f.status, vitals::status::fail);
  EXPECT_EQ(f.output, "RSS 2.0 GiB, above 1.0 GiB");

  status("self", 512 * 1024);  // exactly the warn limit
  EXPECT_EQ(run(o).status, vitals::status::pass);
}

TEST_F(memory_check, rss_of_another_pid) {
  status("self", 1);
  status("4242", 300 * 1024);
  auto r = run({.fail_rss_bytes = 256 * MiB,
                .warn_available_percent = 0,
                .fail_available_percent = 0,
                .pid = 4242});
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.output, "RSS 300 MiB, above 256 MiB");
}

TEST_F(memory_check, both_scopes_list_every_reason) {
  status("self", 2 * 1024 * 1024);
  meminfo(1000, 30);
  auto r = run({.fail_rss_bytes = 1024 * MiB});
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.output,
            "RSS 2.0 GiB, above 1.0 GiB; available memory 3.0% (30 KiB of 1000 KiB), below 5%");
  EXPECT_EQ(r.observed->unit, "bytes");  // RSS is the observed value when it is watched
}

TEST_F(memory_check, unreadable_or_malformed_proc_is_internal) {
  auto missing = run({});
  EXPECT_EQ(missing.status, vitals::status::fail);
  EXPECT_EQ(missing.kind, vitals::failure_kind::internal);
  EXPECT_EQ(missing.output, "cannot read " + (root_ / "meminfo").string());

  std::ofstream(root_ / "meminfo") << "MemTotal: 1000 kB\nMemFree: 10 kB\n";
  auto old_kernel = run({});
  EXPECT_EQ(old_kernel.kind, vitals::failure_kind::internal);
  EXPECT_THAT(old_kernel.output, HasSubstr("no MemTotal/MemAvailable"));

  std::ofstream(root_ / "self" / "status") << "Name:\tkthreadd\nState:\tS\n";
  auto no_rss =
      run({.fail_rss_bytes = 1, .warn_available_percent = 0, .fail_available_percent = 0});
  EXPECT_EQ(no_rss.kind, vitals::failure_kind::internal);
  EXPECT_THAT(no_rss.output, HasSubstr("no VmRSS"));
}

TEST(memory_check_real, this_process_rss_from_real_proc) {
  auto over = vitals::checks::memory(
      {.fail_rss_bytes = 1, .warn_available_percent = 0, .fail_available_percent = 0});
  auto r = over->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_GT(std::get<std::int64_t>(r.observed->value), 1024 * 1024);  // a gtest binary
  EXPECT_THAT(r.output, HasSubstr("above 1 B"));

  auto roomy = vitals::checks::memory({.fail_rss_bytes = 1ULL << 50});
  auto p = roomy->run(make_ctx());
  EXPECT_NE(p.status, vitals::status::fail) << p.output;
  EXPECT_NE(detail(p, "total_bytes"), "<missing>");
}

TEST(memory_check_real, traits_follow_the_options) {
  auto rss = vitals::checks::memory({.warn_rss_bytes = 1})->traits();
  EXPECT_EQ(rss.type, "memory");
  EXPECT_EQ(rss.component_type, "system");
  EXPECT_EQ(rss.measurement, "rss");
  EXPECT_FALSE(rss.dependency);
  EXPECT_EQ(vitals::checks::memory()->traits().measurement, "available");
}

TEST(memory_check_real, bad_options_throw) {
  EXPECT_THROW((void)vitals::checks::memory({.warn_available_percent = 120}),
               std::invalid_argument);
  EXPECT_THROW(
      (void)vitals::checks::memory({.warn_available_percent = 5, .fail_available_percent = 10}),
      std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::memory({.warn_rss_bytes = 10, .fail_rss_bytes = 5}),
               std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::memory({.pid = -1}), std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::memory({.proc_root = ""}), std::invalid_argument);
}

}  // namespace
