#include "config/yaml_values.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <tuple>

#include "base/text.hpp"
#include "config/sections.hpp"
#include "config/suggest.hpp"
#include "vitals/redact.hpp"

namespace vitals::config::detail {
namespace {

constexpr std::size_t max_secret_file_bytes = std::size_t{64} * 1024;
// A sidecar's configuration has a few hundred nodes, a monitor's of 10,000 checks about 100,000
// (and a 4 MiB file at most some 1.5 million); an alias bomb has billions (yaml-cpp shares
// aliased nodes, so the bomb only explodes when walked: the walk is what we bound).
constexpr std::size_t max_nodes = 2'000'000;
constexpr int max_depth = 32;

std::string kind_name(value_kind k) {
  switch (k) {
    case value_kind::string:
      return "a string";
    case value_kind::integer:
      return "an integer";
    case value_kind::number:
      return "a number";
    case value_kind::boolean:
      return "true or false";
    case value_kind::duration:
      return "a duration like \"5s\" or \"250ms\"";
    case value_kind::string_list:
      return "a list of strings";
    case value_kind::integer_list:
      return "a list of integers";
    case value_kind::string_map:
      return "a mapping of strings";
  }
  return "a value";
}

bool valid_env_name(std::string_view name) {
  return !name.empty() && (std::isdigit(static_cast<unsigned char>(name[0])) == 0) &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
         });
}

}  // namespace

std::string dq(std::string_view s) {
  std::string out = "\"";
  out += s;
  out += '"';
  return out;
}

std::string node_kind_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "nothing";
    default:
      return "a scalar";
  }
}

std::string scalar_text::shown() const { return scrub_patterns(substituted ? raw : value); }

void value_reader::add(int line, int column, std::string path, std::string message) {
  diags_.push_back({.file = file_,
                    .line = line,
                    .column = column,
                    .path = std::move(path),
                    .message = std::move(message)});
}

