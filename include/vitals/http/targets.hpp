#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace vitals::http {

/// What a check made by a target group carries besides its state: its group and labels.
struct target_meta {
  std::string group{};
  /// Sorted by name.
  std::vector<std::pair<std::string, std::string>> labels{};
};

/// The groups and labels of monitored targets, shown by `/api/v1/targets` (handler_options::
/// targets). Thread-safe; replaced as a whole (vitalsd sets it at start and on every reload).
///
///     auto catalog = std::make_shared<vitals::http::target_catalog>();
///     catalog->set({{"web.shop", {.group = "web", .labels = {{"team", "shop"}}}}});
class target_catalog {
 public:
  using map = std::unordered_map<std::string, target_meta>;

  void set(map entries) {
    auto next = std::make_shared<const map>(std::move(entries));
    std::lock_guard lock{mu_};
    entries_ = std::move(next);
  }
  [[nodiscard]] std::shared_ptr<const map> get() const {
    std::lock_guard lock{mu_};
    return entries_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const map> entries_ = std::make_shared<const map>();
};

}  // namespace vitals::http
