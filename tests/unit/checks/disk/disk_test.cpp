#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>

#include "disk/disk_judge.hpp"
#include "vitals/checks/disk.hpp"

namespace {

using namespace std::chrono_literals;
using testing::HasSubstr;
using vitals::checks::disk_options;
using vitals::checks::detail::fs_usage;
using vitals::checks::detail::judge_disk;

constexpr std::uint64_t GiB = 1ULL << 30;

vitals::context make_ctx() {
  return vitals::context{"disk", std::chrono::steady_clock::now() + 2s, nullptr};
}

/// A filesystem without reserved blocks where `free_pct` percent of `total` is free.
fs_usage usage_of(std::uint64_t total, double free_pct, std::uint64_t inodes = 1000,
                  std::uint64_t free_inodes = 500) {
  const auto avail =
      static_cast<std::uint64_t>(std::llround(static_cast<double>(total) * free_pct / 100.0));
  return {.total_bytes = total,
          .used_bytes = total - avail,
          .available_bytes = avail,
          .inodes = inodes,
          .free_inodes = free_inodes};
}

double observed(const vitals::result& r) { return std::get<double>(r.observed.value().value); }

std::string detail(const vitals::result& r, const std::string& key) {
  for (const auto& [k, v] : r.details) {
    if (k == key) {
      return v;
    }
  }
  return "<missing>";
}

TEST(disk_judge, passes_with_plenty_of_space) {
  auto r = judge_disk({.path = "/var"}, usage_of(100 * GiB, 50));
  EXPECT_EQ(r.status, vitals::status::pass);
  EXPECT_EQ(r.output, "");
  EXPECT_DOUBLE_EQ(observed(r), 50.0);
  EXPECT_EQ(r.observed->unit, "percent");
  EXPECT_EQ(detail(r, "free_bytes"), std::to_string(50 * GiB));
  EXPECT_EQ(detail(r, "total_bytes"), std::to_string(100 * GiB));
}

TEST(disk_judge, fails_below_fail_percent_with_readable_output) {
  auto r = judge_disk({.path = "/var"}, usage_of(34 * GiB, 3.2));
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::assertion);
  EXPECT_EQ(r.output, "/var: 3.2% free (1.1 GiB of 34 GiB), below 5%");
  EXPECT_DOUBLE_EQ(observed(r), 3.2);
}

TEST(disk_judge, warns_between_thresholds) {
  auto r = judge_disk({.path = "/var"}, usage_of(100 * GiB, 8));
  EXPECT_EQ(r.status, vitals::status::warn);
  EXPECT_EQ(r.output, "/var: 8.0% free (8.0 GiB of 100 GiB), below 10%");
}

TEST(disk_judge, thresholds_are_strict) {
  EXPECT_EQ(judge_disk({.path = "/"}, usage_of(100 * GiB, 10)).status, vitals::status::pass);
  EXPECT_EQ(judge_disk({.path = "/"}, usage_of(100 * GiB, 5)).status, vitals::status::warn);
  EXPECT_EQ(judge_disk({.path = "/"}, usage_of(100 * GiB, 4.99)).status, vitals::status::fail);
}

TEST(disk_judge, reserved_blocks_count_as_used_like_df) {
  // 100 GiB, 40 used, 50 available to users, 10 reserved for root: df says 45% used.
  const fs_usage u{.total_bytes = 100 * GiB,
                   .used_bytes = 40 * GiB,
                   .available_bytes = 50 * GiB,
                   .inodes = 0,
                   .free_inodes = 0};
  auto r = judge_disk({.path = "/"}, u);
  EXPECT_EQ(r.status, vitals::status::pass);
  EXPECT_NEAR(observed(r), 100.0 * 50 / 90, 0.01);
}

TEST(disk_judge, min_free_bytes_fails_and_warn_free_bytes_warns) {
  const disk_options o{.path = "/data",
                       .warn_free_percent = 0,
                       .fail_free_percent = 0,
                       .warn_free_bytes = 20 * GiB,
                       .min_free_bytes = 10 * GiB};
  auto fail = judge_disk(o, usage_of(1000 * GiB, 0.5));  // 5 GiB free
  EXPECT_EQ(fail.status, vitals::status::fail);
  EXPECT_EQ(fail.output, "/data: 5.0 GiB free, below 10 GiB");
  auto warn = judge_disk(o, usage_of(1000 * GiB, 1.5));  // 15 GiB free
  EXPECT_EQ(warn.status, vitals::status::warn);
  EXPECT_EQ(warn.output, "/data: 15 GiB free, below 20 GiB");
  EXPECT_EQ(judge_disk(o, usage_of(1000 * GiB, 2.5)).status, vitals::status::pass);
}

