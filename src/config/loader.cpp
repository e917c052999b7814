// YAML → daemon_config. The document is walked by the table of top-level sections
// (config/sections.hpp); values are read by their key's schema (config/yaml_values.hpp); a
// check's names and options are judged by the registry, whose errors carry the key at fault
// and are pointed here at that key's line and column.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/sections.hpp"
#include "config/suggest.hpp"
#include "config/types.hpp"
#include "config/yaml_values.hpp"
#include "vitals/config.hpp"
#include "vitals/redact.hpp"
#include "vitals/service.hpp"

namespace vitals::config {
namespace {

using detail::document;
using detail::document_path;
using detail::dq;
using detail::key_spec;
using detail::node_kind_name;
using detail::section_spec;
using detail::top_level_key;
using detail::value;
using detail::value_kind;

// 4 MiB: a monitor of 10,000 checks is about 1 MiB of YAML.
constexpr std::size_t max_file_bytes = std::size_t{4} * 1024 * 1024;

/// Where each key of a mapping was read.
using key_marks = std::map<std::string, YAML::Mark>;

/// 16 hex digits of FNV-1a: a stable digest of a check's settings, compared on reload.
std::string digest(std::string_view s) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

std::optional<YAML::Node> find_key(const YAML::Node& map, std::string_view key) {
  for (const auto& kv : map) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
  }
  return std::nullopt;
}

struct bound_section {
  const section_spec* spec;
  void* target;
};
using child_sections = std::vector<std::pair<std::string, bound_section>>;

struct read_result {
  /// Position of each key present (after `_file` resolution, under the plain key name).
  key_marks present;
  /// key=value pairs of everything applied (secrets included), sorted: the check's settings.
  std::string canonical;
  bool ok = true;
};

class loader {
 public:
  loader(std::string file, std::filesystem::path base_dir)
      : in_(std::move(file), std::move(base_dir)) {}

  daemon_config load(std::string_view text) {
    daemon_config cfg;
    cfg.source = in_.file();
    if (text.size() > max_file_bytes) {
      in_.add(0, 0, std::string{document_path},
              "file is " + std::to_string(text.size()) + " bytes; the limit is 4 MiB");
      fail();
    }
    YAML::Node root;
    try {
      root = YAML::Load(std::string{text});
    } catch (const YAML::Exception& e) {
      in_.add(e.mark.line + 1, e.mark.column + 1, std::string{document_path}, e.msg);
      fail();
    }
    if (!in_.within_budget(root)) fail();
    if (root.IsNull()) {
      in_.add(1, 1, std::string{document_path},
              "the configuration is empty (expected a mapping with listen, checks, ...)");
      fail();
    }
    if (!root.IsMap()) {
      in_.add(root, std::string{document_path}, "expected a mapping, got " + node_kind_name(root));
      fail();
    }
    document doc{.cfg = cfg};
    read_document(root, doc);
    if (cfg.self_check) {
      for (std::size_t i = 0; i < cfg.checks.size(); ++i) {
        if (cfg.checks[i].name != vitals::engine_check_name) continue;
        in_.add(cfg.checks[i].line, 1, "checks[" + std::to_string(i) + "].name",
                "the name \"engine\" is the engine's own check (engine.self_check: true); "
                "rename this check");
      }
    }
    if (in_.errors() != 0) fail();
    return cfg;
  }

 private:
  [[noreturn]] void fail() { throw error(in_.take_sorted()); }

