#include "probe/url.hpp"

#include <cstring>

#include "probe/sv.hpp"

namespace vitals::cli {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool valid_host_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

}  // namespace

bool parse_http_url(std::string_view text, url_parts& out, const char*& error) noexcept {
  out = {};
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) {
    error = "not a URL (expected http://host[:port]/path)";
    return false;
  }
  const std::string_view scheme = sub(text, 0, sep);
  if (iequals(scheme, "http")) {
    out.tls = false;
    out.port = 80;
  } else if (iequals(scheme, "https")) {
    out.tls = true;
    out.port = 443;
  } else {
    error = "unsupported scheme (use http:// or https://)";
    return false;
  }
  std::string_view rest = sub(text, sep + 3);
  const auto path_start = rest.find_first_of("/?#");
  std::string_view authority = sub(rest, 0, path_start);
  std::string_view target =
      path_start == std::string_view::npos ? std::string_view{} : sub(rest, path_start);
  if (const auto hash = target.find('#'); hash != std::string_view::npos) {
    target = sub(target, 0, hash);
  }
  if (target.empty() || target.front() != '/') {
    // "http://h?x" → "/?x"; the caller prefixes the slash when the target starts with '?'.
    out.target = target.empty() ? std::string_view{"/"} : target;
  } else {
    out.target = target;
  }
  for (const char c : out.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      error = "URL path contains spaces or control characters";
      return false;
    }
  }
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    out.userinfo = sub(authority, 0, at);
    authority = sub(authority, at + 1);
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unterminated IPv6 literal";
      return false;
    }
    out.host = sub(authority, 1, close - 1);
    const std::string_view after = sub(authority, close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "garbage after IPv6 literal";
        return false;
      }
      port_text = sub(after, 1);
      out.explicit_port = true;
    }
    for (const char c : out.host) {
      const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                      c == ':' || c == '.' || c == '%';
      if (!ok) {
        error = "invalid IPv6 literal";
        return false;
      }
    }
  } else {
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      out.host = sub(authority, 0, colon);
      port_text = sub(authority, colon + 1);
      out.explicit_port = true;
    } else {
      out.host = authority;
    }
    for (const char c : out.host) {
      if (!valid_host_char(c)) {
        error = "invalid character in host name";
        return false;
      }
    }
  }
  if (out.host.empty()) {
    error = "missing host";
    return false;
  }
  if (out.explicit_port) {
    if (port_text.empty() || port_text.size() > 5) {
      error = "invalid port";
      return false;
    }
    unsigned value = 0;
    for (const char c : port_text) {
      if (c < '0' || c > '9') {
        error = "invalid port";
        return false;
      }
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) {
      error = "port out of range";
      return false;
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  return true;
}

std::size_t redact_url_into(std::string_view text, char* buf, std::size_t cap) noexcept {
  if (cap == 0) return 0;
  std::size_t n = 0;
  auto put = [&](std::string_view s) {
    for (const char c : s) {
      if (n + 1 >= cap) return;
      buf[n++] = c;
    }
  };
  const auto sep = text.find("://");
  const auto authority_end =
      sep == std::string_view::npos ? std::string_view::npos : text.find_first_of("/?#", sep + 3);
  const std::string_view authority =
      sep == std::string_view::npos
          ? std::string_view{}
          : sub(text, sep + 3,
                authority_end == std::string_view::npos ? std::string_view::npos
                                                        : authority_end - sep - 3);
  const auto at = authority.rfind('@');
  if (sep == std::string_view::npos || at == std::string_view::npos) {
    put(text);
  } else {
    const std::string_view userinfo = sub(authority, 0, at);
    const auto colon = userinfo.find(':');
    put(sub(text, 0, sep + 3));
    if (colon == std::string_view::npos) {
      put(userinfo);
    } else {
      put(sub(userinfo, 0, colon));
      put(":***");
    }
    put(sub(text, sep + 3 + at));
  }
  buf[n] = '\0';
  return n;
}

}  // namespace vitals::cli
