// `vitals probe`'s response parser: the status-line scanner, fed the bytes of a response the way
// the probe receives them (growing prefixes). Properties: a verdict (done or bad) never changes
// once reached, and a final status points inside what was received.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.hpp"
#include "probe/http_status.hpp"

using vitals::cli::scan_status;
using vitals::cli::status_scan;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all{reinterpret_cast<const char*>(data), size};
  int final_code = 0;
  std::size_t final_end = 0;
  const status_scan verdict = scan_status(all, final_code, final_end);
  if (verdict == status_scan::done) {
    vitals_fuzz::require(final_code >= 101 && final_code <= 999, "final code out of range");
    vitals_fuzz::require(final_end > 0 && final_end <= size, "line end outside the input");
    vitals_fuzz::require(all[final_end - 1] == '\n', "line end is not after a LF");
  }
  // The probe reads in pieces; every prefix must agree with the whole once it has decided.
  const std::size_t step = size < 64 ? 1 : size / 64;
  for (std::size_t n = 0; n < size; n += step) {
    int code = 0;
    std::size_t end = 0;
    const status_scan r = scan_status(all.substr(0, n), code, end);
    if (r == status_scan::done) {
      vitals_fuzz::require(verdict == status_scan::done && code == final_code && end == final_end,
                           "a prefix found another final status than the whole response");
    } else if (r == status_scan::bad && n <= 16 * 1024) {  // above: bad for its size alone
      vitals_fuzz::require(verdict == status_scan::bad, "a prefix was bad but the whole is not");
    }
  }
  return 0;
}
