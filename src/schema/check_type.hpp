#pragma once
// A check type's descriptor: everything the rest of the tree knows about one type, declared once
// in the type's own folder (src/checks/<type>/descriptor.cpp) and listed once, one line, in
// src/checks/types.def. The config loader, the JSON Schema, the key reference, the CLI's URL
// dispatch and help, the lazy modules and the docs index test all iterate that list.
//
//     schema::check_type describe_tcp() {
//       schema::type_builder<checks::tcp_options> b{"tcp", "A TCP connect, ..."};
//       b.key("host", &checks::tcp_options::host, "Host name or IP literal.", {.required = true});
//       return {.spec = b.build([](checks::tcp_options o) { return checks::tcp(std::move(o)); }),
//               .schemes = {"tcp"},
//               .from_url = [](std::string_view url) { return checks::tcp(parse(url)); }};
//     }

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "schema/schema.hpp"
#include "vitals/check.hpp"

namespace vitals::schema {

/// How an executable that loads check types on demand (vitalsd) gets a type.
enum class loading : std::uint8_t {
  /// Linked into the executable.
  linked,
  /// Built as the module vitals_check_<type>.so as well, and dlopen()ed on first use: the types
  /// that link a library (libpq, hiredis, OpenSSL, ...) a daemon with host checks only should
  /// not map.
  lazy,
};

struct check_type {
  /// Name (`spec.section.name`), one-line summary (`spec.section.doc`), keys and factory.
  type_spec spec;
  /// URL schemes (lower case) that `vitals wait <url>` builds this type from; empty = none.
  std::vector<std::string> schemes{};
  /// Builds the check from a URL with one of `schemes`. Throws std::invalid_argument (message
  /// without the password) for a malformed URL. Empty when `schemes` is.
  std::function<std::shared_ptr<vitals::check>(std::string_view url)> from_url{};
  /// Checks only the process or its host (no dependency): the only kind `live` accepts without
  /// `allow_in_live`. Must equal `!check_traits::dependency` of every check the type makes.
  bool process_local = false;
  /// Set from the type's line in src/checks/types.def (the build needs it before any C++ runs).
  schema::loading loading = loading::linked;

  [[nodiscard]] const std::string& name() const noexcept { return spec.section.name; }
  [[nodiscard]] const std::string& summary() const noexcept { return spec.section.doc; }
};

}  // namespace vitals::schema