  // ---- mappings of keys --------------------------------------------------------------------
  /// Reads a mapping whose keys belong to one or more sections. `extra` keys are accepted and
  /// left to the caller (e.g. name, type); `children` are nested sections.
  read_result read_sections(const YAML::Node& map, const std::vector<bound_section>& sections,
                            const std::string& path, const std::vector<std::string>& extra,
                            const child_sections& children = {}) {
    read_result r;
    const auto errors_before = in_.errors();
    std::map<std::string, int> seen_line;
    std::vector<std::pair<std::string, std::string>> applied;
    for (const auto& kv : map) {
      const YAML::Node& key_node = kv.first;
      if (!key_node.IsScalar()) {
        in_.add(key_node, path, "keys must be strings, got " + node_kind_name(key_node));
        continue;
      }
      const std::string key = key_node.Scalar();
      const std::string key_path = path.empty() ? key : path + '.' + key;
      if (auto [it, inserted] = seen_line.emplace(key, key_node.Mark().line + 1); !inserted) {
        in_.add(key_node, key_path,
                "duplicate key (first set at line " + std::to_string(it->second) + ")");
        continue;
      }
      if (std::find(extra.begin(), extra.end(), key) != extra.end()) continue;
      if (read_child(kv.second, key, key_path, children, r)) continue;
      if (read_key(kv, key, key_path, sections, r, applied)) continue;
      unknown_key(key_node, key, key_path, sections, extra, children);
    }
    for (const auto& s : sections) {
      for (const auto& k : s.spec->keys) {
        if (k.flags.required && !r.present.contains(k.name)) {
          in_.add(map, path.empty() ? std::string{document_path} : path,
                  "missing required key " + dq(k.name));
        }
      }
    }
    std::sort(applied.begin(), applied.end());
    for (const auto& [k, v] : applied) r.canonical.append(k).append("=").append(v).append(";");
    r.ok = in_.errors() == errors_before;
    return r;
  }

  bool read_child(const YAML::Node& n, const std::string& key, const std::string& key_path,
                  const child_sections& children, read_result& r) {
    for (const auto& [name, child] : children) {
      if (name != key) continue;
      if (!n.IsMap()) {
        in_.add(n, key_path, "expected a mapping, got " + node_kind_name(n));
        return true;
      }
      auto sub = read_sections(n, {child}, key_path, {});
      r.canonical += key + "{" + sub.canonical + "}";
      return true;
    }
    return false;
  }

  /// Applies `key` if one of `sections` has it (or it is `<secret>_file`); false if none does.
  bool read_key(const std::pair<YAML::Node, YAML::Node>& kv, const std::string& key,
                const std::string& key_path, const std::vector<bound_section>& sections,
                read_result& r, std::vector<std::pair<std::string, std::string>>& applied) {
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
      if (r.present.contains(k->name)) {
        in_.add(kv.first, key_path,
                "both " + dq(k->name) + " and " + dq(k->name + "_file") + " are set; use one");
        return true;
      }
      r.present.emplace(k->name, kv.second.Mark());
      std::optional<value> v;
      if (from_file) {
        if (auto content = in_.read_secret_file(kv.second, key_path)) v = value{*content};
      } else {
        v = in_.convert(kv.second, *k, key_path);
      }
      if (!v) return true;
      try {
        k->apply(s.target, *v);
        applied.emplace_back(k->name, detail::to_text(*v));
      } catch (const std::exception&) {
        in_.add(kv.second, key_path, "value out of range");
      }
      return true;
    }
    return false;
  }

  void unknown_key(const YAML::Node& key_node, const std::string& key, const std::string& key_path,
                   const std::vector<bound_section>& sections,
                   const std::vector<std::string>& extra, const child_sections& children) {
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
    in_.add(key_node, key_path, std::move(msg));
  }

  // ---- the document ------------------------------------------------------------------------
  void read_document(const YAML::Node& root, document& doc) {
    const auto top = top_level_nodes(root);
    for (const auto& row : detail::top_level()) {
      const auto it = top.find(row.name);
      if (it == top.end()) continue;
      switch (row.shape) {
        case detail::section_shape::scalar:
          read_scalar(row, it->second, doc);
          break;
        case detail::section_shape::mapping:
          read_mapping(row, it->second, doc);
          break;
        case detail::section_shape::check_list:
          read_checks(it->second, doc);
          break;
        case detail::section_shape::mapping_list:
          read_mapping_list(row, it->second, doc);
          break;
      }
    }
  }

