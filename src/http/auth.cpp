#include "auth.hpp"

#include <cstddef>

#include "base/text.hpp"

namespace vitals::http::detail {

bool constant_time_equal(std::string_view presented, std::string_view expected) noexcept {
  // The loop always runs over the expected length and reads the presented bytes through a
  // wrap-around index, so neither a mismatch position nor a wrong length shortens it. The
  // accumulator is volatile so the compiler cannot turn the loop into an early-exit memcmp.
  volatile unsigned char diff = 0;
  const std::size_t n = presented.size();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto want = static_cast<unsigned char>(expected[i]);
    const auto got =
        n == 0 ? static_cast<unsigned char>(0) : static_cast<unsigned char>(presented[i % n]);
    diff = static_cast<unsigned char>(diff | (want ^ got));
  }
  const bool same_length = n == expected.size();
  return (diff == 0) & same_length;
}

std::string_view bearer_token(std::string_view authorization) noexcept {
  constexpr std::string_view scheme = "bearer";
  const std::string_view v = base::trim(authorization);
  if (v.size() <= scheme.size() || !base::iequals(v.substr(0, scheme.size()), scheme)) return {};
  // "Bearertoken" is not the bearer scheme: at least one space must separate them.
  const char separator = v[scheme.size()];
  if (separator != ' ' && separator != '\t') return {};
  return base::trim(v.substr(scheme.size()));
}

bool bearer_matches(std::string_view authorization, std::string_view token) noexcept {
  if (token.empty()) return false;
  const std::string_view presented = bearer_token(authorization);
  if (presented.empty()) return false;
  return constant_time_equal(presented, token);
}

}  // namespace vitals::http::detail
