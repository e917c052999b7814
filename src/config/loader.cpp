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
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/url_split.hpp"
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

/// A target group being read: its name and labels, given to each of its checks.
struct target_group {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
};

bool name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

/// `text` as part of a check name: characters a name cannot hold become '_'.
std::string name_part(std::string_view text) {
  std::string out{text};
  for (char& c : out) {
    if (!name_char(c)) c = '_';
  }
  return out;
}

bool valid_group_name(std::string_view g) noexcept {
  if (g.empty() || g.size() > 32) return false;
  return std::all_of(g.begin(), g.end(), [](char c) { return c != '.' && name_char(c); });
}

/// A Prometheus label name other than the ones vitals_target_info sets itself.
bool valid_label_name(std::string_view n) noexcept {
  if (n.empty() || n.size() > 64 || n.starts_with("__") || n == "check" || n == "group") {
    return false;
  }
  const auto head = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  if (!head(n.front())) return false;
  return std::all_of(n.begin(), n.end(), [&](char c) { return head(c) || (c >= '0' && c <= '9'); });
}

/// host[:port] or [v6]:port of a target written as a string; false if malformed.
bool split_host_port(std::string_view text, std::string& host, std::optional<std::int64_t>& port) {
  std::string_view rest;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return false;
    host.assign(text.substr(1, close - 1));
    rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
  } else {
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon) {
      host.assign(text);  // a bare IPv6 literal: no port
      return true;
    }
    host.assign(text.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
  }
  if (host.empty()) return false;
  if (rest.empty()) return true;
  rest.remove_prefix(1);
  std::uint16_t p = 0;
  if (base::parse_port(rest, p) != base::port_error::none || p == 0) return false;
  port = p;
  return true;
}

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
    std::vector<std::pair<std::string, std::string>> applied;
    read_layer(map, sections, path, extra, children, r, applied);
    require_keys(r, sections, map.Mark(), path);
    finish(r, applied, errors_before);
    return r;
  }

  /// The keys of `map` applied to `sections` (a later layer overrides an earlier one's keys).
  void read_layer(const YAML::Node& map, const std::vector<bound_section>& sections,
                  const std::string& path, const std::vector<std::string>& extra,
                  const child_sections& children, read_result& r,
                  std::vector<std::pair<std::string, std::string>>& applied) {
    std::map<std::string, int> seen_line;
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
  }

  void require_keys(const read_result& r, const std::vector<bound_section>& sections,
                    const YAML::Mark& at, const std::string& path) {
    for (const auto& s : sections) {
      for (const auto& k : s.spec->keys) {
        if (k.flags.required && !r.present.contains(k.name)) {
          in_.add(at, path.empty() ? std::string{document_path} : path,
                  "missing required key " + dq(k.name));
        }
      }
    }
  }

  void finish(read_result& r, std::vector<std::pair<std::string, std::string>>& applied,
              std::size_t errors_before) {
    std::sort(applied.begin(), applied.end());
    for (const auto& [k, v] : applied) r.canonical.append(k).append("=").append(v).append(";");
    r.ok = in_.errors() == errors_before;
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
        case detail::section_shape::target_groups:
          read_target_groups(it->second, doc);
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
    for (const YAML::Node& item : list) {
      const std::string path = "checks[" + std::to_string(index++) + "]";
      if (!item.IsMap()) {
        in_.add(item, path, "expected a mapping with name and type, got " + node_kind_name(item));
        continue;
      }
      read_check({.at = item, .type_node = item, .layers = {{item, {"name", "type"}}}}, path, doc);
    }
  }

  /// Where one check's keys come from: its own mapping under `checks:`, or a target group's
  /// shared keys and then one target's (docs/monitor.md).
  struct check_source {
    /// Where messages about the check as a whole point.
    YAML::Node at;
    /// The mapping holding `type`.
    YAML::Node type_node;
    /// Mappings of keys, applied in order (a later one overrides); `extra` keys are skipped.
    std::vector<std::pair<YAML::Node, std::vector<std::string>>> layers;
    /// Set: the check's name (else read from `at`'s `name`).
    std::optional<std::string> name{};
    /// A target given as a string: the value of the type's target key(s), applied last.
    std::function<void(void* options, read_result&,
                       std::vector<std::pair<std::string, std::string>>&)>
        preset{};
    /// A group's: its labels, and `probes: []` unless a layer sets probes.
    const target_group* group = nullptr;
  };

  void read_check(const check_source& src, const std::string& path, document& doc) {
    const auto errors_before = in_.errors();
    const YAML::Node& item = src.at;
    check_config cc;
    cc.line = item.Mark().line + 1;
    key_marks marks;  // where the check's own keys are
    if (src.name) {
      cc.name = *src.name;
      report(registry::errors(cc.name, {}, {}), item, path, marks);
    } else {
      read_name(item, path, cc, marks);
    }
    const detail::type_spec* type = read_type(src.type_node, path, cc);
    // Without a type its keys are unknown; the common keys' typos were reported all the same.
    if (type == nullptr) return;

    cc.options = doc.defaults;
    if (src.group != nullptr) {
      cc.options.probes = {};  // a monitored target, unless the group or the target says
      cc.group = src.group->name;
      cc.labels = src.group->labels;
    }
    auto type_options = type->make_options();
    const std::vector<bound_section> sections{{&detail::check_common_section(), &cc.options},
                                              {&type->section, type_options.get()}};
    read_result r;
    std::vector<std::pair<std::string, std::string>> applied;
    for (const auto& [layer, extra] : src.layers) {
      read_result lr;
      read_layer(layer, sections, path, extra, {}, lr, applied);
      for (auto& [k, m] : lr.present) r.present.insert_or_assign(k, m);
    }
    if (src.preset) src.preset(type_options.get(), r, applied);
    require_keys(r, sections, item.Mark(), path);
    finish(r, applied, errors_before);
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
    const auto name_at = marks.find("name");
    name_lines_.push_back(name_at != marks.end() ? name_at->second.line + 1 : cc.line);
    doc.cfg.checks.push_back(std::move(cc));
  }

  // ---- target groups -----------------------------------------------------------------------
  void read_target_groups(const YAML::Node& list, document& doc) {
    if (list.IsNull()) return;
    if (!list.IsSequence()) {
      in_.add(list, "targets", "expected a list of target groups, got " + node_kind_name(list));
      return;
    }
    std::size_t index = 0;
    std::map<std::string, int> groups;  // name -> line
    for (const YAML::Node& g : list) {
      const std::string path = "targets[" + std::to_string(index++) + "]";
      if (!g.IsMap()) {
        in_.add(g, path,
                "expected a mapping with group, type and targets, got " + node_kind_name(g));
        continue;
      }
      read_target_group(g, path, doc, groups);
    }
  }

  void read_target_group(const YAML::Node& g, const std::string& path, document& doc,
                         std::map<std::string, int>& groups) {
    target_group group;
    const auto name_node = find_key(g, "group");
    if (!name_node) {
      in_.add(g, path, "missing required key \"group\"");
      return;
    }
    const auto name = in_.scalar(*name_node, path + ".group", "a group name");
    if (!name) return;
    if (!valid_group_name(name->value)) {
      in_.add(*name_node, path + ".group",
              "invalid group name " + dq(name->shown()) +
                  " (1 to 32 characters among A-Z a-z 0-9 _ -; it starts the checks' names)");
      return;
    }
    if (auto [at, fresh] = groups.emplace(name->value, name_node->Mark().line + 1); !fresh) {
      in_.add(*name_node, path + ".group",
              "duplicate group " + dq(name->value) + " (first at line " +
                  std::to_string(at->second) + ")");
      return;
    }
    group.name = name->value;
    if (const auto labels = find_key(g, "labels")) {
      if (!read_labels(*labels, path + ".labels", group.labels)) return;
    }
    check_config group_type;  // read_type fills its `type`
    const detail::type_spec* type = read_type(g, path, group_type);
    if (type == nullptr) return;
    const auto targets = find_key(g, "targets");
    if (!targets) {
      in_.add(g, path, "missing required key \"targets\"");
      return;
    }
    if (!targets->IsSequence() || targets->size() == 0) {
      in_.add(
          *targets, path + ".targets",
          "expected a list of targets (strings or mappings), got " +
              (targets->IsSequence() ? std::string{"an empty list"} : node_kind_name(*targets)));
      return;
    }
    const std::vector<std::string> group_keys{"group", "type", "labels", "targets"};
    std::size_t i = 0;
    for (const YAML::Node& t : *targets) {
      const std::string tpath = path + ".targets[" + std::to_string(i++) + "]";
      check_source src{.at = t, .type_node = g, .layers = {{g, group_keys}}, .group = &group};
      std::optional<std::string> suffix;
      if (t.IsMap()) {
        if (const auto own_type = find_key(t, "type")) {
          in_.add(*own_type, tpath + ".type",
                  "a target's type is its group's (" + group_type.type + "); use another group");
          continue;
        }
        src.layers.emplace_back(t, std::vector<std::string>{"name"});
        if (const auto n = find_key(t, "name")) {
          const auto text = in_.scalar(*n, tpath + ".name", "a string");
          if (!text) continue;
          suffix = text->value;
        } else {
          suffix = mapped_target_name(*type, t, tpath);
        }
      } else if (t.IsScalar()) {
        suffix = string_target(*type, t, tpath, src);
      } else {
        in_.add(t, tpath, "expected a string or a mapping, got " + node_kind_name(t));
        continue;
      }
      if (!suffix) continue;
      src.name = group.name + "." + *suffix;
      if (src.name->size() > 64) {
        in_.add(t, tpath,
                "the check name " + dq(src.name->substr(0, 40) + "...") +
                    " would be over 64 characters; give this target a short name (name: ...)");
        continue;
      }
      read_check(src, tpath, doc);
    }
  }

  bool read_labels(const YAML::Node& n, const std::string& path,
                   std::vector<std::pair<std::string, std::string>>& out) {
    if (!n.IsMap()) {
      in_.add(n, path, "expected a mapping of label names to values, got " + node_kind_name(n));
      return false;
    }
    const auto errors_before = in_.errors();
    for (const auto& kv : n) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string{};
      if (!valid_label_name(key)) {
        in_.add(kv.first, path,
                "invalid label name " + dq(key) +
                    " (a Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*, not __*, check or group)");
        continue;
      }
      std::string label_path = path;
      label_path.append(".").append(key);
      const auto v = in_.scalar(kv.second, label_path, "a string");
      if (!v) continue;
      if (v->value.size() > 256) {
        in_.add(kv.second, label_path, "label values are at most 256 bytes");
        continue;
      }
      out.emplace_back(key, v->value);
    }
    if (out.size() > 32) in_.add(n, path, "at most 32 labels per group");
    std::sort(out.begin(), out.end());
    return in_.errors() == errors_before;
  }

  /// The key a target written as a string sets, by the keys of its type.
  static const char* target_key(const detail::type_spec& type) {
    for (const char* k : {"url", "address", "host", "path"}) {
      if (type.section.find(k) != nullptr) return k;
    }
    return nullptr;
  }

  /// What a target contributes to its check's name: host[_port][_path] of a URL, host_port of an
  /// address, the text of a host or path. Never the URL's userinfo (it may hold a password).
  std::optional<std::string> derived_name(const char* key, std::string_view text,
                                          const YAML::Node& at, const std::string& path) {
    const std::string_view k{key};
    if (k == "url" || (k == "address" && text.find("://") != std::string_view::npos)) {
      const base::url_split u = base::split_url(text);
      if (u.error != base::url_split_error::none || u.host.empty()) {
        in_.add(at, path,
                "expected a URL (scheme://host[:port][/path]); or give the target a name");
        return std::nullopt;
      }
      std::string out = name_part(u.host);
      if (u.has_port && !u.port.empty()) out.append("_").append(name_part(u.port));
      std::string_view p = u.path;
      while (!p.empty() && p.front() == '/') p.remove_prefix(1);
      while (!p.empty() && p.back() == '/') p.remove_suffix(1);
      if (!p.empty()) out.append("_").append(name_part(p));
      return out;
    }
    if (k == "address") {
      std::string host;
      std::optional<std::int64_t> port;
      if (!split_host_port(text, host, port)) {
        in_.add(at, path, "expected host:port or [v6]:port");
        return std::nullopt;
      }
      return name_part(host) + (port ? "_" + std::to_string(*port) : std::string{});
    }
    if (k == "path") {  // "/var/lib/app/" -> "var_lib_app", "/" -> "root"
      while (text.size() > 1 && text.back() == '/') text.remove_suffix(1);
      while (text.size() > 1 && text.front() == '/') text.remove_prefix(1);
      return text == "/" ? std::string{"root"} : name_part(text);
    }
    return name_part(text);
  }

  /// The name of a target given as a mapping without `name`: from its target key.
  std::optional<std::string> mapped_target_name(const detail::type_spec& type, const YAML::Node& t,
                                                const std::string& path) {
    const char* key = target_key(type);
    const auto node = key ? find_key(t, key) : std::nullopt;
    if (!node) {
      in_.add(t, path,
              "missing key \"name\" (the target has no " + std::string{key ? key : "address"} +
                  " to be named after)");
      return std::nullopt;
    }
    const auto text = in_.scalar(*node, path + "." + key, "a string");
    if (!text) return std::nullopt;
    auto name = derived_name(key, text->value, *node, path + "." + key);
    if (!name) return std::nullopt;
    if (std::string_view{key} == "host") {
      if (const auto port = find_key(t, "port"); port && port->IsScalar()) {
        return *name + "_" + name_part(port->Scalar());
      }
    }
    return name;
  }

  /// A target given as a string: sets the type's target key (host and port for host:port) and
  /// returns the name it gives.
  std::optional<std::string> string_target(const detail::type_spec& type, const YAML::Node& t,
                                           const std::string& path, check_source& src) {
    const char* key = target_key(type);
    if (key == nullptr) {
      in_.add(t, path,
              "targets of type " + type.section.name +
                  " are written as mappings (the type has no url, address, host or path)");
      return std::nullopt;
    }
    const auto text = in_.scalar(t, path, "a target");
    if (!text) return std::nullopt;
    const key_spec* k = type.section.find(key);
    const YAML::Mark mark = t.Mark();
    if (std::string_view{key} == "host" && type.section.find("port") != nullptr) {
      std::string host;
      std::optional<std::int64_t> port;
      if (!split_host_port(text->value, host, port)) {
        in_.add(t, path, "expected host:port or [v6]:port");
        return std::nullopt;
      }
      const key_spec* pk = type.section.find("port");
      src.preset = [k, pk, host, port, mark](
                       void* options, read_result& r,
                       std::vector<std::pair<std::string, std::string>>& applied) {
        k->apply(options, value{host});
        r.present.insert_or_assign("host", mark);
        applied.emplace_back("host", host);
        if (port) {
          pk->apply(options, value{*port});
          r.present.insert_or_assign("port", mark);
          applied.emplace_back("port", std::to_string(*port));
        }
      };
      return name_part(host) + (port ? "_" + std::to_string(*port) : std::string{});
    }
    auto name = derived_name(key, text->value, t, path);
    if (!name) return std::nullopt;
    src.preset = [this, k, t, path, mark](
                     void* options, read_result& r,
                     std::vector<std::pair<std::string, std::string>>& applied) {
      r.present.insert_or_assign(k->name, mark);
      const auto v = in_.convert(t, *k, path);
      if (!v) return;
      k->apply(options, *v);
      applied.emplace_back(k->name, detail::to_text(*v));
    };
    return name;
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