  /// The top-level keys by name; unknown and duplicate keys are reported.
  std::map<std::string, YAML::Node> top_level_nodes(const YAML::Node& root) {
    std::map<std::string, YAML::Node> top;
    std::map<std::string, int> seen_line;
    std::vector<std::string> known;
    for (const auto& row : detail::top_level()) known.push_back(row.name);
    for (const auto& kv : root) {
      if (!kv.first.IsScalar()) {
        in_.add(kv.first, std::string{document_path}, "keys must be strings");
        continue;
      }
      const std::string key = kv.first.Scalar();
      if (auto [it, inserted] = seen_line.emplace(key, kv.first.Mark().line + 1); !inserted) {
        in_.add(kv.first, key,
                "duplicate key (first set at line " + std::to_string(it->second) + ")");
        continue;
      }
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string msg = "unknown key " + dq(key);
        if (auto s = detail::suggest(key, known)) msg += " (did you mean " + dq(*s) + "?)";
        in_.add(kv.first, key, std::move(msg));
        continue;
      }
      top.emplace(key, kv.second);
    }
    return top;
  }

  void read_scalar(const top_level_key& row, const YAML::Node& n, document& doc) {
    auto s = in_.scalar(n, row.name, row.expects);
    if (!s) return;
    if (auto why = row.parse(s->value, s->shown(), doc)) in_.add(n, row.name, std::move(*why));
  }

  void read_mapping(const top_level_key& row, const YAML::Node& n, document& doc) {
    if (n.IsNull()) return;  // `log:` with nothing under it keeps the defaults
    if (!n.IsMap()) {
      in_.add(n, row.name, "expected a mapping, got " + node_kind_name(n));
      return;
    }
    void* target = row.bind(doc);
    child_sections children;
    for (const auto& [name, spec] : row.children) {
      children.emplace_back(name, bound_section{spec, target});
    }
    auto r = read_sections(n, {{row.section, target}}, row.name, {}, children);
    if (row.check_defaults) defaults_present_ = r.present;
    if (!r.ok || !row.rule) return;
    if (auto problem = row.rule(doc)) {
      const auto at = r.present.find(problem->key);
      in_.add(at != r.present.end() ? at->second : n.Mark(), row.name + "." + problem->key,
              std::move(problem->message));
    }
  }

  void read_mapping_list(const top_level_key& row, const YAML::Node& list, document& doc) {
    if (list.IsNull()) return;
    if (!list.IsSequence()) {
      in_.add(list, row.name, "expected a list of mappings, got " + node_kind_name(list));
      return;
    }
    std::size_t index = 0;     // in the YAML list (shown in paths)
    std::size_t appended = 0;  // items made by row.append: an item that is not a mapping is none
    std::map<std::string, int> names;
    for (const auto& item : list) {
      const std::string path = row.name + "[" + std::to_string(index) + "]";
      if (!item.IsMap()) {
        in_.add(item, path, "expected a mapping, got " + node_kind_name(item));
        ++index;
        continue;
      }
      void* target = row.append(doc, item.Mark().line + 1);
      ++appended;
      auto r = read_sections(item, {{row.section, target}}, path, {});
      if (r.ok && row.unique_name) {
        const std::string& name = row.unique_name(doc, appended - 1);
        if (auto [at, fresh] = names.emplace(name, item.Mark().line + 1); !fresh) {
          in_.add(
              r.present.at("name"), path + ".name",
              "duplicate name " + dq(name) + " (first at line " + std::to_string(at->second) + ")");
        }
      }
      if (r.ok && row.item_rule) {
        if (auto problem = row.item_rule(target)) {
          const auto at = r.present.find(problem->key);
          in_.add(at != r.present.end() ? at->second : item.Mark(), path + "." + problem->key,
                  std::move(problem->message));
        }
      }
      ++index;
    }
  }

  // ---- checks ------------------------------------------------------------------------------
  void read_checks(const YAML::Node& list, document& doc) {
    if (list.IsNull()) return;
    if (!list.IsSequence()) {
      in_.add(list, "checks", "expected a list of checks, got " + node_kind_name(list));
      return;
    }
    std::size_t index = 0;
    for (const auto& item : list) {
      const std::string path = "checks[" + std::to_string(index++) + "]";
      if (!item.IsMap()) {
        in_.add(item, path, "expected a mapping with name and type, got " + node_kind_name(item));
        continue;
      }
      read_check(item, path, doc);
    }
  }

  void read_check(const YAML::Node& item, const std::string& path, document& doc) {
    const auto errors_before = in_.errors();
    check_config cc;
    cc.line = item.Mark().line + 1;
    key_marks marks;  // where the check's own keys are
    read_name(item, path, cc, marks);
    const detail::type_spec* type = read_type(item, path, cc);
    // Without a type its keys are unknown; the common keys' typos were reported all the same.
    if (type == nullptr) return;

    cc.options = doc.defaults;
    auto type_options = type->make_options();
    auto r = read_sections(
        item,
        {{&detail::check_common_section(), &cc.options}, {&type->section, type_options.get()}},
        path, {"name", "type"});
    marks.merge(r.present);
    if (in_.errors() != errors_before) return;
    // The options are judged before the check is built (a factory may resolve names or open
    // files); its traits, known once it is built, add the rules that depend on them.
    if (report(registry::errors(cc.name, cc.options, {}), item, path, marks)) return;
    try {
      cc.impl = type->make_check(type_options.get());
    } catch (const std::exception& e) {
      in_.add(item, path, scrub_patterns(e.what()));
      return;
    }
    if (!cc.impl) {
      in_.add(item, path, "the " + cc.type + " factory returned no check");
      return;
    }
    if (report(checks_.try_add(cc.name, cc.impl, cc.options), item, path, marks)) return;
    cc.fingerprint = digest(cc.type + "|" + r.canonical);
    name_lines_.push_back(marks.at("name").line + 1);
    doc.cfg.checks.push_back(std::move(cc));
  }

  void read_name(const YAML::Node& item, const std::string& path, check_config& cc,
                 key_marks& marks) {
    const auto node = find_key(item, "name");
    if (!node) {
      in_.add(item, path, "missing required key \"name\"");
      return;
    }
    marks.emplace("name", node->Mark());
    auto s = in_.scalar(*node, path + ".name", "a string");
    if (!s) return;
    cc.name = s->value;
    // Judged as soon as it is read, so that a bad name is reported along with every other
    // problem of the check (default options are valid: only the name can be at fault).
    report(registry::errors(cc.name, {}, {}), item, path, marks);
  }

  const detail::type_spec* read_type(const YAML::Node& item, const std::string& path,
                                     check_config& cc) {
    const auto node = find_key(item, "type");
    if (!node) {
      in_.add(item, path, "missing required key \"type\"");
      return nullptr;
    }
    auto s = in_.scalar(*node, path + ".type", "a check type");
    if (!s) return nullptr;
    cc.type = s->value;
    if (const auto* type = detail::types().find(cc.type)) return type;
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
    in_.add(*node, path + ".type", std::move(msg));
    return nullptr;
  }

  /// Reports each registry error at its key: the check's own, else the default it inherited,
  /// else the check. True if there was any.
  bool report(const std::vector<validation_error>& errors, const YAML::Node& item,
              const std::string& path, const key_marks& marks) {
    for (const auto& e : errors) {
      std::string message = e.message;
      if (e.duplicate_of && *e.duplicate_of < name_lines_.size()) {
        message += " (first defined at line " + std::to_string(name_lines_[*e.duplicate_of]) + ")";
      }
      if (auto it = marks.find(e.key); it != marks.end()) {
        in_.add(it->second, path + "." + e.key, std::move(message));
      } else if (auto d = defaults_present_.find(e.key); d != defaults_present_.end()) {
        in_.add(d->second, "defaults." + e.key, std::move(message));
      } else {
        in_.add(item, path, std::move(message));
      }
    }
    return !errors.empty();
  }

  detail::value_reader in_;
  /// The checks read so far: the registry judges each one, uniqueness of names included.
  registry checks_;
  std::vector<int> name_lines_;  // per registered check, the line of its name
  key_marks defaults_present_;
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
    return fail("file is " +
                (ec ? "more than " + std::to_string(max_file_bytes) : std::to_string(size)) +
                " bytes; the limit is 4 MiB");
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
