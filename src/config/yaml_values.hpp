#pragma once
// Private: reading YAML values by their key's schema — `${ENV}` substitution, kinds, bounds,
// choices, `*_file` secrets, hostile-input budgets — collecting every problem as a diagnostic
// with its position. The loader (loader.cpp) walks the document; this reads what it finds.

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/types.hpp"
#include "vitals/config.hpp"

namespace vitals::config::detail {

inline constexpr std::string_view document_path = "(document)";

/// `"text"`.
[[nodiscard]] std::string dq(std::string_view s);
/// "a mapping", "a list", "nothing", "a scalar".
[[nodiscard]] std::string node_kind_name(const YAML::Node& n);

/// A scalar after ${ENV} substitution, with the text the user wrote (safe to echo).
struct scalar_text {
  std::string value;
  bool substituted = false;
  std::string raw;
  /// What may appear in a message: the raw text when an env var was used (its value may be
  /// secret), pattern-scrubbed in any case.
  [[nodiscard]] std::string shown() const;
};

class value_reader {
 public:
  value_reader(std::string file, std::filesystem::path base_dir)
      : file_(std::move(file)), base_dir_(std::move(base_dir)) {}

  // ---- diagnostics ---------------------------------------------------------------------------
  void add(int line, int column, std::string path, std::string message);
  void add(const YAML::Mark& m, std::string path, std::string message) {
    add(m.line + 1, m.column + 1, std::move(path), std::move(message));
  }
  void add(const YAML::Node& n, std::string path, std::string message) {
    add(n.Mark(), std::move(path), std::move(message));
  }
  [[nodiscard]] std::size_t errors() const noexcept { return diags_.size(); }
  /// Every diagnostic so far, in line order (and the reader's list emptied).
  [[nodiscard]] std::vector<diagnostic> take_sorted();
  [[nodiscard]] const std::string& file() const noexcept { return file_; }

  /// False (and a diagnostic) if the document is too large or too deep to walk: an alias bomb
  /// only explodes when walked, so the walk is what is bounded.
  bool within_budget(const YAML::Node& root);

  // ---- values --------------------------------------------------------------------------------
  /// The scalar at `n` after ${ENV} substitution; `expected` names what was wanted otherwise.
  std::optional<scalar_text> scalar(const YAML::Node& n, const std::string& path,
                                    std::string_view expected);
  /// The value at `n` converted, bounded and checked for `k`.
  std::optional<value> convert(const YAML::Node& n, const key_spec& k, const std::string& path);
  /// The content of the secret file named at `n` (relative to the configuration's folder).
  std::optional<std::string> read_secret_file(const YAML::Node& n, const std::string& path);

 private:
  bool within_budget(const YAML::Node& n, int depth, std::size_t& visits);
  std::optional<scalar_text> substitute(const YAML::Node& n, const std::string& path);
  std::optional<value> convert_scalar(const YAML::Node& n, const key_spec& k,
                                      const std::string& path);
  std::optional<value> convert_list(const YAML::Node& n, const key_spec& k,
                                    const std::string& path);
  std::optional<value> convert_map(const YAML::Node& n, const std::string& path);
  std::optional<std::int64_t> integer(const YAML::Node& n, const key_spec& k,
                                      const std::string& path);
  bool within_bounds(double x, const scalar_text& s, const YAML::Node& n, const key_spec& k,
                     const std::string& path);
  bool among_choices(const std::string& v, const YAML::Node& n, const key_spec& k,
                     const std::string& path);

  std::string file_;
  std::filesystem::path base_dir_;
  std::vector<diagnostic> diags_{};
};

}  // namespace vitals::config::detail
