#include <string>
#include <utility>
#include <vector>

#include "vitals/config.hpp"

namespace vitals::config {

std::string diagnostic::to_string() const {
  std::string out = file;
  out += ':';
  out += std::to_string(line);
  out += ':';
  out += std::to_string(column);
  out += ": ";
  if (!path.empty()) {
    out += path;
    out += ": ";
  }
  out += message;
  return out;
}

namespace {
std::string join(const std::vector<diagnostic>& diags) {
  std::string out;
  for (const auto& d : diags) {
    if (!out.empty()) out += '\n';
    out += d.to_string();
  }
  return out;
}
}  // namespace

error::error(std::vector<diagnostic> diagnostics)
    : std::runtime_error(join(diagnostics)), diags_(std::move(diagnostics)) {}

}  // namespace vitals::config
