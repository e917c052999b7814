#pragma once
// Private seam of the disk check: the judgement is separate from statvfs so unit tests can
// feed crafted figures and check every threshold and message exactly.

#include <cstdint>
#include <string>

#include "base/format.hpp"
#include "vitals/checks/disk.hpp"
#include "vitals/result.hpp"

namespace vitals::checks::detail {

struct fs_usage {
  std::uint64_t total_bytes = 0;      ///< f_blocks * f_frsize
  std::uint64_t used_bytes = 0;       ///< (f_blocks - f_bfree) * f_frsize
  std::uint64_t available_bytes = 0;  ///< f_bavail * f_frsize (what a non-root user can use)
  std::uint64_t inodes = 0;           ///< f_files (0 = not reported)
  std::uint64_t free_inodes = 0;      ///< f_favail
};

/// Judges one reading against the thresholds.
[[nodiscard]] vitals::result judge_disk(const disk_options& options, const fs_usage& usage);

/// "900 B", "12 KiB", "1.1 GiB".
using base::human_bytes;

}  // namespace vitals::checks::detail
