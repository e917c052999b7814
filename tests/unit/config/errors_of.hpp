#pragma once
// The diagnostics a configuration text gets, as an operator reads them ("t.yaml:4:5: path:
// message"); empty when it loads.

#include <string>
#include <vector>

#include "vitals/config.hpp"

namespace vitals_test {

inline std::vector<std::string> errors_of(const std::string& yaml) {
  try {
    (void)vitals::config::load_string(yaml, "t.yaml");
  } catch (const vitals::config::error& e) {
    std::vector<std::string> out;
    for (const auto& d : e.diagnostics()) out.push_back(d.to_string());
    return out;
  }
  return {};
}

}  // namespace vitals_test
