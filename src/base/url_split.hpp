#pragma once
// The one splitter of absolute URLs (`scheme://userinfo@host:port/path?query#fragment`) into
// views: the checks' parser (which decodes, lower-cases and throws) and `vitals probe`'s (which
// does neither, built without exceptions) each put their own rules and messages on top of it.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

namespace vitals::base {

enum class url_split_error : std::uint8_t {
  none,
  no_scheme,             ///< no "://", or nothing before it
  unterminated_bracket,  ///< "[::1" without ']'
  after_bracket,         ///< "[::1]x": something other than ":port" after the ']'
};

/// Views into the split text; nothing is decoded or validated beyond the structure.
struct url_split {
  std::string_view scheme;     ///< as written, before "://"
  std::string_view authority;  ///< between "://" and the first '/', '?' or '#'
  std::string_view userinfo;   ///< before the authority's last '@' (passwords hold raw '@'s)
  bool has_userinfo = false;
  std::string_view host;  ///< without the brackets of an IPv6 literal
  bool bracketed = false;
  std::string_view port;  ///< after the ':' that follows the host (may be empty)
  bool has_port = false;
  std::string_view rest;   ///< everything after the authority: path, '?query', '#fragment'
  std::string_view path;   ///< "" or starts with '/'
  std::string_view query;  ///< without the '?'
  bool has_query = false;
  std::string_view fragment;  ///< without the '#'
  bool has_fragment = false;
  url_split_error error = url_split_error::none;
};

/// `s.substr(pos, n)` without its out_of_range throw (positions past the end clamp to it):
/// `vitals probe` is built without exceptions, and a throw site would pull libstdc++ into it.
[[nodiscard]] constexpr std::string_view clamped_sub(
    std::string_view s, std::size_t pos, std::size_t n = std::string_view::npos) noexcept {
  pos = std::min(pos, s.size());
  return {s.data() + pos, std::min(n, s.size() - pos)};
}

[[nodiscard]] constexpr url_split split_url(std::string_view text) noexcept {
  url_split u;
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) {
    u.error = url_split_error::no_scheme;
    return u;
  }
  u.scheme = clamped_sub(text, 0, scheme_end);
  const std::size_t begin = scheme_end + 3;
  const std::size_t end = std::min(text.find_first_of("/?#", begin), text.size());
  u.authority = clamped_sub(text, begin, end - begin);
  u.rest = clamped_sub(text, end);
  std::string_view hostport = u.authority;
  if (const auto at = hostport.rfind('@'); at != std::string_view::npos) {
    u.userinfo = clamped_sub(hostport, 0, at);
    u.has_userinfo = true;
    hostport = clamped_sub(hostport, at + 1);
  }
  if (!hostport.empty() && hostport.front() == '[') {
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) {
      u.error = url_split_error::unterminated_bracket;
      return u;
    }
    u.bracketed = true;
    u.host = clamped_sub(hostport, 1, close - 1);
    const std::string_view after = clamped_sub(hostport, close + 1);
    if (!after.empty() && after.front() != ':') {
      u.error = url_split_error::after_bracket;
      return u;
    }
    u.has_port = !after.empty();
    if (u.has_port) u.port = clamped_sub(after, 1);
  } else {
    const auto colon = hostport.find(':');
    u.host = clamped_sub(hostport, 0, colon);
    u.has_port = colon != std::string_view::npos;
    if (u.has_port) u.port = clamped_sub(hostport, colon + 1);
  }
  std::string_view rest = u.rest;
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) {
    u.fragment = clamped_sub(rest, hash + 1);
    u.has_fragment = true;
    rest = clamped_sub(rest, 0, hash);
  }
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    u.query = clamped_sub(rest, q + 1);
    u.has_query = true;
    rest = clamped_sub(rest, 0, q);
  }
  u.path = rest;
  return u;
}

/// The value of a hex digit, or -1.
[[nodiscard]] constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Decodes %XX escapes of `in` (and '+' as a space if `plus_is_space`) into `out` (cleared
/// first). False, with `out` unspecified, on a malformed escape.
[[nodiscard]] inline bool percent_decode_into(std::string_view in, std::string& out,
                                              bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

enum class port_error : std::uint8_t { none, invalid, out_of_range };

/// A port written as 1 to 5 decimal digits, within 1-65535.
[[nodiscard]] constexpr port_error parse_port(std::string_view text, std::uint16_t& out) noexcept {
  if (text.empty() || text.size() > 5) return port_error::invalid;
  unsigned value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return port_error::invalid;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return port_error::out_of_range;
  out = static_cast<std::uint16_t>(value);
  return port_error::none;
}

}  // namespace vitals::base
