// JSON Schema and the markdown key reference, both generated from the section specs.
#include <nlohmann/json.hpp>

#include <string>

#include "config/reference.hpp"
#include "config/sections.hpp"
#include "config/types.hpp"
#include "vitals/config.hpp"

namespace vitals::config {
namespace {

using json = nlohmann::ordered_json;
using detail::key_spec;
using detail::section_spec;
using detail::value;
using detail::value_kind;

json to_json(const value& v) {
  struct visitor {
    json operator()(const std::string& s) const { return s; }
    json operator()(std::int64_t n) const { return n; }
    json operator()(double d) const { return d; }
    json operator()(bool b) const { return b; }
    json operator()(std::chrono::milliseconds d) const { return detail::format_duration(d); }
    json operator()(const std::vector<std::string>& l) const { return l; }
    json operator()(const std::vector<std::int64_t>& l) const { return l; }
    json operator()(const detail::string_pairs& m) const {
      json o = json::object();
      for (const auto& [k, val] : m) o[k] = val;
      return o;
    }
  };
  return std::visit(visitor{}, v);
}

/// Defaults worth showing: empty strings and lists are "not set", not a value.
bool shown_default(const key_spec& k) {
  if (!k.default_value) return false;
  if (const auto* s = std::get_if<std::string>(&*k.default_value)) return !s->empty();
  if (const auto* l = std::get_if<std::vector<std::string>>(&*k.default_value)) return !l->empty();
  if (const auto* l = std::get_if<std::vector<std::int64_t>>(&*k.default_value)) {
    return !l->empty();
  }
  if (const auto* m = std::get_if<detail::string_pairs>(&*k.default_value)) return !m->empty();
  return true;
}

json env_ref() { return {{"$ref", "#/$defs/env"}}; }

json string_schema(const key_spec& k) {
  json s = {{"type", "string"}};
  if (!k.choices.empty()) s["enum"] = k.choices;
  return s;
}

json integer_schema(const key_spec& k) {
  json s = {{"type", "integer"}};
  if (k.flags.min) s["minimum"] = static_cast<std::int64_t>(*k.flags.min);
  if (k.flags.max) s["maximum"] = static_cast<std::int64_t>(*k.flags.max);
  return s;
}

json key_schema(const key_spec& k) {
  json typed;
  switch (k.kind) {
    case value_kind::string:
      typed = string_schema(k);
      break;
    case value_kind::integer:
      typed = integer_schema(k);
      break;
    case value_kind::number:
      typed = {{"type", "number"}};
      if (k.flags.min) typed["minimum"] = *k.flags.min;
      if (k.flags.max) typed["maximum"] = *k.flags.max;
      break;
    case value_kind::boolean:
      typed = {{"type", "boolean"}};
      break;
    case value_kind::duration:
      typed = {{"$ref", "#/$defs/duration"}};
      break;
    case value_kind::string_list:
      typed = {{"anyOf", {{{"type", "array"}, {"items", string_schema(k)}}, string_schema(k)}}};
      break;
    case value_kind::integer_list:
      typed = {{"anyOf", {{{"type", "array"}, {"items", integer_schema(k)}}, integer_schema(k)}}};
      break;
    case value_kind::string_map:
      typed = {{"type", "object"},
               {"additionalProperties", {{"type", json::array({"string", "number", "boolean"})}}}};
      break;
  }
  json s;
  s["description"] = k.doc;
  if (shown_default(k)) s["default"] = to_json(*k.default_value);
  // Plain strings already accept "${VAR}"; other kinds get it as an alternative.
  if (k.kind == value_kind::string && k.choices.empty()) {
    s.update(typed);
  } else {
    s["anyOf"] = {typed, env_ref()};
  }
  return s;
}

/// `ref_base` set: properties refer to shared definitions instead of repeating them.
void add_keys(json& properties, const section_spec& section, const std::string& ref_base = {}) {
  for (const auto& k : section.keys) {
    properties[k.name] = ref_base.empty() ? key_schema(k) : json{{"$ref", ref_base + k.name}};
    if (k.flags.secret && k.kind == value_kind::string) {
      properties[k.name + "_file"] = {
          {"description", "File holding " + k.name + " (trailing newline removed)."},
          {"type", "string"}};
    }
  }
}

json section_schema(const section_spec& section,
                    const std::vector<std::pair<std::string, const section_spec*>>& children) {
  json s = {{"description", section.doc}, {"type", "object"}};
  json properties = json::object();
  add_keys(properties, section);
  for (const auto& [name, child] : children) properties[name] = section_schema(*child, {});
  s["properties"] = properties;
  json required = json::array();
  for (const auto& k : section.keys) {
    if (k.flags.required) required.push_back(k.name);
  }
  if (!required.empty()) s["required"] = required;
  s["additionalProperties"] = false;
  return s;
}

json check_schema(const detail::type_spec& type) {
  json s = {{"title", type.section.name}, {"description", type.section.doc}, {"type", "object"}};
  json properties = {
      {"name",
       {{"description", "Unique check name."},
        {"type", "string"},
        {"pattern", "^[A-Za-z0-9_.-]{1,64}$"}}},
      {"type", {{"const", type.section.name}}},
  };
  add_keys(properties, detail::check_common_section(), "#/$defs/check_keys/");
  add_keys(properties, type.section);
  s["properties"] = properties;
  json required = {"name", "type"};
  for (const auto& k : type.section.keys) {
    if (k.flags.required) required.push_back(k.name);
  }
  s["required"] = required;
  s["additionalProperties"] = false;
  return s;
}

/// A target group of one type: its own keys, then the check keys every target shares.
json group_schema(const detail::type_spec& type) {
  std::string title = "targets of type ";
  title += type.section.name;
  json s = {{"title", title}, {"type", "object"}};
  json shared = json::object();
  add_keys(shared, detail::check_common_section(), "#/$defs/check_keys/");
  add_keys(shared, type.section);
  json target = {{"type", "object"}};
  json target_keys = shared;
  target_keys["name"] = {{"description", "The check is named <group>.<name>."},
                         {"type", "string"},
                         {"pattern", "^[A-Za-z0-9_.-]{1,64}$"}};
  target["properties"] = target_keys;
  target["additionalProperties"] = false;
  json properties = shared;
  properties["group"] = {{"description", "Name of the group; its checks are <group>.<target>."},
                         {"type", "string"},
                         {"pattern", "^[A-Za-z0-9_-]{1,32}$"}};
  properties["type"] = {{"const", type.section.name}};
  properties["labels"] = {
      {"description", "Prometheus labels of the group's checks (vitals_target_info)."},
      {"type", "object"},
      {"propertyNames", {{"pattern", "^[a-zA-Z_][a-zA-Z0-9_]*$"}}},
      {"additionalProperties", {{"type", "string"}}}};
  properties["targets"] = {
      {"description", "URLs, host:ports, hosts or paths (the type's target key), or mappings."},
      {"type", "array"},
      {"minItems", 1},
      {"items", {{"anyOf", {{{"type", "string"}}, target}}}}};
  s["properties"] = properties;
  s["required"] = {"group", "type", "targets"};
  s["additionalProperties"] = false;
  return s;
}

std::string md_escape(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string kind_text(const key_spec& k) {
  std::string t;
  switch (k.kind) {
    case value_kind::string:
      t = "string";
      break;
    case value_kind::integer:
      t = "integer";
      break;
    case value_kind::number:
      t = "number";
      break;
    case value_kind::boolean:
      t = "bool";
      break;
    case value_kind::duration:
      t = "duration";
      break;
    case value_kind::string_list:
      t = "list of strings";
      break;
    case value_kind::integer_list:
      t = "list of integers";
      break;
    case value_kind::string_map:
      t = "map";
      break;
  }
  if (!k.choices.empty()) {
    t += ": ";
    for (std::size_t i = 0; i < k.choices.size(); ++i)
      t += (i == 0 ? "`" : ", `") + k.choices[i] + "`";
  }
  if (k.flags.min && k.flags.max) {
    t += " (" + detail::to_text(value{*k.flags.min}) + "–" + detail::to_text(value{*k.flags.max}) +
         ")";
  } else if (k.flags.min) {
    t += " (≥ " + detail::to_text(value{*k.flags.min}) + ")";
  }
  return t;
}

void md_table(std::string& out, const std::string& prefix, const section_spec& section) {
  out += "| key | type | default | description |\n|---|---|---|---|\n";
  for (const auto& k : section.keys) {
    std::string def = k.flags.required   ? "**required**"
                      : shown_default(k) ? "`" + detail::to_text(*k.default_value) + "`"
                                         : "";
    out += "| `" + prefix + k.name + "` | " + md_escape(kind_text(k)) + " | " + def + " | " +
           md_escape(k.doc) + " |\n";
    if (k.flags.secret && k.kind == value_kind::string) {
      out += "| `" + prefix + k.name + "_file` | path | | file holding `" + k.name +
             "` (trailing newline removed; unreadable → error) |\n";
    }
  }
}

}  // namespace

std::string json_schema() {
  json root = {
      {"$schema", "https://json-schema.org/draft/2020-12/schema"},
      {"title", "vitalsd configuration"},
      {"description",
       "Generated by vitalsd --print-schema from the per-type schemas; do not edit by hand."},
      {"type", "object"},
  };
  json properties = json::object();
  for (const auto& k : detail::top_level()) {
    if (k.shape == detail::section_shape::scalar) {
      json& p = properties[k.name] = {{"description", k.doc}, {"type", "string"}};
      if (k.expects == "\"address:port\"") {
        // `listen` and `metrics_listen`.
        p["pattern"] = "^(\\[[0-9A-Fa-f:.]+\\]|[^:\\[\\]]+):[0-9]{1,5}$|\\$\\{";
        if (k.name == "listen") p["default"] = "127.0.0.1:8081";
      } else {
        p["minLength"] = 1;
      }
    } else if (k.shape == detail::section_shape::mapping_list) {
      properties[k.name] = {{"description", k.doc},
                            {"type", "array"},
                            {"items", section_schema(*k.section, k.children)}};
    } else if (k.shape == detail::section_shape::target_groups) {
      json variants = json::array();
      for (const auto& t : detail::types().all()) variants.push_back(group_schema(t));
      properties[k.name] = {
          {"description", k.doc}, {"type", "array"}, {"items", {{"oneOf", variants}}}};
    } else if (k.name == "checks") {
      json variants = json::array();
      for (const auto& t : detail::types().all()) variants.push_back(check_schema(t));
      properties["checks"] = {
          {"description", k.doc}, {"type", "array"}, {"items", {{"oneOf", variants}}}};
    } else {
      properties[k.name] = section_schema(*k.section, k.children);
    }
  }
  root["properties"] = properties;
  root["additionalProperties"] = false;
  json check_keys = json::object();
  add_keys(check_keys, detail::check_common_section());
  root["$defs"] = {
      {"env",
       {{"description", "A ${VAR} or ${VAR:-default} reference, resolved when loading."},
        {"type", "string"},
        {"pattern", "\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}"}}},
      {"duration",
       {{"description", "A duration: \"250ms\", \"5s\", \"1m30s\", \"2h\", \"14d\" or 0."},
        {"anyOf",
         {{{"type", "string"}, {"pattern", "^(0|([0-9]+(\\.[0-9]+)?(ms|s|m|h|d))+)$"}},
          {{"const", 0}}}}}},
      {"check_keys", check_keys},
  };
  return root.dump(2) + "\n";
}

namespace detail {

std::string reference_markdown() {
  std::string out;
  for (const auto& k : top_level()) {
    out += "### `" + k.name + "`\n\n" + k.doc + "\n\n";
    if (k.name == "listen") {
      out += "Default: `127.0.0.1:8081`.\n\n";
    } else if (k.shape == section_shape::scalar) {
      out += "Default: none.\n\n";
    } else if (k.shape == section_shape::mapping_list) {
      out += "A list of mappings, each with these keys:\n\n";
      md_table(out, k.name + "[].", *k.section);
      out += "\n";
    } else if (k.shape == section_shape::target_groups) {
      out +=
          "A list of groups. Keys of a group (any other key is a key of its type or a key "
          "every check accepts, shared by its targets; a target given as a mapping may set "
          "them too):\n\n"
          "| key | type | default | description |\n|---|---|---|---|\n"
          "| `targets[].group` | string (1–32 of A-Z a-z 0-9 _ -) | **required** | The "
          "group's name: its checks are named `<group>.<target>`. |\n"
          "| `targets[].type` | string | **required** | The check type of every target. |\n"
          "| `targets[].labels` | map | | Prometheus labels of the group's checks, in "
          "`vitals_target_info`. |\n"
          "| `targets[].targets` | list of strings or mappings | **required** | A string sets "
          "the type's `url`, `address`, `host` (`host:port` sets both) or `path`; a mapping "
          "sets any keys, `name` included. |\n\n";
    } else if (k.name == "checks") {
      out += "Keys every check accepts (`name` and `type` are required):\n\n";
      md_table(out, "", check_common_section());
      out += "\n";
      for (const auto& t : types().all()) {
        out += "#### type `" + t.section.name + "`\n\n" + t.section.doc + "\n\n";
        if (t.section.keys.empty()) {
          out += "No keys of its own.\n\n";
        } else {
          md_table(out, "", t.section);
          out += "\n";
        }
      }
    } else {
      // A section may be only a parent of its children (`storage:` holds `sqlite:`).
      bool first = k.section->keys.empty();
      if (!first) md_table(out, k.name + ".", *k.section);
      for (const auto& [name, child] : k.children) {
        if (!first) out += "\n";
        first = false;
        md_table(out, k.name + "." + name + ".", *child);
      }
      out += "\n";
    }
  }
  return out;
}

}  // namespace detail
}  // namespace vitals::config
