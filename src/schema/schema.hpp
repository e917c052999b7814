#pragma once
// The declarative schema every configurable component uses: a list of keys, each bound to a member
// of the component's options struct. Types and defaults are derived from the struct itself
// (`Options{}`), so documentation, JSON Schema and the loader can never disagree with the code.
// Std-only and format-free: the check types describe their options with it (their descriptor,
// src/checks/<type>/descriptor.cpp) and the config layer reads YAML against it.
//
//     schema::type_spec redis_spec() {
//       schema::type_builder<checks::redis_options> b{"redis", "Redis PING."};
//       b.key("url", &checks::redis_options::url, "redis://host:port/db", {.secret = true});
//       return b.build([](checks::redis_options o) { return checks::redis(std::move(o)); });
//     }

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "vitals/check.hpp"

namespace vitals::schema {

enum class value_kind : std::uint8_t {
  string,
  integer,
  number,
  boolean,
  duration,
  string_list,
  integer_list,
  string_map,
};

using string_pairs = std::vector<std::pair<std::string, std::string>>;

/// A validated value, converted from YAML according to its key's kind.
using value = std::variant<std::string, std::int64_t, double, bool, std::chrono::milliseconds,
                           std::vector<std::string>, std::vector<std::int64_t>, string_pairs>;

struct key_flags {
  /// The value is a secret: never echoed in diagnostics; `<key>_file` reads it from a file.
  bool secret = false;
  /// The key must be present.
  bool required = false;
  /// Bounds for integers and numbers (inclusive).
  std::optional<double> min{};
  std::optional<double> max{};
};

struct key_spec {
  std::string name;
  value_kind kind = value_kind::string;
  std::string doc;
  key_flags flags{};
  /// Allowed strings (enums; also each element of a string list).
  std::vector<std::string> choices{};
  /// Default taken from the options struct; nullopt = none worth showing.
  std::optional<value> default_value{};
  /// Stores the value into the options object (type-erased). May throw std::invalid_argument.
  std::function<void(void* options, const value& v)> apply{};
};

/// A named group of keys bound to one options struct.
struct section_spec {
  std::string name;
  std::string doc;
  std::vector<key_spec> keys{};
  [[nodiscard]] const key_spec* find(std::string_view key) const noexcept {
    for (const auto& k : keys) {
      if (k.name == key) return &k;
    }
    return nullptr;
  }
};

/// A check type: its keys plus the factory options → check.
struct type_spec {
  section_spec section;
  std::function<std::shared_ptr<void>()> make_options{};
  std::function<std::shared_ptr<vitals::check>(void* options)> make_check{};
};

/// Check types by name, sorted.
class type_registry {
 public:
  /// Throws std::logic_error on a duplicate type (a build mistake, not a user error).
  void add(type_spec spec);
  [[nodiscard]] const type_spec* find(std::string_view type) const noexcept;
  [[nodiscard]] const std::vector<type_spec>& all() const noexcept { return types_; }

 private:
  std::vector<type_spec> types_{};
};

// ---- mapping C++ member types to value kinds ----------------------------------------------

template <class T>
struct is_duration : std::false_type {};
template <class R, class P>
struct is_duration<std::chrono::duration<R, P>> : std::true_type {};

template <class T>
constexpr std::optional<value_kind> kind_of() {
  if constexpr (std::is_same_v<T, std::string>) {
    return value_kind::string;
  } else if constexpr (std::is_same_v<T, bool>) {
    return value_kind::boolean;
  } else if constexpr (std::is_integral_v<T>) {
    return value_kind::integer;
  } else if constexpr (std::is_floating_point_v<T>) {
    return value_kind::number;
  } else if constexpr (is_duration<T>::value) {
    return value_kind::duration;
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    return value_kind::string_list;
  } else if constexpr (requires { typename T::value_type; } &&
                       std::is_same_v<T, std::vector<typename T::value_type>> &&
                       std::is_integral_v<typename T::value_type>) {
    return value_kind::integer_list;
  } else if constexpr (std::is_same_v<T, string_pairs> ||
                       std::is_same_v<T, std::map<std::string, std::string>>) {
    return value_kind::string_map;
  } else {
    return std::nullopt;
  }
}

/// Converts a member's current value to a `value` (for defaults).
template <class T>
value to_value(const T& v) {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool>) {
    return v;
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<std::int64_t>(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<double>(v);
  } else if constexpr (is_duration<T>::value) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(v);
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    return v;
  } else if constexpr (kind_of<T>() == value_kind::integer_list) {
    return std::vector<std::int64_t>(v.begin(), v.end());
  } else {
    return string_pairs(v.begin(), v.end());
  }
}

