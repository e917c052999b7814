#include "vitals/clock.hpp"

namespace vitals {
namespace {

class real_clock_source final : public clock {
 public:
  [[nodiscard]] steady_time now() const override { return std::chrono::steady_clock::now(); }
  [[nodiscard]] wall_time wall_now() const override { return std::chrono::system_clock::now(); }
};

}  // namespace

std::shared_ptr<clock> real_clock() {
  // One immortal instance: clocks are stateless and may be read from detached threads at exit.
  static const std::shared_ptr<clock> instance = std::make_shared<real_clock_source>();
  return instance;
}

}  // namespace vitals
