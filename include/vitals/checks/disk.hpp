#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "vitals/check.hpp"

namespace vitals::checks {

/// Free space and free inodes of the filesystem holding `path` (statvfs). Not a dependency:
/// fits any probe. Percentages are of the space an unprivileged user can use, as `df` shows
/// them (reserved root blocks count as used). A threshold of 0 is off.
///
///     reg.add("data-disk", vitals::checks::disk({.path = "/var/lib/app",
///                                                .warn_free_percent = 15,
///                                                .min_free_bytes = 2ull << 30}));
struct disk_options {
  /// Any path on the filesystem to watch (a mount point or a file below it).
  std::string path = "/";
  /// Warn when the free space falls below this percentage.
  double warn_free_percent = 10.0;
  /// Fail when the free space falls below this percentage.
  double fail_free_percent = 5.0;
  /// Warn when fewer bytes than this are free (0 = off).
  std::uint64_t warn_free_bytes = 0;
  /// Fail when fewer bytes than this are free (0 = off).
  std::uint64_t min_free_bytes = 0;
  /// Warn / fail when the free inodes fall below these percentages. Skipped on filesystems
  /// that report no inode count (btrfs, some FUSE mounts).
  double warn_free_inodes_percent = 10.0;
  double fail_free_inodes_percent = 5.0;
};

/// Builds a disk check. Throws std::invalid_argument for an empty path, a percentage outside
/// [0, 100], or a fail threshold looser than its warn threshold.
[[nodiscard]] std::shared_ptr<vitals::check> disk(disk_options options);

}  // namespace vitals::checks
