#include "tool/url_checks.hpp"

#include <stdexcept>
#include <string>

#include "checks/types.hpp"
#include "vitals/redact.hpp"

namespace vitals::cli {

namespace {

std::string lower(std::string_view s) {
  std::string out{s};
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

dependency make_dependency(std::string_view url) {
  dependency d;
  d.shown = redact_url(url);
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    throw std::invalid_argument(d.shown + ": not a URL (expected scheme://...)");
  }
  const std::string scheme = lower(url.substr(0, sep));
  const auto* type = checks::type_for_scheme(scheme);
  if (type == nullptr) {
    throw std::invalid_argument(d.shown + ": unknown scheme '" + scheme + "' (" +
                                checks::all_schemes(", ") + ")");
  }
  d.type = type->name();
  d.impl = type->from_url(url);
  return d;
}

}  // namespace vitals::cli