TEST(disk_judge, inode_thresholds) {
  auto warn = judge_disk({.path = "/"}, usage_of(100 * GiB, 50, 100000, 8000));
  EXPECT_EQ(warn.status, vitals::status::warn);
  EXPECT_EQ(warn.output, "/: 8.0% of inodes free (8000 of 100000), below 10%");
  auto fail = judge_disk({.path = "/"}, usage_of(100 * GiB, 50, 100000, 2000));
  EXPECT_EQ(fail.status, vitals::status::fail);
  EXPECT_EQ(fail.output, "/: 2.0% of inodes free (2000 of 100000), below 5%");
  EXPECT_EQ(detail(fail, "free_inodes"), "2000");
}

TEST(disk_judge, filesystems_without_inode_counts_skip_the_inode_check) {
  auto r = judge_disk({.path = "/"}, usage_of(100 * GiB, 50, 0, 0));
  EXPECT_EQ(r.status, vitals::status::pass);
  EXPECT_EQ(detail(r, "inodes"), "<missing>");
}

TEST(disk_judge, every_failing_reason_is_listed_and_fail_beats_warn) {
  const disk_options o{.path = "/v", .min_free_bytes = 2 * GiB};
  auto r = judge_disk(o, usage_of(10 * GiB, 3, 1000, 80));  // space fail, bytes fail, inode warn
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.output, "/v: 3.0% free (307 MiB of 10 GiB), below 5%; 307 MiB free, below 2.0 GiB");
}

TEST(disk_judge, zero_thresholds_are_off) {
  const disk_options o{.path = "/",
                       .warn_free_percent = 0,
                       .fail_free_percent = 0,
                       .warn_free_inodes_percent = 0,
                       .fail_free_inodes_percent = 0};
  EXPECT_EQ(judge_disk(o, usage_of(100 * GiB, 0, 1000, 0)).status, vitals::status::pass);
}

TEST(disk_judge, empty_filesystem_counts_as_full) {
  auto r = judge_disk({.path = "/"}, fs_usage{});
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_DOUBLE_EQ(observed(r), 0.0);
}

TEST(disk_judge, human_bytes) {
  using vitals::checks::detail::human_bytes;
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1024), "1.0 KiB");
  EXPECT_EQ(human_bytes(10 * 1024), "10 KiB");
  EXPECT_EQ(human_bytes(3 * GiB / 2), "1.5 GiB");
  EXPECT_EQ(human_bytes(std::numeric_limits<std::uint64_t>::max()), "16 EiB");
}

TEST(disk_check, real_statvfs_of_a_temp_dir) {
  const auto dir = std::filesystem::temp_directory_path().string();
  auto lenient = vitals::checks::disk({.path = dir,
                                       .warn_free_percent = 0,
                                       .fail_free_percent = 0,
                                       .warn_free_inodes_percent = 0,
                                       .fail_free_inodes_percent = 0});
  auto r = lenient->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::pass) << r.output;
  EXPECT_GT(std::stoull(detail(r, "total_bytes")), 0U);
  EXPECT_EQ(detail(r, "path"), dir);

  // No filesystem has 2^64 - 1 bytes free: the real figures must trip this threshold.
  auto strict = vitals::checks::disk(
      {.path = dir, .min_free_bytes = std::numeric_limits<std::uint64_t>::max()});
  auto f = strict->run(make_ctx());
  EXPECT_EQ(f.status, vitals::status::fail);
  EXPECT_THAT(f.output, HasSubstr(dir + ": "));
  EXPECT_THAT(f.output, HasSubstr("free, below 16 EiB"));
}

TEST(disk_check, missing_path_is_an_internal_failure) {
  auto c = vitals::checks::disk({.path = "/nonexistent/vitals-disk-test"});
  auto r = c->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::internal);
  EXPECT_EQ(r.output, "statvfs(/nonexistent/vitals-disk-test): No such file or directory");
}

TEST(disk_check, traits) {
  auto t = vitals::checks::disk({})->traits();
  EXPECT_EQ(t.type, "disk");
  EXPECT_EQ(t.component_type, "system");
  EXPECT_EQ(t.measurement, "free");
  EXPECT_FALSE(t.dependency);
  EXPECT_TRUE(t.secrets.empty());
}

TEST(disk_check, bad_options_throw) {
  EXPECT_THROW((void)vitals::checks::disk({.path = ""}), std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::disk({.warn_free_percent = 101}), std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::disk({.fail_free_percent = -1}), std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::disk({.warn_free_inodes_percent = std::nan("")}),
               std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::disk({.warn_free_percent = 5, .fail_free_percent = 10}),
               std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::disk({.warn_free_bytes = 1, .min_free_bytes = 2}),
               std::invalid_argument);
  EXPECT_NO_THROW((void)vitals::checks::disk({.warn_free_percent = 0, .fail_free_percent = 10}));
}

}  // namespace
