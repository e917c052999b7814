#include "target_labels.hpp"

#include <utility>

namespace vitalsd {
namespace {

void append_label(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty()) out += ',';
  out.append(name).append("=\"");
  vitals::http::detail::append_label_value(out, value);
  out += '"';
}

}  // namespace

void target_labels::set(const vitals::config::daemon_config& cfg) {
  auto series = std::make_shared<std::vector<std::string>>();
  vitals::http::target_catalog::map entries;
  for (const auto& c : cfg.checks) {
    if (c.group.empty()) continue;
    entries.emplace(c.name, vitals::http::target_meta{.group = c.group, .labels = c.labels});
    std::string labels;
    append_label(labels, "check", c.name);
    append_label(labels, "group", c.group);
    for (const auto& [name, value] : c.labels) append_label(labels, name, value);
    series->push_back(std::move(labels));
  }
  catalog_->set(std::move(entries));
  std::lock_guard lock{mu_};
  series_ = std::move(series);
}

void target_labels::write_metrics(vitals::http::detail::metrics_writer& w) const {
  std::shared_ptr<const std::vector<std::string>> series;
  {
    std::lock_guard lock{mu_};
    series = series_;
  }
  if (series->empty()) return;
  w.family("vitals_target", vitals::http::detail::metric_type::info,
           "Checks made by a target group (targets:), with the group's labels.");
  for (const auto& labels : *series) w.sample(labels, 1.0);
}

}  // namespace vitalsd
