// The rollup bucket: counting, merging, percentiles and the compact encoding.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "history/bucket.hpp"

namespace {

using vitals::history_detail::bucket;
using vitals::history_detail::decode;
using vitals::history_detail::encode;

TEST(HistoryBucket, CountsLatencyAndFailures) {
  bucket b;
  b.add(1500, false);     // 1.5 ms
  b.add(20000, true);     // 20 ms
  b.add(3000000, false);  // 3 s
  EXPECT_EQ(b.count, 3U);
  EXPECT_EQ(b.failures, 1U);
  EXPECT_EQ(b.min_us, 1500U);
  EXPECT_EQ(b.max_us, 3000000U);
  EXPECT_EQ(b.sum_us, 3021500U);
  const auto v = b.view(120, 60);
  EXPECT_DOUBLE_EQ(v.min_ms, 1.5);
  EXPECT_DOUBLE_EQ(v.max_ms, 3000);
  EXPECT_NEAR(v.avg_ms, 1007.1667, 1e-3);
  EXPECT_GE(v.p50_ms, v.min_ms);
  EXPECT_LE(v.p99_ms, v.max_ms);
  EXPECT_LE(v.p50_ms, v.p95_ms);
  EXPECT_LE(v.p95_ms, v.p99_ms);
  EXPECT_EQ(v.start.time_since_epoch(), std::chrono::seconds{120});
}

TEST(HistoryBucket, PercentilesFollowTheDistribution) {
  bucket b;
  for (int i = 0; i < 90; ++i) b.add(2000, false);    // 2 ms
  for (int i = 0; i < 10; ++i) b.add(400000, false);  // 400 ms
  const auto v = b.view(0, 60);
  EXPECT_GT(v.p50_ms, 1.0);
  EXPECT_LE(v.p50_ms, 2.5);
  EXPECT_GT(v.p95_ms, 250);
  EXPECT_LE(v.p99_ms, 400);
}

// Found by fuzz_history_rows: a damaged row whose slots disagree with its min and max must not
// report a percentile outside them.
TEST(HistoryBucket, PercentilesOfADamagedRowStayWithinMinAndMax) {
  bucket b;
  b.count = 8640;
  b.min_us = 12;
  b.max_us = 134;
  b.sum_us = 500000;
  b.slots[0] = 100;
  b.slots[3] = 8528;  // 5-10 ms, above max
  b.slots[10] = 12;
  const auto v = b.view(0, 86400);
  for (const double q : {v.p50_ms, v.p95_ms, v.p99_ms}) {
    EXPECT_GE(q, v.min_ms);
    EXPECT_LE(q, v.max_ms);
  }
}

TEST(HistoryBucket, MergeIsTheSumOfItsParts) {
  bucket a, b, both;
  for (int i = 1; i <= 5; ++i) a.add(i * 1000, i == 2), both.add(i * 1000, i == 2);
  for (int i = 6; i <= 9; ++i) b.add(i * 100000, i == 9), both.add(i * 100000, i == 9);
  a.merge(b);
  EXPECT_EQ(a, both);
  bucket empty;
  a.merge(empty);
  EXPECT_EQ(a, both);
}

TEST(HistoryBucket, EncodingRoundTripsAndEmptyBucketsAreOneByte) {
  std::array<bucket, 60> in{};
  in[3].add(1234, false);
  in[3].add(99999999, true);
  in[59].add(0, true);
  std::string bytes;
  encode(in, bytes);
  std::array<bucket, 60> out{};
  ASSERT_TRUE(decode(bytes, out));
  EXPECT_EQ(in, out);
  std::string empty;
  std::array<bucket, 60> none{};
  encode(none, empty);
  EXPECT_EQ(empty.size(), 60U);
}

TEST(HistoryBucket, MalformedBytesAreRefused) {
  std::array<bucket, 2> in{};
  in[0].add(5000, false);
  std::string bytes;
  encode(in, bytes);
  std::array<bucket, 2> out{};
  EXPECT_FALSE(decode(bytes.substr(0, bytes.size() - 1), out));  // cut short
  EXPECT_FALSE(decode(bytes + "x", out));                        // trailing bytes
  std::string lying = bytes;
  lying[0] = 5;  // a count that the histogram does not add up to
  EXPECT_FALSE(decode(lying, out));
  EXPECT_FALSE(decode(std::string(12, '\xff'), out));
}

}  // namespace
