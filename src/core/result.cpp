#include "vitals/result.hpp"

namespace vitals {

result& result::observe(std::int64_t v, std::string unit) & {
  observed = observation{.value = v, .unit = std::move(unit)};
  return *this;
}
result& result::observe(double v, std::string unit) & {
  observed = observation{.value = v, .unit = std::move(unit)};
  return *this;
}
result& result::observe(std::string v, std::string unit) & {
  observed = observation{.value = std::move(v), .unit = std::move(unit)};
  return *this;
}
result&& result::observe(std::int64_t v, std::string unit) && {
  return std::move(observe(v, std::move(unit)));
}
result&& result::observe(double v, std::string unit) && {
  return std::move(observe(v, std::move(unit)));
}
result&& result::observe(std::string v, std::string unit) && {
  return std::move(observe(std::move(v), std::move(unit)));
}

result& result::detail(std::string key, std::string value) & {
  details.emplace_back(std::move(key), std::move(value));
  return *this;
}
result&& result::detail(std::string key, std::string value) && {
  return std::move(detail(std::move(key), std::move(value)));
}

result& result::with_kind(failure_kind k) & {
  kind = k;
  return *this;
}
result&& result::with_kind(failure_kind k) && { return std::move(with_kind(k)); }

result pass() {
  result r;
  r.status = status::pass;
  return r;
}

result warn(std::string output) {
  result r;
  r.status = status::warn;
  r.output = std::move(output);
  return r;
}

result fail(std::string output, failure_kind kind) {
  result r;
  r.status = status::fail;
  r.output = std::move(output);
  r.kind = kind;
  return r;
}

}  // namespace vitals
