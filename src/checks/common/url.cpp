#include "common/url.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "base/text.hpp"
#include "base/url_split.hpp"
#include "vitals/redact.hpp"

namespace vitals::checks::detail {
namespace {

[[noreturn]] void invalid(std::string_view text, std::string_view why) {
  throw std::invalid_argument("invalid URL \"" + mask_userinfo(text) + "\": " + std::string(why));
}

}  // namespace

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  if (!base::percent_decode_into(text, out, plus_is_space)) {
    throw std::invalid_argument("malformed percent-escape");
  }
  return out;
}

std::string host_port(std::string_view host, std::uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  out.append(":").append(std::to_string(port));
  return out;
}

std::string mask_userinfo(std::string_view text) {
  // Without a scheme ("user:pw@host") the userinfo starts at the beginning. It ends at the last
  // '@' of the whole text, not of the authority: a password pasted with a raw '/', '?' or '#'
  // ("u:pa/ss@h") makes the authority end inside it, and its rest must not show.
  const auto scheme_end = text.find("://");
  const auto auth_begin = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const auto at = text.rfind('@');
  if (at == std::string_view::npos || at < auth_begin) return std::string(text);
  std::string out(text.substr(0, auth_begin));
  out.append("***").append(text.substr(at));
  return out;
}

bool url::host_is_ipv6() const noexcept { return host.find(':') != std::string::npos; }

std::string url::authority() const {
  if (port == 0) return host_is_ipv6() ? "[" + host + "]" : host;
  return host_port(host, port);
}

std::string url::target() const {
  std::string out = path.empty() ? "/" : path;
  if (!query.empty()) out.append("?").append(query);
  return out;
}

std::vector<std::pair<std::string, std::string>> url::query_params() const {
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view rest = query;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view item = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(percent_decode(item, true), std::string{});
    } else {
      out.emplace_back(percent_decode(item.substr(0, eq), true),
                       percent_decode(item.substr(eq + 1), true));
    }
  }
  return out;
}

std::string url::redacted() const {
  std::string out = scheme + "://";
  if (!user.empty() || has_password) {
    out.append(user);
    if (has_password) out.append(":***");
    out.append("@");
  }
  out.append(authority()).append(path);
  if (!query.empty()) {
    // Mask values of secret-looking parameters (?password=..., ?token=...) without decoding the
    // rest, so the redacted form stays as close to the original as possible.
    std::string q;
    std::string_view rest = query;
    while (true) {
      const auto amp = rest.find('&');
      const std::string_view item = rest.substr(0, amp);
      const auto eq = item.find('=');
      if (eq != std::string_view::npos && vitals::redactor::is_secret_key(item.substr(0, eq))) {
        q.append(item.substr(0, eq)).append("=***");
      } else {
        q.append(item);
      }
      if (amp == std::string_view::npos) break;
      q.push_back('&');
      rest = rest.substr(amp + 1);
    }
    out.append("?").append(q);
  }
  if (!fragment.empty()) out.append("#").append(fragment);
  return out;
}

namespace {

std::string decoded(std::string_view text, std::string_view part, const char* why) {
  try {
    return percent_decode(part);
  } catch (const std::invalid_argument&) {
    invalid(text, why);
  }
}

}  // namespace

url parse_url(std::string_view text) {
  const base::url_split s = base::split_url(text);
  switch (s.error) {
    case base::url_split_error::none:
      break;
    case base::url_split_error::no_scheme:
      invalid(text, "missing scheme://");
    case base::url_split_error::unterminated_bracket:
      invalid(text, "unterminated '[' in IPv6 host");
    case base::url_split_error::after_bracket:
      invalid(text, "unexpected text after IPv6 host");
  }
  if (!std::isalpha(static_cast<unsigned char>(s.scheme[0])) ||
      !std::all_of(s.scheme.begin(), s.scheme.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '+' || c == '-' || c == '.';
      })) {
    invalid(text, "bad scheme");
  }
  url u;
  u.scheme = base::to_lower(s.scheme);
  if (s.has_userinfo) {
    const auto colon = s.userinfo.find(':');
    const char* why = "malformed percent-escape in userinfo";
    u.user = decoded(text, s.userinfo.substr(0, colon), why);
    if (colon != std::string_view::npos) {
      u.has_password = true;
      u.password = decoded(text, s.userinfo.substr(colon + 1), why);
    }
  }
  if (s.bracketed && s.host.find(':') == std::string_view::npos) {
    invalid(text, "bracketed host is not IPv6");
  }
  // Zone ids of IPv6 literals are written %25eth0.
  u.host = decoded(text, s.host, "malformed percent-escape in host");
  if (!s.bracketed && u.host.find_first_of(" \t\r\n/\\") != std::string::npos) {
    invalid(text, "bad host");
  }
  if (!s.port.empty() && base::parse_port(s.port, u.port) != base::port_error::none) {
    invalid(text, "port must be a number in 1-65535");
  }
  // Userinfo, and another '@' in the path: a password with a raw '@' and '/' ("u:p@ss/w@h")
  // cut the authority short. Refused (the message masks up to that last '@'), or the rest of
  // the password would be taken for the host and shown as such. (A raw '/', '?' or '#' alone
  // leaves no '@' in the authority: the port check above refuses those.)
  if (s.has_userinfo && s.path.find('@') != std::string_view::npos) {
    invalid(text, "'@' in the path: percent-encode '/' and '@' in the password (%2F, %40)");
  }
  u.fragment = std::string(s.fragment);
  u.query = std::string(s.query);
  u.path = std::string(s.path);
  if (u.path.find_first_of(" \t\r\n") != std::string::npos ||
      u.query.find_first_of(" \t\r\n") != std::string::npos) {
    invalid(text, "whitespace in path or query (percent-encode it)");
  }
  return u;
}

std::pair<std::string, std::uint16_t> host_port_of(std::string_view text, std::string_view scheme) {
  const auto expected = [&](std::string_view why) {
    return std::invalid_argument(mask_userinfo(text) + ": expected " + std::string{scheme} +
                                 "://host:port (" + std::string{why} + ")");
  };
  url u;
  try {
    u = parse_url(text);
  } catch (const std::invalid_argument& e) {
    throw expected(e.what());
  }
  if (u.scheme != scheme) throw expected("scheme is not " + std::string{scheme});
  if (u.host.empty()) throw expected("no host");
  if (u.port == 0) throw expected("no port");
  return {std::move(u.host), u.port};
}

}  // namespace vitals::checks::detail
