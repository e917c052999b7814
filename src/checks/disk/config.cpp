// YAML keys of the disk check (compiled into vitals::config, registered by the generated list).
#include "config/schema.hpp"
#include "vitals/checks/disk.hpp"

namespace vitals::config::detail {

void register_disk(type_registry& types) {
  using o = checks::disk_options;
  type_builder<o> b{"disk", "Free space and free inodes of the filesystem holding a path."};
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
  types.add(b.build([](o opts) { return checks::disk(std::move(opts)); }));
}

}  // namespace vitals::config::detail
