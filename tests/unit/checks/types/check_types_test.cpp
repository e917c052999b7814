// Every type of the list has its descriptor, header, docs page and docs index row, and nothing
// else claims to be a type: docs/checks/README.md's table is checked against the list here.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "checks/types.hpp"
#include "vitals/config.hpp"

namespace vitals::checks {
namespace {

namespace fs = std::filesystem;
const fs::path source_dir{VITALS_SOURCE_DIR};

std::string read(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The lines of types.def, as CMake reads them.
std::vector<std::string> listed_types() {
  std::vector<std::string> out;
  std::istringstream in{read(source_dir / "src/checks/types.def")};
  for (std::string line; std::getline(in, line);) {
    const std::string prefix = "VITALS_CHECK_TYPE(";
    if (!line.starts_with(prefix)) continue;
    out.push_back(line.substr(prefix.size(), line.find(',') - prefix.size()));
  }
  return out;
}

// docs/checks/README.md's index: type → the row's cells.
std::map<std::string, std::vector<std::string>> docs_index() {
  std::map<std::string, std::vector<std::string>> rows;
  std::istringstream in{read(source_dir / "docs/checks/README.md")};
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("| `")) continue;
    std::vector<std::string> cells;
    std::size_t from = 1;
    for (auto bar = line.find('|', from); bar != std::string::npos; bar = line.find('|', from)) {
      std::string cell = line.substr(from, bar - from);
      cell.erase(0, cell.find_first_not_of(' '));
      cell.erase(cell.find_last_not_of(' ') + 1);
      cells.push_back(cell);
      from = bar + 1;
    }
    const std::string type = cells.at(0).substr(1, cells.at(0).size() - 2);  // `type`
    EXPECT_TRUE(rows.emplace(type, cells).second) << "two rows for " << type;
  }
  return rows;
}

TEST(check_types, the_list_and_the_descriptors_agree) {
  const auto listed = listed_types();
  const auto& types = builtin_types();
  ASSERT_EQ(types.size(), listed.size());
  for (std::size_t i = 0; i < types.size(); ++i) {
    EXPECT_EQ(types[i].name(), listed[i]);
    EXPECT_FALSE(types[i].summary().empty()) << listed[i];
  }
  // The config layer registers exactly these.
  const std::set<std::string> names(listed.begin(), listed.end());
  const auto registered = vitals::config::check_types();
  EXPECT_EQ(std::set<std::string>(registered.begin(), registered.end()), names);
}

TEST(check_types, every_type_has_its_files) {
  for (const auto& t : builtin_types()) {
    const auto& n = t.name();
    EXPECT_TRUE(fs::exists(source_dir / "include/vitals/checks" / (n + ".hpp"))) << n;
    EXPECT_TRUE(fs::exists(source_dir / "src/checks" / n / "CMakeLists.txt")) << n;
    EXPECT_TRUE(fs::exists(source_dir / "src/checks" / n / "descriptor.cpp")) << n;
    EXPECT_TRUE(fs::exists(source_dir / "docs/checks" / (n + ".md"))) << n;
  }
}

TEST(check_types, every_scheme_has_one_type) {
  std::map<std::string, std::string> owner;
  for (const auto& t : builtin_types()) {
    EXPECT_EQ(t.schemes.empty(), !t.from_url) << t.name();
    for (const auto& s : t.schemes) {
      EXPECT_TRUE(owner.emplace(s, t.name()).second) << s << " claimed twice";
      const auto* found = type_for_scheme(s);
      ASSERT_NE(found, nullptr) << s;
      EXPECT_EQ(found->name(), t.name());
      EXPECT_NE(all_schemes(" ").find(s + "://"), std::string::npos) << s;
    }
  }
  EXPECT_EQ(type_for_scheme("gopher"), nullptr);
}

TEST(check_types, the_docs_index_is_the_list) {
  const auto rows = docs_index();
  std::set<std::string> documented;
  for (const auto& [type, cells] : rows) documented.insert(type);
  std::set<std::string> listed;
  for (const auto& t : builtin_types()) listed.insert(t.name());
  EXPECT_EQ(documented, listed) << "docs/checks/README.md's table and src/checks/types.def differ";

  for (const auto& t : builtin_types()) {
    const auto row = rows.find(t.name());
    if (row == rows.end()) continue;
    const auto& cells = row->second;
    ASSERT_EQ(cells.size(), 6U) << t.name();
    // | type | verifies | component type | measurement | dependency | page |
    EXPECT_EQ(cells[4], t.process_local ? "no" : "yes") << t.name() << ": dependency column";
    EXPECT_EQ(cells[5], "[" + t.name() + "](" + t.name() + ".md)") << t.name();
  }
}

// docs/cli.md's table of `vitals wait` URL schemes: every scheme of the list, and no other.
TEST(check_types, the_cli_docs_list_every_scheme) {
  std::set<std::string> documented;
  std::istringstream in{read(source_dir / "docs/cli.md")};
  bool in_table = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("| scheme | check |")) in_table = true;
    if (!in_table) continue;
    if (!line.starts_with("|")) break;
    const std::string first = line.substr(1, line.find('|', 1) - 1);
    for (auto tick = first.find('`'); tick != std::string::npos; tick = first.find('`', tick)) {
      const auto end = first.find('`', tick + 1);
      const std::string item = first.substr(tick + 1, end - tick - 1);
      if (const auto sep = item.find("://"); sep != std::string::npos) {
        documented.insert(item.substr(0, sep));
      }
      tick = end + 1;
    }
  }
  std::set<std::string> schemes;
  for (const auto& t : builtin_types()) schemes.insert(t.schemes.begin(), t.schemes.end());
  EXPECT_EQ(documented, schemes) << "docs/cli.md's scheme table and the descriptors differ";
}

