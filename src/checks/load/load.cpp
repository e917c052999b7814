#include "vitals/checks/load.hpp"

#include <sched.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace vitals::checks {
namespace {

/// CPUs this process may run on: in a container pinned to 2 of 64 CPUs, 2 is the right divisor.
unsigned usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) {
      return static_cast<unsigned>(n);
    }
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? n : 1;
}

std::string fmt2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string fmtg(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

class load_check final : public vitals::check {
 public:
  explicit load_check(load_options options)
      : options_(std::move(options)),
        cores_(options_.cores > 0 ? options_.cores : usable_cores()) {}

  vitals::result run(const vitals::context&) override {
    const std::string path = options_.proc_root + "/loadavg";
    std::ifstream in(path);
    double avg[3] = {0, 0, 0};
    if (!in) {
      return vitals::fail("cannot read " + path, vitals::failure_kind::internal);
    }
    if (!(in >> avg[0] >> avg[1] >> avg[2]) || avg[0] < 0 || avg[1] < 0 || avg[2] < 0) {
      return vitals::fail("cannot parse " + path, vitals::failure_kind::internal);
    }
    const auto index = static_cast<std::size_t>(options_.window);
    static constexpr const char* windows[] = {"1 min", "5 min", "15 min"};
    const double value = avg[index];
    const double per_core = value / static_cast<double>(cores_);
    const std::string what = "load " + fmt2(value) + " over " + windows[index] + " on " +
                             std::to_string(cores_) + (cores_ == 1 ? " core" : " cores") + " = " +
                             fmt2(per_core) + " per core";
    vitals::result r = options_.fail_per_core > 0 && per_core > options_.fail_per_core
                           ? vitals::fail(what + ", above " + fmtg(options_.fail_per_core))
                       : options_.warn_per_core > 0 && per_core > options_.warn_per_core
                           ? vitals::warn(what + ", above " + fmtg(options_.warn_per_core))
                           : vitals::pass();
    r.observe(std::round(per_core * 100.0) / 100.0, "per core");
    r.detail("load1", fmt2(avg[0]));
    r.detail("load5", fmt2(avg[1]));
    r.detail("load15", fmt2(avg[2]));
    r.detail("cores", std::to_string(cores_));
    return r;
  }

  [[nodiscard]] vitals::check_traits traits() const override {
    return {.type = "load",
            .component_type = "system",
            .measurement = "utilization",
            .dependency = false,
            .secrets = {}};
  }

 private:
  load_options options_;
  unsigned cores_;
};

}  // namespace

std::shared_ptr<vitals::check> load(load_options options) {
  if (!(options.warn_per_core >= 0.0) || !(options.fail_per_core >= 0.0) ||
      !std::isfinite(options.warn_per_core) || !std::isfinite(options.fail_per_core)) {
    throw std::invalid_argument("load: thresholds must be finite and >= 0");
  }
  if (options.warn_per_core > 0 && options.fail_per_core > 0 &&
      options.fail_per_core < options.warn_per_core) {
    throw std::invalid_argument("load: fail_per_core must not be below warn_per_core");
  }
  if (static_cast<unsigned>(options.window) > 2) {
    throw std::invalid_argument("load: unknown window");
  }
  if (options.proc_root.empty()) {
    throw std::invalid_argument("load: proc_root must not be empty");
  }
  return std::make_shared<load_check>(std::move(options));
}

}  // namespace vitals::checks
