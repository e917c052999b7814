#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "config/types.hpp"
#include "config/sections.hpp"
#include "config/suggest.hpp"
#include "vitals/config.hpp"
#include "vitals/redact.hpp"

namespace vitals::config {
namespace {

using detail::key_spec;
using detail::section_spec;
using detail::value;
using detail::value_kind;

constexpr std::size_t max_file_bytes = 1024 * 1024;
constexpr std::size_t max_secret_file_bytes = 64 * 1024;
// A real configuration has a few hundred nodes; an alias bomb has billions (yaml-cpp shares aliased
// nodes, so the bomb only explodes when walked: the walk is what we bound).
constexpr std::size_t max_nodes = 100'000;
constexpr int max_depth = 32;
constexpr std::string_view document_path = "(document)";

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

std::string canonical(const value& v) { return detail::to_text(v); }

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

/// A scalar after ${ENV} substitution, with the text the user wrote (safe to echo).
struct scalar_text {
  std::string value;
  bool substituted = false;
  std::string raw;
  /// What may appear in a message: the raw text when an env var was used (its value may be
  /// secret), pattern-scrubbed in any case.
  [[nodiscard]] std::string shown() const { return scrub_patterns(substituted ? raw : value); }
};

class loader {
 public:
  loader(std::string file, std::filesystem::path base_dir)
      : file_(std::move(file)), base_dir_(std::move(base_dir)) {}

  daemon_config load(std::string_view text) {
    daemon_config cfg;
    cfg.source = file_;
    if (text.size() > max_file_bytes) {
      add(0, 0, std::string{document_path},
          "file is " + std::to_string(text.size()) + " bytes; the limit is 1 MiB");
      throw error(std::move(diags_));
    }
    YAML::Node root;
    try {
      root = YAML::Load(std::string{text});
    } catch (const YAML::Exception& e) {
      add(e.mark.line + 1, e.mark.column + 1, std::string{document_path}, e.msg);
      throw error(std::move(diags_));
    }
    std::size_t visits = 0;
    if (!within_budget(root, 0, visits)) throw error(std::move(diags_));

    if (root.IsNull()) {
      add(1, 1, std::string{document_path},
          "the configuration is empty (expected a mapping with listen, checks, ...)");
      throw error(std::move(diags_));
    }
    if (!root.IsMap()) {
      add(root, std::string{document_path}, "expected a mapping, got " + node_kind_name(root));
      throw error(std::move(diags_));
    }
    read_document(root, cfg);
    if (!diags_.empty()) {
      std::stable_sort(diags_.begin(), diags_.end(), [](const diagnostic& a, const diagnostic& b) {
        return std::tie(a.line, a.column) < std::tie(b.line, b.column);
      });
      throw error(std::move(diags_));
    }
    return cfg;
  }

 private:
  // ---- diagnostics -------------------------------------------------------------------------
  void add(int line, int column, std::string path, std::string message) {
    diags_.push_back({.file = file_,
                      .line = line,
                      .column = column,
                      .path = std::move(path),
                      .message = std::move(message)});
  }
  void add(const YAML::Mark& m, std::string path, std::string message) {
    add(m.line + 1, m.column + 1, std::move(path), std::move(message));
  }
  void add(const YAML::Node& n, std::string path, std::string message) {
    add(n.Mark(), std::move(path), std::move(message));
  }

