#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "vitals/check.hpp"

namespace vitals::cli {

/// A dependency given on the command line of `vitals wait`.
struct dependency {
  std::string shown{};  ///< the URL with its password masked: safe to print
  std::string type{};   ///< check type: "postgres", "redis", "tcp", ...
  std::shared_ptr<vitals::check> impl{};
};

/// Builds the check for a URL by its scheme, with the type that accepts it (the `schemes` of the
/// descriptors in src/checks/types.def: `postgres://`, `redis://`, `tcp://`, `https://`, ...).
/// Throws std::invalid_argument (message without the password) for an unknown scheme or a
/// malformed URL.
///
///     auto d = vitals::cli::make_dependency("tcp://127.0.0.1:5432");
///     d.type == "tcp";
[[nodiscard]] dependency make_dependency(std::string_view url);

}  // namespace vitals::cli
