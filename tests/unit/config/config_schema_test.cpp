// The JSON Schema is generated from the same specs as the loader: the published file must equal
// it, every example must validate against it (and load), and docs/config.md must carry the
// generated key reference.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "config/reference.hpp"
#include "vitals/config.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string read(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const fs::path source_dir{VITALS_SOURCE_DIR};

/// YAML → JSON with YAML 1.2 core-schema scalars (quoted scalars stay strings).
json to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) o[kv.first.Scalar()] = to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& item : n) a.push_back(to_json(item));
      return a;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
      if (s == "null" || s == "~") return nullptr;
      if (std::regex_match(s, std::regex{"[-+]?[0-9]+"})) return std::stoll(s);
      if (std::regex_match(s, std::regex{"[-+]?([0-9]+\\.[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?"})) {
        return std::stod(s);
      }
      return s;
    }
    default:
      return nullptr;
  }
}

/// A JSON Schema validator for the subset json_schema() emits: type, enum, const, pattern,
/// minimum/maximum, properties, additionalProperties, required, items, anyOf, oneOf, $ref.
class validator {
 public:
  validator(const json& root, std::vector<std::string>& errors) : root_(root), errors_(errors) {}

  bool validate(const json& schema, const json& v, const std::string& at) {
    const auto before = errors_.size();
    if (schema.contains("$ref")) {
      const std::string ref = schema["$ref"];
      EXPECT_EQ(ref.rfind("#/", 0), 0U) << ref;
      validate(root_.at(json::json_pointer{ref.substr(1)}), v, at);
    }
    if (schema.contains("type") && !type_ok(schema["type"], v)) {
      fail(at, "type " + schema["type"].dump() + " expected, got " + v.dump());
      return false;
    }
    if (schema.contains("const") && v != schema["const"]) fail(at, "const mismatch: " + v.dump());
    if (schema.contains("enum")) {
      bool found = false;
      for (const auto& e : schema["enum"]) found = found || e == v;
      if (!found) fail(at, "not in enum: " + v.dump());
    }
    if (schema.contains("pattern") && v.is_string() &&
        !std::regex_search(v.get<std::string>(),
                           std::regex{schema["pattern"].get<std::string>()})) {
      fail(at, "pattern mismatch: " + v.dump());
    }
    if (schema.contains("minimum") && v.is_number() && v.get<double>() < schema["minimum"]) {
      fail(at, "below minimum");
    }
    if (schema.contains("maximum") && v.is_number() && v.get<double>() > schema["maximum"]) {
      fail(at, "above maximum");
    }
    if (v.is_object()) {
      const json props = schema.value("properties", json::object());
      for (const auto& [k, val] : v.items()) {
        if (props.contains(k)) {
          validate(props[k], val, at + "." + k);
        } else if (schema.contains("additionalProperties")) {
          const auto& ap = schema["additionalProperties"];
          if (ap.is_boolean() && !ap.get<bool>()) fail(at, "additional property " + k);
          if (ap.is_object()) validate(ap, val, at + "." + k);
        }
      }
      for (const auto& r : schema.value("required", json::array())) {
        if (!v.contains(r.get<std::string>())) fail(at, "missing " + r.dump());
      }
    }
    if (v.is_array() && schema.contains("minItems") && v.size() < schema["minItems"]) {
      fail(at, "fewer than " + schema["minItems"].dump() + " items");
    }
    if (v.is_array() && schema.contains("items")) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        validate(schema["items"], v[i], at + "[" + std::to_string(i) + "]");
      }
    }
    for (const char* comb : {"anyOf", "oneOf"}) {
      if (!schema.contains(comb)) continue;
      int matches = 0;
      for (const auto& sub : schema[comb]) {
        std::vector<std::string> scratch;
        validator inner{root_, scratch};
        if (inner.validate(sub, v, at)) ++matches;
      }
      const bool ok = std::string{comb} == "anyOf" ? matches >= 1 : matches == 1;
      if (!ok)
        fail(at, std::string{comb} + " matched " + std::to_string(matches) + ": " + v.dump());
    }
    return errors_.size() == before;
  }

 private:
  static bool type_ok(const json& t, const json& v) {
    if (t.is_array()) {
      for (const auto& x : t) {
        if (type_ok(x, v)) return true;
      }
      return false;
    }
    const auto s = t.get<std::string>();
    if (s == "object") return v.is_object();
    if (s == "array") return v.is_array();
    if (s == "string") return v.is_string();
    if (s == "integer") return v.is_number_integer();
    if (s == "number") return v.is_number();
    if (s == "boolean") return v.is_boolean();
    return false;
  }
  void fail(const std::string& at, const std::string& what) { errors_.push_back(at + ": " + what); }
  const json& root_;
  std::vector<std::string>& errors_;
};

