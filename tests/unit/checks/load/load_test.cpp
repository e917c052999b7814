#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "vitals/checks/load.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using vitals::checks::load_window;

vitals::context make_ctx() {
  return vitals::context{"load", std::chrono::steady_clock::now() + 2s, nullptr};
}

class load_check : public testing::Test {
 protected:
  void SetUp() override {
    root_ =
        fs::temp_directory_path() / ("vitals-load-" + std::to_string(::getpid()) + "-" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    loadavg("2.00 6.00 12.00 3/345 6789\n");
  }
  void TearDown() override { fs::remove_all(root_); }
  void loadavg(const std::string& text) { std::ofstream(root_ / "loadavg") << text; }

  vitals::result run(vitals::checks::load_options o) {
    o.proc_root = root_.string();
    return vitals::checks::load(std::move(o))->run(make_ctx());
  }

  fs::path root_;
};

TEST_F(load_check, each_window_is_judged_per_core) {
  auto one = run({.window = load_window::one_minute, .cores = 4});
  EXPECT_EQ(one.status, vitals::status::pass);
  EXPECT_DOUBLE_EQ(std::get<double>(one.observed->value), 0.5);
  EXPECT_EQ(one.observed->unit, "per core");

  // 6 / 4 = 1.5 = warn_per_core: thresholds are strict.
  EXPECT_EQ(run({.window = load_window::five_minutes, .cores = 4}).status, vitals::status::pass);

  auto fifteen = run({.window = load_window::fifteen_minutes, .cores = 4});
  EXPECT_EQ(fifteen.status, vitals::status::warn);
  EXPECT_EQ(fifteen.output, "load 12.00 over 15 min on 4 cores = 3.00 per core, above 1.5");
}

TEST_F(load_check, fails_above_fail_per_core) {
  auto r = run({.window = load_window::fifteen_minutes, .cores = 2});
  EXPECT_EQ(r.status, vitals::status::fail);
  EXPECT_EQ(r.kind, vitals::failure_kind::assertion);
  EXPECT_EQ(r.output, "load 12.00 over 15 min on 2 cores = 6.00 per core, above 3");
  auto one_core = run(
      {.window = load_window::one_minute, .warn_per_core = 1, .fail_per_core = 1.5, .cores = 1});
  EXPECT_EQ(one_core.output, "load 2.00 over 1 min on 1 core = 2.00 per core, above 1.5");
}

TEST_F(load_check, zero_thresholds_are_off_and_details_hold_all_averages) {
  auto r = run({.warn_per_core = 0, .fail_per_core = 0, .cores = 1});
  EXPECT_EQ(r.status, vitals::status::pass);
  const std::vector<std::pair<std::string, std::string>> expected{
      {"load1", "2.00"}, {"load5", "6.00"}, {"load15", "12.00"}, {"cores", "1"}};
  EXPECT_EQ(r.details, expected);
}

TEST_F(load_check, malformed_or_missing_loadavg_is_internal) {
  loadavg("garbage\n");
  auto bad = run({.cores = 1});
  EXPECT_EQ(bad.status, vitals::status::fail);
  EXPECT_EQ(bad.kind, vitals::failure_kind::internal);
  EXPECT_EQ(bad.output, "cannot parse " + (root_ / "loadavg").string());
  loadavg("-1 2 3 1/1 1\n");
  EXPECT_EQ(run({.cores = 1}).kind, vitals::failure_kind::internal);
  fs::remove(root_ / "loadavg");
  auto missing = run({.cores = 1});
  EXPECT_EQ(missing.output, "cannot read " + (root_ / "loadavg").string());
}

TEST(load_check_real, detects_usable_cores_and_reads_real_proc) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
  auto r = vitals::checks::load({.warn_per_core = 0, .fail_per_core = 0})->run(make_ctx());
  EXPECT_EQ(r.status, vitals::status::pass) << r.output;
  EXPECT_GE(std::get<double>(r.observed->value), 0.0);
  std::string cores;
  for (const auto& [k, v] : r.details) {
    if (k == "cores") {
      cores = v;
    }
  }
  EXPECT_EQ(cores, std::to_string(CPU_COUNT(&set)));
}

TEST(load_check_real, traits_and_bad_options) {
  auto t = vitals::checks::load()->traits();
  EXPECT_EQ(t.type, "load");
  EXPECT_EQ(t.component_type, "system");
  EXPECT_FALSE(t.dependency);
  EXPECT_THROW((void)vitals::checks::load({.warn_per_core = -1}), std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::load({.warn_per_core = 2, .fail_per_core = 1}),
               std::invalid_argument);
  EXPECT_THROW((void)vitals::checks::load({.window = static_cast<load_window>(7)}),
               std::invalid_argument);
}

}  // namespace
