#pragma once
// The groups and labels of target groups (`targets:`): on /metrics, one
// `vitals_target_info{check, group, <labels>} 1` series per check made by a group, to join with
// the check series in PromQL,
//
//     vitals_check_status * on(check) group_left(group, team) vitals_target_info
//
// and in /api/v1/targets, through the catalog the handler is given (handler_options::targets).

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http/metrics.hpp"
#include "vitals/config.hpp"
#include "vitals/http/targets.hpp"

namespace vitalsd {

class target_labels {
 public:
  /// Takes the groups' checks of `cfg` (at start and on every reload).
  void set(const vitals::config::daemon_config& cfg);
  /// Writes the family (nothing when no check belongs to a group). Called on scrapes.
  void write_metrics(vitals::http::detail::metrics_writer& w) const;
  /// For handler_options::targets: kept up to date by set().
  [[nodiscard]] const std::shared_ptr<vitals::http::target_catalog>& catalog() const noexcept {
    return catalog_;
  }

 private:
  mutable std::mutex mu_;
  /// Preformatted label lists, one per series; replaced as a whole by set().
  std::shared_ptr<const std::vector<std::string>> series_ =
      std::make_shared<const std::vector<std::string>>();
  std::shared_ptr<vitals::http::target_catalog> catalog_ =
      std::make_shared<vitals::http::target_catalog>();
};

}  // namespace vitalsd
