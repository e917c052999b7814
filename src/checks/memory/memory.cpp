#include "vitals/checks/memory.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/format.hpp"

namespace vitals::checks {
namespace {

using base::human_bytes;

std::string percent(double p, const char* fmt = "%.1f%%") {
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, p);
  return buf;
}

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// The value of a "Key:   1234 kB" line of /proc/meminfo or /proc/<pid>/status, in bytes.
std::optional<std::uint64_t> kb_field(std::string_view text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ':') {
      continue;
    }
    line.remove_prefix(key.size() + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      line.remove_prefix(1);
    }
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), v);
    if (ec != std::errc{}) {
      return std::nullopt;
    }
    std::string_view unit{p, static_cast<std::size_t>(line.data() + line.size() - p)};
    while (!unit.empty() && unit.front() == ' ') {
      unit.remove_prefix(1);
    }
    if (unit == "kB") {
      if (v > UINT64_MAX / 1024) {
        return std::nullopt;
      }
      return v * 1024;
    }
    if (unit.empty()) {
      return v;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

class memory_check final : public vitals::check {
 public:
  explicit memory_check(memory_options options) : options_(std::move(options)) {}

  vitals::result run(const vitals::context&) override {
    std::vector<std::string> fails;
    std::vector<std::string> warns;
    std::vector<std::pair<std::string, std::string>> details;
    std::optional<std::uint64_t> rss;
    std::optional<double> available_pct;

    if (rss_enabled()) {
      const std::string path = options_.proc_root + "/" +
                               (options_.pid > 0 ? std::to_string(options_.pid) : "self") +
                               "/status";
      auto text = slurp(path);
      if (!text) {
        return vitals::fail("cannot read " + path, vitals::failure_kind::internal);
      }
      rss = kb_field(*text, "VmRSS");
      if (!rss) {
        // Kernel threads and zombies have no VmRSS line.
        return vitals::fail("no VmRSS in " + path, vitals::failure_kind::internal);
      }
      details.emplace_back("rss_bytes", std::to_string(*rss));
      const std::string what = "RSS " + human_bytes(*rss);
      if (options_.fail_rss_bytes > 0 && *rss > options_.fail_rss_bytes) {
        fails.push_back(what + ", above " + human_bytes(options_.fail_rss_bytes));
      } else if (options_.warn_rss_bytes > 0 && *rss > options_.warn_rss_bytes) {
        warns.push_back(what + ", above " + human_bytes(options_.warn_rss_bytes));
      }
    }

    if (system_enabled()) {
      const std::string path = options_.proc_root + "/meminfo";
      auto text = slurp(path);
      if (!text) {
        return vitals::fail("cannot read " + path, vitals::failure_kind::internal);
      }
      auto total = kb_field(*text, "MemTotal");
      auto available = kb_field(*text, "MemAvailable");
      if (!total || !available || *total == 0) {
        return vitals::fail("no MemTotal/MemAvailable in " + path, vitals::failure_kind::internal);
      }
      available_pct = 100.0 * static_cast<double>(*available) / static_cast<double>(*total);
      details.emplace_back("available_bytes", std::to_string(*available));
      details.emplace_back("total_bytes", std::to_string(*total));
      const std::string what = "available memory " + percent(*available_pct) + " (" +
                               human_bytes(*available) + " of " + human_bytes(*total) + ")";
      if (options_.fail_available_percent > 0 && *available_pct < options_.fail_available_percent) {
        fails.push_back(what + ", below " + percent(options_.fail_available_percent, "%g%%"));
      } else if (options_.min_available_bytes > 0 && *available < options_.min_available_bytes) {
        fails.push_back(what + ", below " + human_bytes(options_.min_available_bytes));
      } else if (options_.warn_available_percent > 0 &&
                 *available_pct < options_.warn_available_percent) {
        warns.push_back(what + ", below " + percent(options_.warn_available_percent, "%g%%"));
      }
    }

    auto join = [](const std::vector<std::string>& parts) {
      std::string out;
      for (const auto& p : parts) {
        out += (out.empty() ? "" : "; ") + p;
      }
      return out;
    };
    vitals::result r = !fails.empty()   ? vitals::fail(join(fails))
                       : !warns.empty() ? vitals::warn(join(warns))
                                        : vitals::pass();
    if (rss) {
      r.observe(static_cast<std::int64_t>(*rss), "bytes");
    } else if (available_pct) {
      r.observe(std::round(*available_pct * 100.0) / 100.0, "percent");
    }
    for (auto& [k, v] : details) {
      r.detail(std::move(k), std::move(v));
    }
    return r;
  }

  [[nodiscard]] vitals::check_traits traits() const override {
    return {.type = "memory",
            .component_type = "system",
            .measurement = rss_enabled() ? "rss" : "available",
            .dependency = false,
            .secrets = {}};
  }

 private:
  [[nodiscard]] bool rss_enabled() const {
    return options_.warn_rss_bytes > 0 || options_.fail_rss_bytes > 0;
  }
  [[nodiscard]] bool system_enabled() const {
    return options_.warn_available_percent > 0 || options_.fail_available_percent > 0 ||
           options_.min_available_bytes > 0;
  }

  memory_options options_;
};

}  // namespace

std::shared_ptr<vitals::check> memory(memory_options options) {
  for (auto [name, v] : {std::pair{"warn_available_percent", options.warn_available_percent},
                         std::pair{"fail_available_percent", options.fail_available_percent}}) {
    if (!(v >= 0.0 && v <= 100.0)) {
      throw std::invalid_argument(std::string("memory: ") + name + " must be within [0, 100]");
    }
  }
  if (options.fail_available_percent > 0 && options.warn_available_percent > 0 &&
      options.fail_available_percent > options.warn_available_percent) {
    throw std::invalid_argument(
        "memory: fail_available_percent must not exceed warn_available_percent");
  }
  if (options.fail_rss_bytes > 0 && options.warn_rss_bytes > 0 &&
      options.fail_rss_bytes < options.warn_rss_bytes) {
    throw std::invalid_argument("memory: fail_rss_bytes must not be below warn_rss_bytes");
  }
  if (options.pid < 0) {
    throw std::invalid_argument("memory: pid must be 0 (this process) or positive");
  }
  if (options.proc_root.empty()) {
    throw std::invalid_argument("memory: proc_root must not be empty");
  }
  return std::make_shared<memory_check>(std::move(options));
}

}  // namespace vitals::checks
