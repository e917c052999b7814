// The disk check type: its keys, locality (listed in src/checks/types.def).
#include "schema/check_type.hpp"
#include "vitals/checks/disk.hpp"

namespace vitals::checks {

schema::check_type describe_disk() {
  using o = checks::disk_options;
  schema::type_builder<o> b{"disk", "Free space and free inodes of the filesystem holding a path."};
  b.key("path", &o::path, "Any path on the filesystem to watch.");
  b.key("warn_free_percent", &o::warn_free_percent, "Warn below this free percentage.",
        {.min = 0.0, .max = 100.0});
  b.key("fail_free_percent", &o::fail_free_percent, "Fail below this free percentage.",
        {.min = 0.0, .max = 100.0});
  b.key("warn_free_bytes", &o::warn_free_bytes, "Warn below this many free bytes (0 = off).",
        {.min = 0.0});
  b.key("min_free_bytes", &o::min_free_bytes, "Fail below this many free bytes (0 = off).",
        {.min = 0.0});
  b.key("warn_free_inodes_percent", &o::warn_free_inodes_percent,
        "Warn below this free inode percentage.", {.min = 0.0, .max = 100.0});
  b.key("fail_free_inodes_percent", &o::fail_free_inodes_percent,
        "Fail below this free inode percentage.", {.min = 0.0, .max = 100.0});
  return {.spec = b.build([](o opts) { return checks::disk(std::move(opts)); }),
          .process_local = true};
}

}  // namespace vitals::checks
