// The history's row decoder (src/history/bucket.hpp) on arbitrary bytes: what a damaged or
// hostile history file could hold. First byte: the row kind (60 minute buckets, 24 hour
// buckets, 1 day bucket). Properties: decoding never reads past the row; a row that decodes
// holds consistent buckets (failures <= count, min <= max, slot counts adding up to count);
// encoding what was decoded and decoding that again gives the same buckets, and the totals-only
// decoder agrees with the full one; percentiles stay within [min, max].
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "fuzz_util.hpp"
#include "history/bucket.hpp"

namespace {

using vitals::history_detail::bucket;
using vitals_fuzz::require;

template <std::size_t N>
void check_row(std::string_view bytes) {
  std::array<bucket, N> cells{};
  if (!vitals::history_detail::decode(bytes, cells)) return;
  std::array<bucket, N> totals{};
  require(vitals::history_detail::decode_totals(bytes, totals), "totals refused a decoded row");
  for (std::size_t i = 0; i < N; ++i) {
    const bucket& b = cells[i];
    require(b.failures <= b.count, "more failures than runs");
    require(totals[i].count == b.count && totals[i].failures == b.failures,
            "totals disagree with the full decode");
    std::uint64_t sum = 0;
    for (const auto n : b.slots) sum += n;
    require(sum == b.count, "slot counts do not add up");
    if (b.count == 0) continue;
    require(b.min_us <= b.max_us, "min above max");
    const auto v = b.view(0, 60);
    for (const double q : {v.p50_ms, v.p95_ms, v.p99_ms}) {
      require(q >= v.min_ms - 1e-9 && q <= v.max_ms + 1e-9, "a percentile outside [min, max]");
    }
  }
  std::string again;
  vitals::history_detail::encode(cells, again);
  std::array<bucket, N> round{};
  require(vitals::history_detail::decode(again, round), "a re-encoded row does not decode");
  require(round == cells, "a re-encoded row decodes to other buckets");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes{reinterpret_cast<const char*>(data) + 1, size - 1};
  switch (data[0] % 3) {
    case 0:
      check_row<60>(bytes);
      break;
    case 1:
      check_row<24>(bytes);
      break;
    default:
      check_row<1>(bytes);
      break;
  }
  return 0;
}
