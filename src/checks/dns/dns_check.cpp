#include "dns/dns_check.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/io_loop.hpp"
#include "common/net.hpp"
#include "vitals/checks/descriptors.hpp"

namespace vitals::checks {
namespace {

using detail::resolved_address;

int to_family(dns_family f) noexcept {
  switch (f) {
    case dns_family::ipv4:
      return AF_INET;
    case dns_family::ipv6:
      return AF_INET6;
    case dns_family::any:
      break;
  }
  return AF_UNSPEC;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out.append(out.empty() ? "" : ",").append(s);
  return out;
}

class dns_check final : public detail::loop_check<dns_check> {
  friend loop_check;

 public:
  // The resolver's socket to the name server, on its worker thread.
  [[nodiscard]] std::size_t descriptors() const noexcept override { return 1; }

  dns_check(dns_options o, detail::bounded_resolver::lookup_fn lookup)
      : options_(std::move(o)), resolver_(std::move(lookup)) {
    if (options_.name.empty()) throw std::invalid_argument("dns check: name is empty");
    for (const auto& a : options_.expected_addresses) {
      auto parsed = detail::numeric_address(a, 0);
      if (!parsed) {
        throw std::invalid_argument("dns check: expected address \"" + a +
                                    "\" is not an IPv4/IPv6 literal");
      }
      // Compared in canonical form: "::0001" and "::1" are the same address.
      expected_.push_back(parsed->text());
    }
  }

  [[nodiscard]] check_traits traits() const override {
    return {.type = "dns",
            .component_type = "component",
            .measurement = "responseTime",
            .dependency = true,
            .secrets = {}};
  }

 private:
  // On the shared loop, without blocking it: the lookup itself runs on the resolver's worker.
  boost::asio::awaitable<result> evaluate(const context& ctx, detail::steady_time started) {
    const auto deadline = ctx.deadline();
    const std::string& name = options_.name;
    ctx.doing("resolving " + name);
    auto answer =
        co_await detail::resolve_on_loop(resolver_, name, 0, deadline, to_family(options_.family));
    const auto elapsed = std::chrono::steady_clock::now() - started;
    if (!answer)
      co_return detail::to_result(detail::timed_out(started, deadline, "resolving " + name));
    if (!*answer) co_return detail::to_result(*answer->error);
    co_return judge(*answer, elapsed);
  }

  result judge(const detail::lookup_result& answer, std::chrono::nanoseconds elapsed) const {
    std::vector<std::string> got;
    for (const auto& a : answer.addresses) {
      auto text = a.text();
      if (std::find(got.begin(), got.end(), text) == got.end()) got.push_back(std::move(text));
    }
    std::vector<std::string> missing;
    for (const auto& e : expected_) {
      if (std::find(got.begin(), got.end(), e) == got.end()) missing.push_back(e);
    }
    result r = vitals::pass();
    if (!missing.empty()) {
      r = vitals::fail("\"" + options_.name + "\" resolved to " + join(got) + ", missing " +
                       join(missing));
    } else if (got.size() < options_.min_addresses) {
      r = vitals::fail("\"" + options_.name + "\" resolved to " + std::to_string(got.size()) +
                       " address" + (got.size() == 1 ? "" : "es") + ", expected at least " +
                       std::to_string(options_.min_addresses));
    }
    const double ms =
        std::round(std::chrono::duration<double, std::milli>(elapsed).count() * 100.0) / 100.0;
    r.observe(ms, "ms");
    r.detail("addresses", join(got));
    return r;
  }

  dns_options options_;
  std::vector<std::string> expected_{};
  detail::bounded_resolver resolver_;
};

}  // namespace

namespace detail {
std::shared_ptr<vitals::check> make_dns_check(dns_options options,
                                              bounded_resolver::lookup_fn lookup) {
  return std::make_shared<dns_check>(std::move(options), std::move(lookup));
}
}  // namespace detail

std::shared_ptr<vitals::check> dns(dns_options options) {
  return detail::make_dns_check(std::move(options), {});
}

}  // namespace vitals::checks