  bool within_budget(const YAML::Node& n, int depth, std::size_t& visits) {
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

  // ---- scalars -----------------------------------------------------------------------------
  /// ${VAR} and ${VAR:-default}; `$${` is a literal `${`.
  std::optional<scalar_text> substitute(const YAML::Node& n, const std::string& path) {
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
      const bool valid_name = !inner.empty() &&
                              (std::isdigit(static_cast<unsigned char>(inner[0])) == 0) &&
                              std::all_of(inner.begin(), inner.end(), [](char c) {
                                return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
                              });
      if (!valid_name) {
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

  std::optional<scalar_text> scalar(const YAML::Node& n, const std::string& path,
                                    std::string_view expected) {
    if (!n.IsScalar()) {
      add(n, path, "expected " + std::string{expected} + ", got " + node_kind_name(n));
      return std::nullopt;
    }
    return substitute(n, path);
  }

  std::optional<value> convert(const YAML::Node& n, const key_spec& k, const std::string& path) {
    const bool secret = k.flags.secret;
    auto got = [&](const scalar_text& s) {
      return secret ? std::string{} : " (got " + dq(s.shown()) + ")";
    };
    auto check_bounds = [&](double x, const scalar_text& s) {
      if (k.flags.min && x < *k.flags.min) {
        add(n, path, "must be at least " + detail::to_text(value{*k.flags.min}) + got(s));
        return false;
      }
      if (k.flags.max && x > *k.flags.max) {
        add(n, path, "must be at most " + detail::to_text(value{*k.flags.max}) + got(s));
        return false;
      }
      return true;
    };
    auto check_choice = [&](const std::string& v, const YAML::Node& at) {
      if (k.choices.empty() ||
          std::find(k.choices.begin(), k.choices.end(), v) != k.choices.end()) {
        return true;
      }
      std::string msg = "must be one of ";
      for (std::size_t i = 0; i < k.choices.size(); ++i) {
        msg += (i == 0 ? "" : ", ") + k.choices[i];
      }
      msg += " (got " + dq(scrub_patterns(v)) + ")";
      if (auto s = detail::suggest(v, k.choices)) msg += "; did you mean " + dq(*s) + "?";
      add(at, path, std::move(msg));
      return false;
    };
    auto as_integer = [&](const YAML::Node& item) -> std::optional<std::int64_t> {
      auto s = scalar(item, path, "an integer");
      if (!s) return std::nullopt;
      std::int64_t x = 0;
      const auto* first = s->value.data();
      const auto* last = first + s->value.size();
      auto [p, ec] = std::from_chars(first, last, x);
      if (ec != std::errc{} || p != last) {
        add(item, path, "expected an integer" + got(*s));
        return std::nullopt;
      }
      if (!check_bounds(static_cast<double>(x), *s)) return std::nullopt;
      return x;
    };

    if (n.IsNull()) {
      add(n, path, "missing value (expected " + kind_name(k.kind) + ")");
      return std::nullopt;
    }
    switch (k.kind) {
      case value_kind::string: {
        auto s = scalar(n, path, "a string");
        if (!s || !check_choice(s->value, n)) return std::nullopt;
        return value{s->value};
      }
      case value_kind::integer: {
        auto x = as_integer(n);
        if (!x) return std::nullopt;
        return value{*x};
      }
      case value_kind::number: {
        auto s = scalar(n, path, "a number");
        if (!s) return std::nullopt;
        char* end = nullptr;
        errno = 0;
        const double x = std::strtod(s->value.c_str(), &end);
        if (s->value.empty() || end != s->value.c_str() + s->value.size() || errno != 0 ||
            !std::isfinite(x)) {
          add(n, path, "expected a number" + got(*s));
          return std::nullopt;
        }
        if (!check_bounds(x, *s)) return std::nullopt;
        return value{x};
      }
      case value_kind::boolean: {
        auto s = scalar(n, path, "true or false");
        if (!s) return std::nullopt;
        std::string lower = s->value;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (lower == "true") return value{true};
        if (lower == "false") return value{false};
        add(n, path, "expected true or false" + got(*s));
        return std::nullopt;
      }
      case value_kind::duration: {
        auto s = scalar(n, path, "a duration like \"5s\"");
        if (!s) return std::nullopt;
        try {
          return value{parse_duration(s->value)};
        } catch (const std::invalid_argument&) {
          add(n, path, "expected a duration like \"5s\", \"250ms\" or \"1m30s\"" + got(*s));
          return std::nullopt;
        }
      }
      case value_kind::string_list: {
        std::vector<std::string> out;
        if (n.IsScalar()) {  // `probes: ready` is read as [ready]
          auto s = scalar(n, path, "a list of strings");
          if (!s || !check_choice(s->value, n)) return std::nullopt;
          out.push_back(s->value);
          return value{out};
        }
        if (!n.IsSequence()) {
          add(n, path, "expected a list of strings, got " + node_kind_name(n));
          return std::nullopt;
        }
        bool ok = true;
        for (const auto& item : n) {
          auto s = scalar(item, path, "a string");
          if (!s || !check_choice(s->value, item)) {
            ok = false;
            continue;
          }
          out.push_back(s->value);
        }
        if (!ok) return std::nullopt;
        return value{out};
      }
      case value_kind::integer_list: {
        std::vector<std::int64_t> out;
        if (n.IsScalar()) {
          auto x = as_integer(n);
          if (!x) return std::nullopt;
          out.push_back(*x);
          return value{out};
        }
        if (!n.IsSequence()) {
          add(n, path, "expected a list of integers, got " + node_kind_name(n));
          return std::nullopt;
        }
        bool ok = true;
        for (const auto& item : n) {
          auto x = as_integer(item);
          if (!x) {
            ok = false;
            continue;
          }
          out.push_back(*x);
        }
        if (!ok) return std::nullopt;
        return value{out};
      }
      case value_kind::string_map: {
        if (!n.IsMap()) {
          add(n, path, "expected a mapping of strings, got " + node_kind_name(n));
          return std::nullopt;
        }
        detail::string_pairs out;
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
    }
    return std::nullopt;
  }

  std::optional<std::string> read_secret_file(const YAML::Node& n, const std::string& path) {
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

  // ---- sections ----------------------------------------------------------------------------
  struct bound_section {
    const section_spec* spec;
    void* target;
  };

  struct read_result {
    /// Position of each key present (after `_file` resolution, under the plain key name).
    std::map<std::string, YAML::Mark> present;
    /// key=value pairs of everything applied, for fingerprints.
    std::string canonical;
    bool ok = true;
  };

  /// Reads a mapping whose keys belong to one or more sections. `extra` keys are accepted and
  /// left to the caller (e.g. name, type); `children` are nested sections.
  read_result read_sections(
      const YAML::Node& map, const std::vector<bound_section>& sections, const std::string& path,
      const std::vector<std::string>& extra,
      const std::vector<std::pair<std::string, bound_section>>& children = {}) {
    read_result r;
    const auto errors_before = diags_.size();
    std::map<std::string, int> seen_line;
    std::vector<std::pair<std::string, std::string>> applied;
    for (const auto& kv : map) {
      const YAML::Node& key_node = kv.first;
      if (!key_node.IsScalar()) {
        add(key_node, path, "keys must be strings, got " + node_kind_name(key_node));
        continue;
      }
      const std::string key = key_node.Scalar();
      const std::string key_path = path.empty() ? key : path + "." + key;
      if (auto [it, inserted] = seen_line.emplace(key, key_node.Mark().line + 1); !inserted) {
        add(key_node, key_path,
            "duplicate key (first set at line " + std::to_string(it->second) + ")");
        continue;
      }
      if (std::find(extra.begin(), extra.end(), key) != extra.end()) continue;

      bool handled = false;
      for (const auto& [name, child] : children) {
        if (name != key) continue;
        handled = true;
        if (!kv.second.IsMap()) {
          add(kv.second, key_path, "expected a mapping, got " + node_kind_name(kv.second));
          break;
        }
        auto sub = read_sections(kv.second, {child}, key_path, {});
        r.canonical += key + "{" + sub.canonical + "}";
      }
      if (handled) continue;

      for (const auto& s : sections) {
        const key_spec* k = s.spec->find(key);
        bool from_file = false;
        if (k == nullptr && key.size() > 5 && key.ends_with("_file")) {
          const key_spec* base = s.spec->find(std::string_view{key}.substr(0, key.size() - 5));
          if (base != nullptr && base->flags.secret && base->kind == value_kind::string) {
            k = base;
            from_file = true;
          }
        }
        if (k == nullptr) continue;
        handled = true;
        if (r.present.contains(k->name)) {
          add(key_node, key_path,
              "both " + dq(k->name) + " and " + dq(k->name + "_file") + " are set; use one");
          break;
        }
        r.present.emplace(k->name, kv.second.Mark());
        std::optional<value> v;
        if (from_file) {
          if (auto content = read_secret_file(kv.second, key_path)) v = value{*content};
        } else {
          v = convert(kv.second, *k, key_path);
        }
        if (!v) break;
        try {
          k->apply(s.target, *v);
          applied.emplace_back(k->name, canonical(*v));
        } catch (const std::exception&) {
          add(kv.second, key_path, "value out of range");
        }
        break;
      }
      if (handled) continue;

      std::vector<std::string> known = extra;
      for (const auto& s : sections) {
        for (const auto& k : s.spec->keys) {
          known.push_back(k.name);
          if (k.flags.secret) known.push_back(k.name + "_file");
        }
      }
      for (const auto& [name, child] : children) known.push_back(name);
      std::string msg = "unknown key " + dq(key);
      if (auto s = detail::suggest(key, known)) msg += " (did you mean " + dq(*s) + "?)";
      add(key_node, key_path, std::move(msg));
    }
    for (const auto& s : sections) {
      for (const auto& k : s.spec->keys) {
        if (k.flags.required && !r.present.contains(k.name)) {
          add(map, path.empty() ? std::string{document_path} : path,
              "missing required key " + dq(k.name));
        }
      }
    }
    std::sort(applied.begin(), applied.end());
    for (const auto& [k, v] : applied) r.canonical += k + "=" + v + ";";
    r.ok = diags_.size() == errors_before;
    return r;
  }

  // ---- the document ------------------------------------------------------------------------
  void read_document(const YAML::Node& root, daemon_config& cfg) {
    std::map<std::string, YAML::Node> top;
    std::map<std::string, int> seen_line;
    std::vector<std::string> known;
    for (const auto& k : detail::top_level()) known.push_back(k.name);
    for (const auto& kv : root) {
      if (!kv.first.IsScalar()) {
        add(kv.first, std::string{document_path}, "keys must be strings");
        continue;
      }
      const std::string key = kv.first.Scalar();
      if (auto [it, inserted] = seen_line.emplace(key, kv.first.Mark().line + 1); !inserted) {
        add(kv.first, key, "duplicate key (first set at line " + std::to_string(it->second) + ")");
        continue;
      }
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string msg = "unknown key " + dq(key);
        if (auto s = detail::suggest(key, known)) msg += " (did you mean " + dq(*s) + "?)";
        add(kv.first, key, std::move(msg));
        continue;
      }
      top.emplace(key, kv.second);
    }

    if (auto it = top.find("listen"); it != top.end()) read_listen(it->second, cfg);

    check_options defaults;
    YAML::Mark defaults_mark;
    std::map<std::string, YAML::Mark> defaults_present;
    for (const auto& k : detail::top_level()) {
      if (k.section == nullptr) continue;
      auto it = top.find(k.name);
      if (it == top.end()) continue;
      const YAML::Node& n = it->second;
      if (n.IsNull()) continue;  // `log:` with nothing under it keeps the defaults
      if (!n.IsMap()) {
        add(n, k.name, "expected a mapping, got " + node_kind_name(n));
        continue;
      }
      void* target = nullptr;
      std::vector<std::pair<std::string, bound_section>> children;
      if (k.name == "service") target = &cfg.info;
      if (k.name == "auth" || k.name == "http") target = &cfg.http;
      if (k.name == "server") target = &cfg.server;
      if (k.name == "engine") target = &cfg;
      if (k.name == "shutdown") target = &cfg.shutdown;
      if (k.name == "log") target = &cfg.log;
      if (k.name == "defaults") target = &defaults;
      if (k.name == "http") {
        children.emplace_back("status_codes", bound_section{k.children[0].second, &cfg.http.codes});
      }
      auto r = read_sections(n, {{k.section, target}}, k.name, {}, children);
      if (k.name == "defaults") {
        defaults_present = r.present;
        defaults_mark = n.Mark();
      }
      if (k.name == "shutdown" && r.ok && cfg.shutdown.drain_delay >= cfg.shutdown.grace_period) {
        const auto& at = r.present.contains("drain_delay") ? r.present["drain_delay"] : n.Mark();
        add(at, "shutdown.drain_delay",
            "drain_delay (" + detail::format_duration(cfg.shutdown.drain_delay) +
                ") must be shorter than grace_period (" +
                detail::format_duration(cfg.shutdown.grace_period) + ")");
      }
    }

    if (auto it = top.find("checks"); it != top.end()) {
      read_checks(it->second, defaults, defaults_present, cfg);
    }
  }

  void read_listen(const YAML::Node& n, daemon_config& cfg) {
    auto s = scalar(n, "listen", "\"address:port\"");
    if (!s) return;
    const std::string& v = s->value;
    auto bad = [&] {
      add(n, "listen",
          "expected \"address:port\", e.g. \"127.0.0.1:8081\" or \"[::1]:8081\" (got " +
              dq(s->shown()) + ")");
    };
    std::string host;
    std::string_view port_text;
    if (!v.empty() && v.front() == '[') {
      const auto close = v.find(']');
      if (close == std::string::npos || close + 1 >= v.size() || v[close + 1] != ':') return bad();
      host = v.substr(1, close - 1);
      port_text = std::string_view{v}.substr(close + 2);
    } else {
      const auto colon = v.rfind(':');
      if (colon == std::string::npos || v.find(':') != colon) return bad();
      host = v.substr(0, colon);
      port_text = std::string_view{v}.substr(colon + 1);
    }
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (host.empty() || port_text.empty() || ec != std::errc{} ||
        p != port_text.data() + port_text.size()) {
      return bad();
    }
    if (port > 65535) {
      add(n, "listen", "port " + std::string{port_text} + " is out of range (0-65535)");
      return;
    }
    cfg.server.address = host;
    cfg.server.port = static_cast<std::uint16_t>(port);
  }

  void read_checks(const YAML::Node& list, const check_options& defaults,
                   const std::map<std::string, YAML::Mark>& defaults_present, daemon_config& cfg) {
    if (list.IsNull()) return;
    if (!list.IsSequence()) {
      add(list, "checks", "expected a list of checks, got " + node_kind_name(list));
      return;
    }
    std::map<std::string, int> names;
    std::size_t index = 0;
    for (const auto& item : list) {
      const std::string path = "checks[" + std::to_string(index++) + "]";
      if (!item.IsMap()) {
        add(item, path, "expected a mapping with name and type, got " + node_kind_name(item));
        continue;
      }
      read_check(item, path, defaults, defaults_present, names, cfg);
    }
  }

  static std::optional<YAML::Node> find_key(const YAML::Node& map, std::string_view key) {
    for (const auto& kv : map) {
      if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
    }
    return std::nullopt;
  }

  void read_check(const YAML::Node& item, const std::string& path, const check_options& defaults,
                  const std::map<std::string, YAML::Mark>& defaults_present,
                  std::map<std::string, int>& names, daemon_config& cfg) {
    const auto errors_before = diags_.size();
    check_config cc;
    cc.line = item.Mark().line + 1;

    if (auto name_node = find_key(item, "name")) {
      if (auto s = scalar(*name_node, path + ".name", "a string")) {
        cc.name = s->value;
        const bool valid = !cc.name.empty() && cc.name.size() <= 64 &&
                           std::all_of(cc.name.begin(), cc.name.end(), [](char c) {
                             return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' ||
                                    c == '.' || c == '-';
                           });
        if (!valid) {
          add(*name_node, path + ".name",
              "invalid check name " + dq(s->shown()) +
                  " (1 to 64 characters among A-Z a-z 0-9 _ . -)");
        } else if (auto [it, inserted] = names.emplace(cc.name, name_node->Mark().line + 1);
                   !inserted) {
          add(*name_node, path + ".name",
              "duplicate check name " + dq(cc.name) + " (first defined at line " +
                  std::to_string(it->second) + ")");
        }
      }
    } else {
      add(item, path, "missing required key \"name\"");
    }

    const detail::type_spec* type = nullptr;
    if (auto type_node = find_key(item, "type")) {
      if (auto s = scalar(*type_node, path + ".type", "a check type")) {
        cc.type = s->value;
        type = detail::types().find(cc.type);
        if (type == nullptr) {
          std::vector<std::string> known;
          for (const auto& t : detail::types().all()) known.push_back(t.section.name);
          std::string msg = "unknown check type " + dq(s->shown());
          if (auto sug = detail::suggest(cc.type, known)) {
            msg += " (did you mean " + dq(*sug) + "?)";
          } else {
            msg += " (known types: ";
            for (std::size_t i = 0; i < known.size(); ++i) msg += (i == 0 ? "" : ", ") + known[i];
            msg += ")";
          }
          add(*type_node, path + ".type", std::move(msg));
        }
      }
    } else {
      add(item, path, "missing required key \"type\"");
    }
    if (type == nullptr) {
      // Without a type its keys are unknown; still report typos among the common keys.
      return;
    }

    cc.options = defaults;
    auto type_options = type->make_options();
    auto r = read_sections(
        item,
        {{&detail::check_common_section(), &cc.options}, {&type->section, type_options.get()}},
        path, {"name", "type"});
    if (diags_.size() != errors_before) return;

    const auto& o = cc.options;
    auto mark_of = [&](const char* key) -> std::pair<YAML::Mark, std::string> {
      if (auto it = r.present.find(key); it != r.present.end()) {
        return {it->second, path + "." + key};
      }
      if (auto it = defaults_present.find(key); it != defaults_present.end()) {
        return {it->second, std::string{"defaults."} + key};
      }
      return {item.Mark(), path};
    };
    if (o.probes.empty()) {
      auto [m, p] = mark_of("probes");
      add(m, p, "must list at least one of live, ready, startup");
    }
    if (o.timeout <= std::chrono::milliseconds{0}) {
      auto [m, p] = mark_of("timeout");
      add(m, p, "timeout must be greater than 0");
    }
    if (o.timeout >= o.interval) {
      auto [m, p] = mark_of("timeout");
      add(m, p,
          "timeout (" + detail::format_duration(o.timeout) + ") must be shorter than interval (" +
              detail::format_duration(o.interval) + ")");
    }
    if (diags_.size() != errors_before) return;

    try {
      cc.impl = type->make_check(type_options.get());
    } catch (const std::exception& e) {
      add(item, path, scrub_patterns(e.what()));
      return;
    }
    if (!cc.impl) {
      add(item, path, "the " + cc.type + " factory returned no check");
      return;
    }
    const check_traits traits = cc.impl->traits();
    if (traits.dependency && o.probes.contains(probe::live) && !o.allow_in_live) {
      auto [m, p] = mark_of("probes");
      add(m, p,
          "a " + cc.type +
              " check depends on something outside the process and is refused in the live "
              "probe (a dead dependency would restart every replica); set allow_in_live: true "
              "to insist");
      return;
    }
    try {
      registry::validate(cc.name, o, traits);
    } catch (const std::exception& e) {
      redactor red;
      for (const auto& s : traits.secrets) red.add_secret(s);
      add(item, path, red.scrub(e.what()));
      return;
    }

    std::string canon =
        cc.type + "|" + r.canonical + "|probes=" + std::to_string(o.probes.bits()) +
        ";critical=" + std::to_string(o.critical) +
        ";mode=" + std::to_string(static_cast<int>(o.mode)) +
        ";interval=" + std::to_string(o.interval.count()) +
        ";timeout=" + std::to_string(o.timeout.count()) +
        ";initial_delay=" + std::to_string(o.initial_delay.count()) +
        ";jitter=" + std::to_string(o.jitter) + ";ft=" + std::to_string(o.failure_threshold) +
        ";st=" + std::to_string(o.success_threshold) +
        ";ttl=" + std::to_string(o.ttl_pass.count()) + "," + std::to_string(o.ttl_fail.count()) +
        ";stale=" + std::to_string(o.max_staleness.count()) +
        ";live=" + std::to_string(o.allow_in_live) + ";ct=" + o.component_type +
        ";m=" + o.measurement;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(canon)));
    cc.fingerprint = hex;
    cfg.checks.push_back(std::move(cc));
  }

  std::string file_;
  std::filesystem::path base_dir_;
  std::vector<diagnostic> diags_{};
};

}  // namespace

daemon_config load_string(std::string_view yaml, std::string_view name) {
  return loader{std::string{name}, std::filesystem::current_path()}.load(yaml);
}

daemon_config load_file(const std::string& path) {
  auto fail = [&](const std::string& message) -> daemon_config {
    throw error({{.file = path, .path = std::string{document_path}, .message = message}});
  };
  std::ifstream in{path, std::ios::binary};
  if (!in) return fail(std::string{"cannot read: "} + std::strerror(errno));
  std::string text;
  text.resize(max_file_bytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return fail("cannot read");
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_file_bytes) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    return fail("file is " + (ec ? std::string{"more than 1048576"} : std::to_string(size)) +
                " bytes; the limit is 1 MiB");
  }
  const auto dir = std::filesystem::absolute(std::filesystem::path{path}).parent_path();
  return loader{path, dir}.load(text);
}

registry build_registry(const daemon_config& cfg) {
  registry reg;
  for (const auto& c : cfg.checks) reg.add(c.name, c.impl, c.options);
  return reg;
}

std::vector<std::string> check_types() {
  std::vector<std::string> out;
  for (const auto& t : detail::types().all()) out.push_back(t.section.name);
  return out;
}

}  // namespace vitals::config
