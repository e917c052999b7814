#include "vitals/registry.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "base/format.hpp"

namespace vitals {
namespace {

bool valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

[[noreturn]] void refuse(std::string_view name, const std::string& why) {
  throw std::invalid_argument("vitals: check \"" + std::string(name) + "\": " + why);
}

}  // namespace

void registry::validate(std::string_view name, const check_options& o, const check_traits& t) {
  using base::format_duration;
  if (!valid_name(name)) {
    // The name may itself be garbage; show it escaped-free but bounded.
    throw std::invalid_argument("vitals: invalid check name \"" + std::string(name.substr(0, 80)) +
                                "\": use 1 to 64 characters among A-Z a-z 0-9 _ . -");
  }
  if (o.probes.empty()) refuse(name, "belongs to no probe (set probes to live, ready or startup)");
  if (o.interval <= std::chrono::milliseconds::zero())
    refuse(name, "interval must be positive (got " + format_duration(o.interval) + ")");
  if (o.timeout <= std::chrono::milliseconds::zero())
    refuse(name, "timeout must be positive (got " + format_duration(o.timeout) + ")");
  if (o.timeout >= o.interval)
    refuse(name, "timeout (" + format_duration(o.timeout) + ") must be shorter than interval (" +
                     format_duration(o.interval) + ")");
  if (o.initial_delay < std::chrono::milliseconds::zero())
    refuse(name, "initial_delay must not be negative");
  if (o.ttl_pass < std::chrono::milliseconds::zero() ||
      o.ttl_fail < std::chrono::milliseconds::zero())
    refuse(name, "ttl_pass and ttl_fail must not be negative");
  if (o.max_staleness < std::chrono::milliseconds::zero())
    refuse(name, "max_staleness must not be negative");
  if (!(o.jitter >= 0.0 && o.jitter < 1.0))  // also refuses NaN
    refuse(name, "jitter must be in [0, 1) (got " + std::to_string(o.jitter) + ")");
  if (o.failure_threshold < 1)
    refuse(name, "failure_threshold must be at least 1 (got " +
                     std::to_string(o.failure_threshold) + ")");
  if (o.success_threshold < 1)
    refuse(name, "success_threshold must be at least 1 (got " +
                     std::to_string(o.success_threshold) + ")");
  if (o.probes.contains(probe::live) && t.dependency && !o.allow_in_live)
    refuse(name, "a dependency check (type " + t.type +
                     ") is refused in the live probe: a dead dependency would restart every "
                     "replica; use ready, or set allow_in_live = true if you really mean it");
}

registry& registry::add(std::string name, std::shared_ptr<check> c, check_options options) {
  if (!c) throw std::invalid_argument("vitals: check \"" + name + "\": null check");
  check_traits traits = c->traits();
  validate(name, options, traits);
  if (names_.contains(name)) refuse(name, "duplicate name (each check must be registered once)");
  names_.insert(name);
  if (!options.component_type.empty()) traits.component_type = options.component_type;
  if (!options.measurement.empty()) traits.measurement = options.measurement;
  entries_.push_back(entry{.name = std::move(name),
                           .impl = std::move(c),
                           .options = std::move(options),
                           .traits = std::move(traits)});
  return *this;
}

registry& registry::add(std::string name, std::function<result(const context&)> fn,
                        check_options options) {
  if (!fn) throw std::invalid_argument("vitals: check \"" + name + "\": empty function");
  return add(std::move(name), make_check(std::move(fn)), std::move(options));
}

}  // namespace vitals