std::vector<std::string> schema_errors(const std::string& yaml) {
  const json schema = json::parse(vitals::config::json_schema());
  std::vector<std::string> errors;
  validator{schema, errors}.validate(schema, to_json(YAML::Load(yaml)), "$");
  return errors;
}

TEST(config_schema, published_schema_equals_the_generated_one) {
  EXPECT_EQ(read(source_dir / "docs/vitals.schema.json"), vitals::config::json_schema())
      << "regenerate with: vitalsd --print-schema > docs/vitals.schema.json";
}

TEST(config_schema, docs_carry_the_generated_reference) {
  const std::string doc = read(source_dir / "docs/config.md");
  const std::string begin = "<!-- BEGIN GENERATED REFERENCE (vitalsd --print-reference) -->\n";
  const std::string end = "<!-- END GENERATED REFERENCE -->";
  const auto b = doc.find(begin);
  const auto e = doc.find(end);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  EXPECT_EQ(doc.substr(b + begin.size(), e - b - begin.size()),
            vitals::config::detail::reference_markdown());
}

TEST(config_schema, schema_lists_every_type) {
  const json schema = json::parse(vitals::config::json_schema());
  const auto& variants = schema["properties"]["checks"]["items"]["oneOf"];
  EXPECT_EQ(variants.size(), vitals::config::check_types().size());
  EXPECT_GE(variants.size(), 4U);
}

TEST(config_schema, every_example_validates_and_loads) {
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator(source_dir / "examples/configs")) {
    if (entry.path().extension() != ".yaml") continue;
    ++n;
    SCOPED_TRACE(entry.path().string());
    const std::string text = read(entry.path());
    // A build may leave out check types (e.g. VITALS_BUILD_CHECKS parts): such examples can't
    // load here, and the schema rightly refuses them.
    const auto types = vitals::config::check_types();
    bool all_built = true;
    for (const auto& c : YAML::Load(text)["checks"]) {
      const auto t = c["type"].as<std::string>();
      all_built = all_built && std::find(types.begin(), types.end(), t) != types.end();
    }
    if (!all_built) {
      std::printf("[ skipped  ] %s: uses a check type not built here\n", entry.path().c_str());
      continue;
    }
    EXPECT_EQ(schema_errors(text), std::vector<std::string>{});
    EXPECT_NO_THROW((void)vitals::config::load_file(entry.path().string()));
  }
  EXPECT_GE(n, 4U);
}

TEST(config_schema, embedded_default_validates) {
  EXPECT_EQ(schema_errors(std::string{vitals::config::embedded_default()}),
            std::vector<std::string>{});
}

TEST(config_schema, schema_rejects_what_the_loader_rejects) {
  // The validator is not vacuous: typos, wrong types and bad enums fail it.
  EXPECT_FALSE(schema_errors("checks: [{name: m, type: memory, intervall: 5s}]\n").empty());
  EXPECT_FALSE(schema_errors("checks: [{name: m, type: memory, interval: 5}]\n").empty());
  EXPECT_FALSE(schema_errors("log: {format: xml}\n").empty());
  EXPECT_FALSE(schema_errors("checks: [{name: m, type: nosuch}]\n").empty());
  EXPECT_FALSE(schema_errors("checks: [{name: hb, type: file}]\n").empty());
  EXPECT_TRUE(schema_errors("checks: [{name: m, type: memory, interval: \"${I:-5s}\"}]\n").empty());
  // Target groups: a group's keys are its type's and the common ones; so are a target's.
  EXPECT_TRUE(schema_errors("targets: [{group: g, type: tcp, labels: {team: a}, interval: 5s,\n"
                            "           targets: [\"h:1\", {name: x, host: h, port: 2}]}]\n")
                  .empty());
  EXPECT_FALSE(
      schema_errors("targets: [{group: g, type: tcp, intervall: 5s, targets: [h:1]}]\n").empty());
  EXPECT_FALSE(schema_errors("targets: [{group: g, type: tcp, targets: [{hots: h}]}]\n").empty());
  EXPECT_FALSE(schema_errors("targets: [{group: g, type: tcp, targets: []}]\n").empty());
  EXPECT_FALSE(schema_errors("targets: [{group: a.b, type: tcp, targets: [h:1]}]\n").empty());
}

}  // namespace
