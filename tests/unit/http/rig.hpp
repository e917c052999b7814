#pragma once
// A real vitals::service with scriptable lambda checks, a manual clock and a handler on top.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "handler_impl.hpp"
#include "vitals/http/handler.hpp"
#include "vitals/service.hpp"
#include "vitals/testing/manual_clock.hpp"

namespace vitals_test {

using namespace std::chrono_literals;

/// The result a lambda check returns; tests change it between runs.
class knob {
 public:
  explicit knob(vitals::result r) : r_(std::move(r)) {}
  void set(vitals::result r) {
    std::lock_guard lock{m_};
    r_ = std::move(r);
  }
  [[nodiscard]] vitals::result get() const {
    std::lock_guard lock{m_};
    return r_;
  }

 private:
  mutable std::mutex m_;
  vitals::result r_;
};

class rig {
 public:
  static constexpr std::chrono::milliseconds interval = std::chrono::seconds{10};

  /// Registers a check returning whatever its knob holds. Jitter is off so that advancing the
  /// manual clock by one interval makes every check due again.
  knob& add(const std::string& name, vitals::result initial, vitals::check_options o = {}) {
    o.jitter = 0;
    o.interval = interval;
    auto k = std::make_shared<knob>(std::move(initial));
    knobs_[name] = k;
    reg_.add(
        name, [k](const vitals::context&) { return k->get(); }, std::move(o));
    return *k;
  }

  void start(vitals::http::handler_options ho = {}, vitals::service_info info = {},
             std::vector<std::shared_ptr<vitals::observer>> observers = {}) {
    svc_ = std::make_unique<vitals::service>(
        std::move(reg_), vitals::service_options{.info = std::move(info),
                                                 .clock = clk_,
                                                 .on_event = [](const vitals::event&) {},
                                                 .observers = std::move(observers)});
    h_ = std::make_unique<vitals::http::handler>(*svc_, std::move(ho));
  }

  /// Runs every check once more (the first call: their first run) and waits for the results.
  /// The wait is for the engine's pool threads, bounded in real time; time itself only moves
  /// through the manual clock.
  void run() {
    std::map<std::string, std::uint64_t> before;
    bool any_ran = false;
    for (const auto& c : svc_->current()->checks) {
      before[c.name] = c.runs;
      any_ran = any_ran || c.runs > 0;
    }
    if (any_ran) clk_->advance(interval);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds{20};
    for (;;) {
      static_cast<void>(svc_->poll());
      const auto snap = svc_->current();
      bool done = true;
      for (const auto& c : snap->checks) {
        if (c.runs <= before[c.name] || c.in_flight) done = false;
      }
      if (done) return;
      if (std::chrono::steady_clock::now() > give_up) {
        ADD_FAILURE() << "checks did not complete";
        return;
      }
      std::this_thread::yield();
    }
  }

  [[nodiscard]] vitals::http::response get(std::string_view target, std::string_view auth = {},
                                           std::string_view method = "GET",
                                           std::vector<vitals::http::header> headers = {}) const {
    if (!auth.empty()) headers.push_back({"Authorization", auth});
    return h_->handle({.method = method, .target = target, .headers = headers});
  }

  [[nodiscard]] vitals::http::wire_response serve(std::string_view target,
                                                  std::string_view auth = {},
                                                  std::string_view method = "GET") const {
    return vitals::http::detail::handler_access::of(*h_).serve(method, target, auth);
  }

  [[nodiscard]] vitals::service& svc() { return *svc_; }
  [[nodiscard]] const vitals::http::handler& handler() const { return *h_; }
  [[nodiscard]] vitals::testing::manual_clock& clock() { return *clk_; }
  [[nodiscard]] knob& at(const std::string& name) { return *knobs_.at(name); }

 private:
  std::shared_ptr<vitals::testing::manual_clock> clk_ =
      std::make_shared<vitals::testing::manual_clock>();
  vitals::registry reg_;
  std::map<std::string, std::shared_ptr<knob>> knobs_;
  std::unique_ptr<vitals::service> svc_;
  std::unique_ptr<vitals::http::handler> h_;
};

/// The value of a response header (first match, case-insensitive), "" if absent.
inline std::string header_of(const vitals::http::response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return {};
}

}  // namespace vitals_test
