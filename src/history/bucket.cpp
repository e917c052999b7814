#include "bucket.hpp"

#include <algorithm>
#include <limits>

namespace vitals::history_detail {
namespace {

void put_varint(std::uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool get_varint(std::string_view& in, std::uint64_t& v) noexcept {
  v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    const auto byte = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool get_u32(std::string_view& in, std::uint32_t& v) noexcept {
  std::uint64_t w = 0;
  if (!get_varint(in, w) || w > std::numeric_limits<std::uint32_t>::max()) return false;
  v = static_cast<std::uint32_t>(w);
  return true;
}

std::uint32_t saturated(std::uint64_t v) noexcept {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(v, 0xffffffffU));
}

}  // namespace

std::size_t slot_of(std::uint64_t latency_us) noexcept {
  const double ms = static_cast<double>(latency_us) / 1000.0;
  const auto* it =
      std::lower_bound(history_latency_bounds_ms.begin(), history_latency_bounds_ms.end(), ms);
  return static_cast<std::size_t>(it - history_latency_bounds_ms.begin());
}

void bucket::add(std::uint64_t latency_us, bool failed) noexcept {
  const std::uint32_t us = saturated(latency_us);
  if (count == 0 || us < min_us) min_us = us;
  if (count == 0 || us > max_us) max_us = us;
  ++count;
  if (failed) ++failures;
  sum_us += us;
  ++slots[slot_of(us)];
}

void bucket::merge(const bucket& other) noexcept {
  if (other.count == 0) return;
  if (count == 0 || other.min_us < min_us) min_us = other.min_us;
  if (count == 0 || other.max_us > max_us) max_us = other.max_us;
  count += other.count;
  failures += other.failures;
  sum_us += other.sum_us;
  for (std::size_t i = 0; i < slots.size(); ++i) slots[i] += other.slots[i];
}

double quantile_ms(const bucket& b, double q) noexcept {
  if (b.count == 0) return 0;
  const double lo_ms = b.min_us / 1000.0;
  const double hi_ms = b.max_us / 1000.0;
  const double rank = q * b.count;
  double seen = 0;
  for (std::size_t i = 0; i < b.slots.size(); ++i) {
    if (b.slots[i] == 0) continue;
    const double next = seen + b.slots[i];
    if (next >= rank) {
      // Linear inside the slot, whose edges are the histogram bounds cut to [min, max].
      const double slot_lo = i == 0 ? 0.0 : history_latency_bounds_ms[i - 1];
      const double slot_hi =
          i < history_latency_bounds_ms.size() ? history_latency_bounds_ms[i] : hi_ms;
      const double a = std::max(slot_lo, lo_ms);
      const double z = std::max(a, std::min(slot_hi, hi_ms));
      const double within = (rank - seen) / b.slots[i];
      // Clamped again: a damaged row may hold slots that disagree with its min and max.
      return std::clamp(a + (z - a) * within, lo_ms, hi_ms);
    }
    seen = next;
  }
  return hi_ms;
}

history_bucket bucket::view(std::int64_t start, std::int64_t width) const {
  history_bucket v;
  v.start = std::chrono::system_clock::time_point{std::chrono::seconds{start}};
  v.width = std::chrono::seconds{width};
  v.count = count;
  v.failures = failures;
  if (count > 0) {
    v.min_ms = min_us / 1000.0;
    v.max_ms = max_us / 1000.0;
    v.avg_ms = static_cast<double>(sum_us) / count / 1000.0;
    v.p50_ms = quantile_ms(*this, 0.50);
    v.p95_ms = quantile_ms(*this, 0.95);
    v.p99_ms = quantile_ms(*this, 0.99);
  }
  return v;
}

void encode(std::span<const bucket> buckets, std::string& out) {
  // Counts first, so that uptime reads them without the latencies (decode_totals).
  for (const bucket& b : buckets) {
    put_varint(b.count, out);
    if (b.count != 0) put_varint(b.failures, out);
  }
  for (const bucket& b : buckets) {
    if (b.count == 0) continue;
    put_varint(b.min_us, out);
    put_varint(b.max_us - b.min_us, out);
    put_varint(b.sum_us, out);
    std::uint64_t mask = 0;
    for (std::size_t i = 0; i < b.slots.size(); ++i) {
      if (b.slots[i] != 0) mask |= std::uint64_t{1} << i;
    }
    put_varint(mask, out);
    for (const std::uint32_t n : b.slots) {
      if (n != 0) put_varint(n, out);
    }
  }
}

namespace {

bool read_totals(std::string_view& bytes, std::span<bucket> out) noexcept {
  for (bucket& b : out) {
    b = bucket{};
    if (!get_u32(bytes, b.count)) return false;
    if (b.count == 0) continue;
    if (!get_u32(bytes, b.failures) || b.failures > b.count) return false;
  }
  return true;
}

}  // namespace

bool decode_totals(std::string_view bytes, std::span<bucket> out) noexcept {
  return read_totals(bytes, out);
}

bool decode(std::string_view bytes, std::span<bucket> out) noexcept {
  if (!read_totals(bytes, out)) return false;
  for (bucket& b : out) {
    if (b.count == 0) continue;
    std::uint32_t spread = 0;
    std::uint64_t mask = 0;
    if (!get_u32(bytes, b.min_us) || !get_u32(bytes, spread) || !get_varint(bytes, b.sum_us) ||
        !get_varint(bytes, mask)) {
      return false;
    }
    if (spread > 0xffffffffU - b.min_us || mask >= (std::uint64_t{1} << latency_slots)) {
      return false;
    }
    b.max_us = b.min_us + spread;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < b.slots.size(); ++i) {
      if ((mask & (std::uint64_t{1} << i)) == 0) continue;
      if (!get_u32(bytes, b.slots[i])) return false;
      total += b.slots[i];
    }
    if (total != b.count) return false;
  }
  return bytes.empty();
}

}  // namespace vitals::history_detail