std::vector<diagnostic> value_reader::take_sorted() {
  std::stable_sort(diags_.begin(), diags_.end(), [](const diagnostic& a, const diagnostic& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  return std::move(diags_);
}

bool value_reader::within_budget(const YAML::Node& root) {
  std::size_t visits = 0;
  return within_budget(root, 0, visits);
}

bool value_reader::within_budget(const YAML::Node& n, int depth, std::size_t& visits) {
  if (++visits > max_nodes) {
    add(n, std::string{document_path},
        "the document expands to more than " + std::to_string(max_nodes) +
            " nodes (alias bomb?); refused");
    return false;
  }
  if (depth > max_depth) {
    add(n, std::string{document_path},
        "nesting deeper than " + std::to_string(max_depth) + " levels; refused");
    return false;
  }
  if (n.IsMap()) {
    for (const auto& kv : n) {
      if (!within_budget(kv.first, depth + 1, visits) ||
          !within_budget(kv.second, depth + 1, visits)) {
        return false;
      }
    }
  } else if (n.IsSequence()) {
    for (const auto& item : n) {
      if (!within_budget(item, depth + 1, visits)) return false;
    }
  }
  return true;
}

/// ${VAR} and ${VAR:-default}; `$${` is a literal `${`.
std::optional<scalar_text> value_reader::substitute(const YAML::Node& n, const std::string& path) {
  scalar_text out;
  out.raw = n.Scalar();
  const std::string& in = out.raw;
  for (std::size_t i = 0; i < in.size();) {
    if (in.compare(i, 3, "$${") == 0) {
      out.value += "${";
      i += 3;
      continue;
    }
    if (in.compare(i, 2, "${") != 0) {
      out.value += in[i++];
      continue;
    }
    const auto close = in.find('}', i + 2);
    if (close == std::string::npos) {
      add(n, path, "unterminated \"${\" (write \"$${\" for a literal \"${\")");
      return std::nullopt;
    }
    std::string_view inner{in.data() + i + 2, close - i - 2};
    std::optional<std::string_view> fallback;
    if (const auto dash = inner.find(":-"); dash != std::string_view::npos) {
      fallback = inner.substr(dash + 2);
      inner = inner.substr(0, dash);
    }
    if (!valid_env_name(inner)) {
      add(n, path, "invalid environment variable name " + dq(inner));
      return std::nullopt;
    }
    const std::string name{inner};
    const char* env = std::getenv(name.c_str());
    if (env != nullptr && (*env != '\0' || !fallback)) {
      out.value += env;
    } else if (fallback) {
      out.value += *fallback;
    } else {
      add(n, path,
          "environment variable " + name + " is not set (write ${" + name +
              ":-default} to give a default)");
      return std::nullopt;
    }
    out.substituted = true;
    i = close + 1;
  }
  return out;
}

std::optional<scalar_text> value_reader::scalar(const YAML::Node& n, const std::string& path,
                                                std::string_view expected) {
  if (!n.IsScalar()) {
    add(n, path, "expected " + std::string{expected} + ", got " + node_kind_name(n));
    return std::nullopt;
  }
  return substitute(n, path);
}

namespace {
// " (got "text")", or nothing for a secret.
std::string got(const key_spec& k, const scalar_text& s) {
  return k.flags.secret ? std::string{} : " (got " + dq(s.shown()) + ")";
}
}  // namespace

bool value_reader::within_bounds(double x, const scalar_text& s, const YAML::Node& n,
                                 const key_spec& k, const std::string& path) {
  if (k.flags.min && x < *k.flags.min) {
    add(n, path, "must be at least " + to_text(value{*k.flags.min}) + got(k, s));
    return false;
  }
  if (k.flags.max && x > *k.flags.max) {
    add(n, path, "must be at most " + to_text(value{*k.flags.max}) + got(k, s));
    return false;
  }
  return true;
}

bool value_reader::among_choices(const std::string& v, const YAML::Node& n, const key_spec& k,
                                 const std::string& path) {
  if (k.choices.empty() || std::find(k.choices.begin(), k.choices.end(), v) != k.choices.end()) {
    return true;
  }
  std::string msg = "must be one of ";
  for (std::size_t i = 0; i < k.choices.size(); ++i) msg += (i == 0 ? "" : ", ") + k.choices[i];
  msg += " (got " + dq(scrub_patterns(v)) + ")";
  if (auto s = suggest(v, k.choices)) msg += "; did you mean " + dq(*s) + "?";
  add(n, path, std::move(msg));
  return false;
}

std::optional<std::int64_t> value_reader::integer(const YAML::Node& n, const key_spec& k,
                                                  const std::string& path) {
  auto s = scalar(n, path, "an integer");
  if (!s) return std::nullopt;
  std::int64_t x = 0;
  const auto* first = s->value.data();
  const auto* last = first + s->value.size();
  auto [p, ec] = std::from_chars(first, last, x);
  if (ec != std::errc{} || p != last) {
    add(n, path, "expected an integer" + got(k, *s));
    return std::nullopt;
  }
  if (!within_bounds(static_cast<double>(x), *s, n, k, path)) return std::nullopt;
  return x;
}

std::optional<value> value_reader::convert(const YAML::Node& n, const key_spec& k,
                                           const std::string& path) {
  if (n.IsNull()) {
    add(n, path, "missing value (expected " + kind_name(k.kind) + ")");
    return std::nullopt;
  }
  switch (k.kind) {
    case value_kind::string_list:
    case value_kind::integer_list:
      return convert_list(n, k, path);
    case value_kind::string_map:
      return convert_map(n, path);
    default:
      return convert_scalar(n, k, path);
  }
}

std::optional<value> value_reader::convert_scalar(const YAML::Node& n, const key_spec& k,
                                                  const std::string& path) {
  if (k.kind == value_kind::integer) {
    auto x = integer(n, k, path);
    return x ? std::optional<value>{*x} : std::nullopt;
  }
  const char* expected = k.kind == value_kind::string    ? "a string"
                         : k.kind == value_kind::number  ? "a number"
                         : k.kind == value_kind::boolean ? "true or false"
                                                         : "a duration like \"5s\"";
  auto s = scalar(n, path, expected);
  if (!s) return std::nullopt;
  switch (k.kind) {
    case value_kind::string:
      if (!among_choices(s->value, n, k, path)) return std::nullopt;
      return value{s->value};
    case value_kind::number: {
      char* end = nullptr;
      errno = 0;
      const double x = std::strtod(s->value.c_str(), &end);
      if (s->value.empty() || end != s->value.c_str() + s->value.size() || errno != 0 ||
          !std::isfinite(x)) {
        add(n, path, "expected a number" + got(k, *s));
        return std::nullopt;
      }
      if (!within_bounds(x, *s, n, k, path)) return std::nullopt;
      return value{x};
    }
    case value_kind::boolean: {
      const std::string lower = base::to_lower(s->value);
      if (lower == "true") return value{true};
      if (lower == "false") return value{false};
      add(n, path, "expected true or false" + got(k, *s));
      return std::nullopt;
    }
    default:
      try {
        return value{parse_duration(s->value)};
      } catch (const std::invalid_argument&) {
        add(n, path, "expected a duration like \"5s\", \"250ms\" or \"1m30s\"" + got(k, *s));
        return std::nullopt;
      }
  }
}

std::optional<value> value_reader::convert_list(const YAML::Node& n, const key_spec& k,
                                                const std::string& path) {
  const bool strings = k.kind == value_kind::string_list;
  std::vector<std::string> texts;
  std::vector<std::int64_t> numbers;
  // One element: a string checked against the choices, or an integer in its bounds.
  auto element = [&](const YAML::Node& item, std::string_view expected) {
    if (!strings) {
      auto x = integer(item, k, path);
      if (x) numbers.push_back(*x);
      return x.has_value();
    }
    auto s = scalar(item, path, expected);
    if (!s || !among_choices(s->value, item, k, path)) return false;
    texts.push_back(s->value);
    return true;
  };
  if (n.IsScalar()) {  // `probes: ready` is read as [ready]
    if (!element(n, "a list of strings")) return std::nullopt;
  } else if (!n.IsSequence()) {
    add(n, path,
        std::string{"expected "} + (strings ? "a list of strings" : "a list of integers") +
            ", got " + node_kind_name(n));
    return std::nullopt;
  } else {
    bool ok = true;
    for (const auto& item : n) ok = element(item, "a string") && ok;
    if (!ok) return std::nullopt;
  }
  return strings ? value{texts} : value{numbers};
}

std::optional<value> value_reader::convert_map(const YAML::Node& n, const std::string& path) {
  if (!n.IsMap()) {
    add(n, path, "expected a mapping of strings, got " + node_kind_name(n));
    return std::nullopt;
  }
  string_pairs out;
  bool ok = true;
  for (const auto& kv : n) {
    auto key = scalar(kv.first, path, "a string key");
    auto val = scalar(kv.second, path + "." + kv.first.Scalar(), "a string");
    if (!key || !val) {
      ok = false;
      continue;
    }
    out.emplace_back(key->value, val->value);
  }
  if (!ok) return std::nullopt;
  return value{out};
}

std::optional<std::string> value_reader::read_secret_file(const YAML::Node& n,
                                                          const std::string& path) {
  auto s = scalar(n, path, "a file path");
  if (!s) return std::nullopt;
  std::filesystem::path p{s->value};
  if (p.is_relative()) p = base_dir_ / p;
  std::ifstream in{p, std::ios::binary};
  if (!in) {
    add(n, path, "cannot read secret file " + dq(s->shown()) + ": " + std::strerror(errno));
    return std::nullopt;
  }
  std::string content;
  content.resize(max_secret_file_bytes + 1);
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (in.bad()) {
    add(n, path, "cannot read secret file " + dq(s->shown()));
    return std::nullopt;
  }
  content.resize(static_cast<std::size_t>(in.gcount()));
  if (content.size() > max_secret_file_bytes) {
    add(n, path, "secret file " + dq(s->shown()) + " is larger than 64 KiB");
    return std::nullopt;
  }
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) {
    content.pop_back();
  }
  if (content.empty()) {
    add(n, path, "secret file " + dq(s->shown()) + " is empty");
    return std::nullopt;
  }
  return content;
}

}  // namespace vitals::config::detail