/// Stores a `value` into a member of type T (the loader has already checked kind and bounds).
template <class T>
void assign(T& out, const value& v) {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool>) {
    out = std::get<T>(v);
  } else if constexpr (std::is_integral_v<T>) {
    const auto n = std::get<std::int64_t>(v);
    if (n < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
        (n > 0 && static_cast<std::uint64_t>(n) > std::numeric_limits<T>::max())) {
      throw std::invalid_argument("out of range");
    }
    out = static_cast<T>(n);
  } else if constexpr (std::is_floating_point_v<T>) {
    out = static_cast<T>(std::get<double>(v));
  } else if constexpr (is_duration<T>::value) {
    out = std::chrono::duration_cast<T>(std::get<std::chrono::milliseconds>(v));
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    out = std::get<std::vector<std::string>>(v);
  } else if constexpr (kind_of<T>() == value_kind::integer_list) {
    out.clear();
    for (auto n : std::get<std::vector<std::int64_t>>(v)) {
      typename T::value_type x{};
      assign(x, value{n});
      out.push_back(x);
    }
  } else {
    const auto& pairs = std::get<string_pairs>(v);
    out = T(pairs.begin(), pairs.end());
  }
}

/// Builds the keys of one options struct.
template <class Options>
class section_builder {
 public:
  section_builder(std::string name, std::string doc) {
    spec_.name = std::move(name);
    spec_.doc = std::move(doc);
  }

  /// A key bound to a member; kind and default come from the member's type and `Options{}`.
  template <class T>
  section_builder& key(std::string name, T Options::*member, std::string doc,
                       key_flags flags = {}) {
    constexpr auto kind = kind_of<T>();
    static_assert(kind.has_value(), "no value kind for this member type: use custom()");
    key_spec k{.name = std::move(name), .kind = *kind, .doc = std::move(doc), .flags = flags};
    const Options defaults{};
    if (!flags.required) k.default_value = to_value(defaults.*member);
    k.apply = [member](void* o, const value& v) { assign(static_cast<Options*>(o)->*member, v); };
    spec_.keys.push_back(std::move(k));
    return *this;
  }

  /// A string key mapped onto an enum (or any type) by name.
  template <class E>
  section_builder& choice(std::string name, E Options::*member,
                          std::vector<std::pair<std::string, E>> choices, std::string doc) {
    key_spec k{.name = std::move(name), .kind = value_kind::string, .doc = std::move(doc)};
    const Options defaults{};
    for (const auto& [text, e] : choices) {
      k.choices.push_back(text);
      if (e == defaults.*member) k.default_value = text;
    }
    k.apply = [member, choices](void* o, const value& v) {
      const auto& s = std::get<std::string>(v);
      for (const auto& [text, e] : choices) {
        if (text == s) {
          static_cast<Options*>(o)->*member = e;
          return;
        }
      }
    };
    spec_.keys.push_back(std::move(k));
    return *this;
  }

  /// Anything else: a kind, a default for the docs, and a setter.
  section_builder& custom(std::string name, value_kind kind, std::string doc,
                          std::function<void(Options&, const value&)> set,
                          std::optional<value> default_value = std::nullopt, key_flags flags = {},
                          std::vector<std::string> choices = {}) {
    key_spec k{.name = std::move(name),
               .kind = kind,
               .doc = std::move(doc),
               .flags = flags,
               .choices = std::move(choices),
               .default_value = std::move(default_value)};
    k.apply = [set = std::move(set)](void* o, const value& v) {
      set(*static_cast<Options*>(o), v);
    };
    spec_.keys.push_back(std::move(k));
    return *this;
  }

  [[nodiscard]] section_spec section() const { return spec_; }

  /// Finishes a check type with its factory.
  template <class Factory>
  [[nodiscard]] type_spec build(Factory factory) const {
    type_spec t{.section = spec_};
    t.make_options = [] { return std::static_pointer_cast<void>(std::make_shared<Options>()); };
    t.make_check = [factory](void* o) -> std::shared_ptr<vitals::check> {
      return factory(std::move(*static_cast<Options*>(o)));
    };
    return t;
  }

 private:
  section_spec spec_{};
};

/// Check types use this name for their builder.
template <class Options>
using type_builder = section_builder<Options>;

}  // namespace vitals::schema
