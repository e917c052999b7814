#pragma once
// The labels of target groups on /metrics: one `vitals_target_info{check, group, <labels>} 1`
// series per check made by a group (`targets:`), to join with the check series in PromQL:
//
//     vitals_check_status * on(check) group_left(group, team) vitals_target_info

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http/metrics.hpp"
#include "vitals/config.hpp"

namespace vitalsd {

class target_labels {
 public:
  /// Takes the groups' checks of `cfg` (at start and on every reload).
  void set(const vitals::config::daemon_config& cfg);
  /// Writes the family (nothing when no check belongs to a group). Called on scrapes.
  void write_metrics(vitals::http::detail::metrics_writer& w) const;

 private:
  mutable std::mutex mu_;
  /// Preformatted label lists, one per series; replaced as a whole by set().
  std::shared_ptr<const std::vector<std::string>> series_ =
      std::make_shared<const std::vector<std::string>>();
};

}  // namespace vitalsd
