#include "probe/url.hpp"

#include <cstring>

#include "base/text.hpp"
#include "base/url_split.hpp"
#include "probe/sv.hpp"

namespace vitals::cli {

namespace {

bool valid_host_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

bool valid_ipv6_char(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
         c == '.' || c == '%';
}

template <class Pred>
bool all_of(std::string_view s, Pred ok) noexcept {
  for (const char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}

// base::split_url with the probe's messages, for both schemes.
bool split(std::string_view text, base::url_split& s, const char*& error,
           const char* no_scheme) noexcept {
  using base::url_split_error;
  s = base::split_url(text);
  switch (s.error) {
    case url_split_error::none:
      return true;
    case url_split_error::no_scheme:
      error = no_scheme;
      return false;
    case url_split_error::unterminated_bracket:
      error = "unterminated IPv6 literal";
      return false;
    case url_split_error::after_bracket:
      error = "garbage after IPv6 literal";
      return false;
  }
  return false;
}

}  // namespace

bool parse_http_url(std::string_view text, url_parts& out, const char*& error) noexcept {
  out = {};
  base::url_split s;
  if (!split(text, s, error, "not a URL (expected http://host[:port]/path)")) return false;
  if (base::iequals(s.scheme, "http")) {
    out.tls = false;
    out.port = 80;
  } else if (base::iequals(s.scheme, "https")) {
    out.tls = true;
    out.port = 443;
  } else {
    error = "unsupported scheme (use http:// or https://)";
    return false;
  }
  // Path and query; the fragment is dropped. "http://h?x" keeps "?x": the caller prefixes the
  // slash when the target starts with '?'.
  const std::string_view target = sub(s.rest, 0, s.rest.find('#'));
  out.target = target.empty() ? std::string_view{"/"} : target;
  for (const char c : out.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      error = "URL path contains spaces or control characters";
      return false;
    }
  }
  out.userinfo = s.userinfo;
  out.host = s.host;
  out.explicit_port = s.has_port;
  if (s.bracketed ? !all_of(out.host, valid_ipv6_char) : !all_of(out.host, valid_host_char)) {
    error = s.bracketed ? "invalid IPv6 literal" : "invalid character in host name";
    return false;
  }
  if (out.host.empty()) {
    error = "missing host";
    return false;
  }
  if (out.explicit_port) {
    switch (base::parse_port(s.port, out.port)) {
      case base::port_error::none:
        break;
      case base::port_error::invalid:
        error = "invalid port";
        return false;
      case base::port_error::out_of_range:
        error = "port out of range";
        return false;
    }
  }
  return true;
}

bool is_grpc_url(std::string_view text) noexcept {
  return text.size() >= 7 && base::iequals(sub(text, 0, 7), "grpc://");
}

bool parse_grpc_url(std::string_view text, grpc_url_parts& out, const char*& error) noexcept {
  out = {};
  base::url_split s;
  if (!split(text, s, error, "not a URL (expected grpc://host:port[/service])")) return false;
  if (!base::iequals(s.scheme, "grpc")) {
    error = "unsupported scheme (expected grpc://host:port[/service])";
    return false;
  }
  if (s.has_userinfo) {
    error = "grpc:// URLs take no user or password (use --rpc-header for credentials)";
    return false;
  }
  if (s.has_query || s.has_fragment) {
    error = "grpc:// URLs take no query or fragment (grpc://host:port[/service])";
    return false;
  }
  out.host = s.host;
  out.bracketed = s.bracketed;
  if (s.bracketed ? !all_of(out.host, valid_ipv6_char) : !all_of(out.host, valid_host_char)) {
    error = s.bracketed ? "invalid IPv6 literal" : "invalid character in host name";
    return false;
  }
  if (out.host.empty()) {
    error = "missing host";
    return false;
  }
  if (!s.has_port) {
    error = "missing port (gRPC has no default port: grpc://host:port)";
    return false;
  }
  switch (base::parse_port(s.port, out.port)) {
    case base::port_error::none:
      break;
    case base::port_error::invalid:
      error = "invalid port";
      return false;
    case base::port_error::out_of_range:
      error = "port out of range";
      return false;
  }
  out.service = sub(s.path, 1);
  for (const char c : out.service) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '/' || c == '%') {
      error = "invalid service name in the URL path (grpc://host:port/service.Name)";
      return false;
    }
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
