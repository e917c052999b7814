#include "target.hpp"

namespace vitals::http::detail {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_false_word(std::string_view v) noexcept {
  return v == "0" || v == "false" || v == "no" || v == "off";
}

}  // namespace

std::optional<std::string_view> decode_escapes(std::string_view in, std::string& storage,
                                               bool plus_is_space) {
  storage.clear();
  storage.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      storage.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      storage.push_back(' ');
    } else {
      storage.push_back(c);
    }
  }
  return std::string_view{storage};
}

std::optional<query_options> parse_query(std::string_view query) {
  query_options q;
  std::string key_storage;
  std::string value_storage;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    const auto key = percent_decode(part.substr(0, eq), key_storage, true);
    if (!key) return std::nullopt;
    const bool has_value = eq != std::string_view::npos;
    const auto value =
        has_value ? percent_decode(part.substr(eq + 1), value_storage, true) : std::string_view{};
    if (!value) return std::nullopt;
    if (*key == "verbose") {
      q.verbose = !has_value || !is_false_word(*value);
    } else if (*key == "exclude" && !value->empty()) {
      q.exclude.emplace_back(*value);
    }
  }
  return q;
}

}  // namespace vitals::http::detail