// The descriptor's locality is the check's own (check_traits::dependency, what `live` refuses
// by): every type is made once from a configuration and must agree (the config layer throws
// std::logic_error otherwise).
TEST(check_types, locality_matches_the_checks) {
  for (const auto& t : builtin_types()) {
    std::shared_ptr<vitals::check> c;
    // Plausible values (constructors do not connect): the required keys, then every empty
    // string too (`process` needs one of two keys).
    for (const bool all_strings : {false, true}) {
      auto options = t.spec.make_options();
      for (const auto& k : t.spec.section.keys) {
        const auto* text = k.default_value ? std::get_if<std::string>(&*k.default_value) : nullptr;
        const bool empty_string = k.kind == schema::value_kind::string && text != nullptr &&
                                  text->empty() && k.choices.empty();
        if (!k.flags.required && !(all_strings && empty_string)) continue;
        switch (k.kind) {
          case schema::value_kind::string:
            // A token (push) has a format of its own: 16 or more of [A-Za-z0-9_-].
            k.apply(options.get(),
                    std::string{k.name == "token" ? "plausible_token_01" : "localhost"});
            break;
          case schema::value_kind::integer:
            k.apply(options.get(), std::int64_t{1});
            break;
          case schema::value_kind::duration:
            k.apply(options.get(), std::chrono::milliseconds{1000});
            break;
          case schema::value_kind::string_list:
            k.apply(options.get(), std::vector<std::string>{"true"});
            break;
          default:
            break;
        }
      }
      try {
        c = t.spec.make_check(options.get());
        break;
      } catch (const std::invalid_argument&) {
      }
    }
    for (const char* rest : {"://127.0.0.1:1", "://vitals:x@127.0.0.1:1/db"}) {
      if (c || !t.from_url) break;
      try {
        c = t.from_url(t.schemes.front() + rest);
      } catch (const std::invalid_argument&) {
      }
    }
    if (!c) {
      ADD_FAILURE() << t.name() << ": made neither from its required keys nor from a URL";
      continue;
    }
    EXPECT_EQ(c->traits().dependency, !t.process_local) << t.name();
    EXPECT_EQ(c->traits().type, t.name());
  }
}

}  // namespace
}  // namespace vitals::checks
