#include "vitals/registry.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "base/format.hpp"
#include "vitals/redact.hpp"

namespace vitals {
namespace {

using base::format_duration;
using std::chrono::milliseconds;

bool valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

// Collects the errors of one check; `message` stands next to the key, `text` names the check.
class collector {
 public:
  explicit collector(std::string_view name) : name_(name) {}

  /// A rule whose text is the message after "vitals: check "<name>": ".
  void add(std::string key, std::string message) {
    std::string text = prefix() + message;
    add(std::move(key), std::move(message), std::move(text));
  }
  void add(std::string key, std::string message, std::string text) {
    out_.push_back(validation_error{.check = std::string{name_},
                                    .key = std::move(key),
                                    .message = std::move(message),
                                    .text = std::move(text)});
  }
  [[nodiscard]] std::string prefix() const {
    return "vitals: check \"" + std::string{name_} + "\": ";
  }
  std::vector<validation_error> take() { return std::move(out_); }

 private:
  std::string_view name_;
  std::vector<validation_error> out_{};
};

void duration_rules(collector& c, const check_options& o) {
  if (o.interval <= milliseconds::zero())
    c.add("interval", "interval must be positive (got " + format_duration(o.interval) + ")");
  if (o.timeout <= milliseconds::zero())
    c.add("timeout", "timeout must be positive (got " + format_duration(o.timeout) + ")");
  if (o.timeout >= o.interval)
    c.add("timeout", "timeout (" + format_duration(o.timeout) +
                         ") must be shorter than interval (" + format_duration(o.interval) + ")");
  if (o.initial_delay < milliseconds::zero())
    c.add("initial_delay", "initial_delay must not be negative");
  if (o.ttl_pass < milliseconds::zero() || o.ttl_fail < milliseconds::zero())
    c.add(o.ttl_pass < milliseconds::zero() ? "ttl_pass" : "ttl_fail",
          "ttl_pass and ttl_fail must not be negative");
  if (o.max_staleness < milliseconds::zero())
    c.add("max_staleness", "max_staleness must not be negative");
}

void judging_rules(collector& c, const check_options& o) {
  if (!(o.jitter >= 0.0 && o.jitter < 1.0))  // also refuses NaN
    c.add("jitter", "jitter must be in [0, 1) (got " + std::to_string(o.jitter) + ")");
  if (o.failure_threshold < 1)
    c.add("failure_threshold",
          "failure_threshold must be at least 1 (got " + std::to_string(o.failure_threshold) + ")");
  if (o.success_threshold < 1)
    c.add("success_threshold",
          "success_threshold must be at least 1 (got " + std::to_string(o.success_threshold) + ")");
}

}  // namespace

std::vector<validation_error> registry::errors(std::string_view name, const check_options& o,
                                               const check_traits& t) {
  collector c{name};
  if (!valid_name(name)) {
    // The name may itself be garbage (or a secret pasted in the wrong place): bounded, scrubbed.
    const std::string shown = scrub_patterns(name.substr(0, 80));
    c.add("name",
          "invalid check name \"" + shown + "\" (1 to 64 characters among A-Z a-z 0-9 _ . -)",
          "vitals: invalid check name \"" + shown +
              "\": use 1 to 64 characters among A-Z a-z 0-9 _ . -");
  }
  // No probe: a monitored target (shown in /health, /metrics, notifications; never in a probe
  // of this process). On demand, though, only a probe request runs a check: it would never run.
  if (o.probes.empty() && o.mode == schedule::on_demand)
    c.add("probes", "an on_demand check must list at least one of live, ready, startup",
          c.prefix() +
              "an on_demand check in no probe would never run (set probes, or run it "
              "in the background)");
  duration_rules(c, o);
  judging_rules(c, o);
  if (o.probes.contains(probe::live) && t.dependency && !o.allow_in_live)
    c.add("probes",
          "a " + t.type +
              " check depends on something outside the process and is refused in the live probe "
              "(a dead dependency would restart every replica); set allow_in_live: true to insist",
          c.prefix() + "a dependency check (type " + t.type +
              ") is refused in the live probe: a dead dependency would restart every replica; use "
              "ready, or set allow_in_live = true if you really mean it");
  return c.take();
}

void registry::validate(std::string_view name, const check_options& o, const check_traits& t) {
  auto errs = errors(name, o, t);
  if (!errs.empty()) throw std::invalid_argument(errs.front().text);
}

std::vector<validation_error> registry::try_add(std::string name, std::shared_ptr<check> c,
                                                check_options options) {
  if (!c) throw std::invalid_argument("vitals: check \"" + name + "\": null check");
  check_traits traits = c->traits();
  auto errs = errors(name, options, traits);
  if (auto it = names_.find(name); it != names_.end()) {
    collector dup{name};
    dup.add("name", "duplicate check name \"" + name + "\"",
            dup.prefix() + "duplicate name (each check must be registered once)");
    errs.push_back(dup.take().front());
    errs.back().duplicate_of = it->second;
  }
  if (!errs.empty()) return errs;
  names_.emplace(name, entries_.size());
  if (!options.component_type.empty()) traits.component_type = options.component_type;
  if (!options.measurement.empty()) traits.measurement = options.measurement;
  entries_.push_back(entry{.name = std::move(name),
                           .impl = std::move(c),
                           .options = std::move(options),
                           .traits = std::move(traits)});
  return {};
}

registry& registry::add(std::string name, std::shared_ptr<check> c, check_options options) {
  auto errs = try_add(std::move(name), std::move(c), std::move(options));
  if (!errs.empty()) throw std::invalid_argument(errs.front().text);
  return *this;
}

registry& registry::add(std::string name, std::function<result(const context&)> fn,
                        check_options options) {
  if (!fn) throw std::invalid_argument("vitals: check \"" + name + "\": empty function");
  return add(std::move(name), make_check(std::move(fn)), std::move(options));
}

}  // namespace vitals
