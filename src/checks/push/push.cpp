#include "vitals/checks/push.hpp"

#include <stdexcept>
#include <string>
#include <utility>

#include "base/format.hpp"

namespace vitals::checks {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

class push_check final : public vitals::check {
 public:
  explicit push_check(push_options options)
      : options_(std::move(options)), slot_(options_.board->attach(options_.token)) {}

  vitals::result run(const vitals::context&) override {
    const clock::steady_time now = options_.board->time().now();
    const std::string period = base::format_duration(options_.period);
    const std::optional<push_record> last = slot_->last();
    if (!last) {
      const auto waited = duration_cast<milliseconds>(now - slot_->attached_at());
      if (waited <= options_.period) {
        return vitals::warn("no push yet: fails if none arrives within " + period + " (waited " +
                            base::format_duration(waited) + ")");
      }
      return vitals::fail("no push within " + period + " (none since vitalsd started waiting " +
                              base::format_duration(waited) + " ago)",
                          failure_kind::timeout);
    }
    auto age = duration_cast<milliseconds>(now - last->at);
    if (age.count() < 0) age = milliseconds{0};
    const std::string ago = base::format_duration(age) + " ago";
    vitals::result r = [&] {
      if (age > options_.period) {
        return vitals::fail("no push within " + period + " (last " + ago + ")",
                            failure_kind::timeout);
      }
      const std::string said = last->message.empty() ? std::string{} : ": " + last->message;
      switch (last->reported) {
        case status::fail:
          return vitals::fail("the job reported a failure " + ago + said);
        case status::warn:
          return vitals::warn("the job reported a warning " + ago + said);
        default:
          return vitals::pass();
      }
    }();
    r.observe(static_cast<double>(age.count()) / 1000.0, "s");
    r.detail("last_push", ago);
    r.detail("pushes", std::to_string(last->count));
    if (!last->message.empty()) r.detail("message", last->message);
    return r;
  }

  [[nodiscard]] vitals::check_traits traits() const override {
    return {.type = "push",
            .component_type = "component",
            .measurement = "heartbeat",
            .dependency = true,
            .secrets = {options_.token}};
  }

 private:
  push_options options_;
  std::shared_ptr<push_board::slot> slot_;
};

}  // namespace

std::shared_ptr<vitals::check> push(push_options options) {
  if (options.period.count() <= 0) {
    throw std::invalid_argument("push: period must be positive");
  }
  if (!options.board) options.board = push_board::global();
  return std::make_shared<push_check>(std::move(options));
}

}  // namespace vitals::checks
