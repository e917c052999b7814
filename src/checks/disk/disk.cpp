#include "vitals/checks/disk.hpp"

#include <sys/statvfs.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "disk/disk_judge.hpp"

namespace vitals::checks {
namespace detail {

namespace {

std::string percent(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", p);
  return buf;
}

std::string threshold(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", p);
  return buf;
}

}  // namespace

vitals::result judge_disk(const disk_options& options, const fs_usage& usage) {
  // Like df: reserved blocks count as used, so the percentage is of what can really be used.
  const std::uint64_t usable = usage.used_bytes + usage.available_bytes;
  const double free_pct = usable == 0 ? 0.0
                                      : 100.0 * static_cast<double>(usage.available_bytes) /
                                            static_cast<double>(usable);
  const bool has_inodes = usage.inodes > 0;
  const double inode_pct = has_inodes ? 100.0 * static_cast<double>(usage.free_inodes) /
                                            static_cast<double>(usage.inodes)
                                      : 100.0;

  const std::string space = percent(free_pct) + " free (" + human_bytes(usage.available_bytes) +
                            " of " + human_bytes(usage.total_bytes) + ")";
  const std::string inodes = percent(inode_pct) + " of inodes free (" +
                             std::to_string(usage.free_inodes) + " of " +
                             std::to_string(usage.inodes) + ")";

  std::vector<std::string> fails;
  std::vector<std::string> warns;
  if (options.fail_free_percent > 0 && free_pct < options.fail_free_percent) {
    fails.push_back(space + ", below " + threshold(options.fail_free_percent));
  } else if (options.warn_free_percent > 0 && free_pct < options.warn_free_percent) {
    warns.push_back(space + ", below " + threshold(options.warn_free_percent));
  }
  if (options.min_free_bytes > 0 && usage.available_bytes < options.min_free_bytes) {
    fails.push_back(human_bytes(usage.available_bytes) + " free, below " +
                    human_bytes(options.min_free_bytes));
  } else if (options.warn_free_bytes > 0 && usage.available_bytes < options.warn_free_bytes) {
    warns.push_back(human_bytes(usage.available_bytes) + " free, below " +
                    human_bytes(options.warn_free_bytes));
  }
  if (has_inodes) {
    if (options.fail_free_inodes_percent > 0 && inode_pct < options.fail_free_inodes_percent) {
      fails.push_back(inodes + ", below " + threshold(options.fail_free_inodes_percent));
    } else if (options.warn_free_inodes_percent > 0 &&
               inode_pct < options.warn_free_inodes_percent) {
      warns.push_back(inodes + ", below " + threshold(options.warn_free_inodes_percent));
    }
  }

  auto join = [&](const std::vector<std::string>& parts) {
    std::string out = options.path + ": ";
    for (std::size_t i = 0; i < parts.size(); ++i) {
      out += (i == 0 ? "" : "; ") + parts[i];
    }
    return out;
  };
  vitals::result r = !fails.empty()   ? vitals::fail(join(fails))
                     : !warns.empty() ? vitals::warn(join(warns))
                                      : vitals::pass();
  r.observe(std::round(free_pct * 100.0) / 100.0, "percent");
  r.detail("path", options.path);
  r.detail("free_bytes", std::to_string(usage.available_bytes));
  r.detail("total_bytes", std::to_string(usage.total_bytes));
  if (has_inodes) {
    r.detail("free_inodes", std::to_string(usage.free_inodes));
    r.detail("inodes", std::to_string(usage.inodes));
  }
  return r;
}

}  // namespace detail

namespace {

void check_percent(const char* name, double v) {
  if (!(v >= 0.0 && v <= 100.0)) {  // also rejects NaN
    throw std::invalid_argument(std::string("disk: ") + name + " must be within [0, 100]");
  }
}

void check_order(const char* fail_name, double fail_v, const char* warn_name, double warn_v) {
  if (fail_v > 0 && warn_v > 0 && fail_v > warn_v) {
    throw std::invalid_argument(std::string("disk: ") + fail_name + " must not exceed " +
                                warn_name);
  }
}

class disk_check final : public vitals::check {
 public:
  explicit disk_check(disk_options options) : options_(std::move(options)) {}

  vitals::result run(const vitals::context&) override {
    struct statvfs st {};
    // A hung network mount can block here; the runner's deadline covers that case.
    if (::statvfs(options_.path.c_str(), &st) != 0) {
      const int err = errno;
      return vitals::fail("statvfs(" + options_.path + "): " + std::strerror(err),
                          vitals::failure_kind::internal);
    }
    const std::uint64_t unit = st.f_frsize != 0 ? st.f_frsize : st.f_bsize;
    detail::fs_usage usage{
        .total_bytes = static_cast<std::uint64_t>(st.f_blocks) * unit,
        .used_bytes = static_cast<std::uint64_t>(st.f_blocks - st.f_bfree) * unit,
        .available_bytes = static_cast<std::uint64_t>(st.f_bavail) * unit,
        .inodes = static_cast<std::uint64_t>(st.f_files),
        .free_inodes = static_cast<std::uint64_t>(st.f_favail),
    };
    return detail::judge_disk(options_, usage);
  }

  [[nodiscard]] vitals::check_traits traits() const override {
    return {.type = "disk",
            .component_type = "system",
            .measurement = "free",
            .dependency = false,
            .secrets = {}};
  }

 private:
  disk_options options_;
};

}  // namespace

std::shared_ptr<vitals::check> disk(disk_options options) {
  if (options.path.empty()) {
    throw std::invalid_argument("disk: path must not be empty");
  }
  check_percent("warn_free_percent", options.warn_free_percent);
  check_percent("fail_free_percent", options.fail_free_percent);
  check_percent("warn_free_inodes_percent", options.warn_free_inodes_percent);
  check_percent("fail_free_inodes_percent", options.fail_free_inodes_percent);
  check_order("fail_free_percent", options.fail_free_percent, "warn_free_percent",
              options.warn_free_percent);
  check_order("fail_free_inodes_percent", options.fail_free_inodes_percent,
              "warn_free_inodes_percent", options.warn_free_inodes_percent);
  if (options.min_free_bytes > 0 && options.warn_free_bytes > 0 &&
      options.min_free_bytes > options.warn_free_bytes) {
    throw std::invalid_argument("disk: min_free_bytes must not exceed warn_free_bytes");
  }
  return std::make_shared<disk_check>(std::move(options));
}

}  // namespace vitals::checks
