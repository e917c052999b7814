#include "vitals/redact.hpp"

#include "base/text.hpp"
#include "base/url_split.hpp"
#include "secret_set.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace vitals {
namespace {

constexpr std::string_view mask = "***";

bool is_alnum(char c) noexcept { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_space(char c) noexcept { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_key_char(char c) noexcept { return is_alnum(c) || c == '_' || c == '-' || c == '.'; }

using base::iequals;

void replace_all(std::string& text, std::string_view needle) {
  if (needle.empty()) return;
  std::size_t pos = 0;
  while ((pos = text.find(needle, pos)) != std::string::npos) {
    text.replace(pos, needle.size(), mask);
    pos += mask.size();
  }
}

// Where the authority part of a URL starting at `from` ends.
std::size_t authority_end(std::string_view t, std::size_t from) {
  std::size_t i = from;
  while (i < t.size() && t[i] != '/' && t[i] != '?' && t[i] != '#' && !is_space(t[i]) &&
         t[i] != '"' && t[i] != '\'' && t[i] != '<' && t[i] != '>')
    ++i;
  return i;
}

std::size_t token_end(std::string_view t, std::size_t from) {
  std::size_t i = from;
  while (i < t.size() && !is_space(t[i]) && t[i] != '"' && t[i] != '\'' && t[i] != '<' &&
         t[i] != '>')
    ++i;
  return i;
}

// scheme://user:password@host → scheme://user:***@host; scheme://token@host → scheme://***@host.
std::string scrub_userinfo(std::string_view t) {
  std::string out;
  std::size_t copied = 0;
  std::size_t pos = 0;
  while ((pos = t.find("://", pos)) != std::string_view::npos) {
    const std::size_t a = pos + 3;
    const std::size_t e = authority_end(t, a);
    std::size_t at = t.substr(a, e - a).rfind('@');
    std::size_t colon = std::string_view::npos;
    if (at != std::string_view::npos) {
      at += a;
      const std::size_t c = t.substr(a, at - a).find(':');
      if (c != std::string_view::npos) colon = c + a;
    } else {
      // An unencoded '/', '?' or '#' in a password ends the authority early; if what looks
      // like "user:" is followed by an '@' later in the same token, mask up to that '@'.
      const std::size_t c = t.substr(a, e - a).find(':');
      const std::size_t te = token_end(t, a);
      const std::size_t later_at = t.substr(a, te - a).rfind('@');
      if (c != std::string_view::npos && later_at != std::string_view::npos && later_at > c) {
        colon = c + a;
        at = later_at + a;
      }
    }
    if (at == std::string_view::npos) {
      pos = a;
      continue;
    }
    const std::size_t secret_from = colon == std::string_view::npos ? a : colon + 1;
    if (at > secret_from) {
      out.append(t.substr(copied, secret_from - copied));
      out.append(mask);
      copied = at;
    }
    pos = at + 1;
  }
  out.append(t.substr(copied));
  return out;
}

bool is_header_secret(std::string_view key) {
  static constexpr std::array<std::string_view, 7> headers = {
      "authorization", "proxy-authorization", "cookie", "set-cookie",
      "x-api-key",     "x-auth-token",        "api-key"};
  return std::any_of(headers.begin(), headers.end(),
                     [&](std::string_view h) { return iequals(key, h); });
}

// password=x, password = 'x y', "token": "x", Authorization: Basic x, ...
std::string scrub_key_values(std::string_view t) {
  std::string out;
  std::size_t copied = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char sep = t[i];
    if (sep != '=' && sep != ':') continue;
    // Find the key before the separator.
    std::size_t k_end = i;
    while (k_end > 0 && t[k_end - 1] == ' ') --k_end;
    bool quoted_key = false;
    if (k_end > 0 && t[k_end - 1] == '"') {
      quoted_key = true;
      --k_end;
    }
    std::size_t k_begin = k_end;
    while (k_begin > 0 && is_key_char(t[k_begin - 1])) --k_begin;
    if (k_begin == k_end) continue;
    if (quoted_key && (k_begin == 0 || t[k_begin - 1] != '"')) continue;
    const std::string_view key = t.substr(k_begin, k_end - k_begin);
    bool to_eol = false;
    if (sep == ':') {
      // Plain "key: value" is too common in prose ("auth: failed"); only quoted (JSON) keys
      // and credential-carrying header names are treated as secrets.
      if (is_header_secret(key)) {
        to_eol = true;
      } else if (!quoted_key || !redactor::is_secret_key(key)) {
        continue;
      }
    } else if (!redactor::is_secret_key(key)) {
      continue;
    }
    if (sep == ':' && i + 2 < t.size() && t[i + 1] == '/' && t[i + 2] == '/') continue;  // URL
    std::size_t v = i + 1;
    while (v < t.size() && t[v] == ' ') ++v;
    if (v >= t.size()) break;
    std::size_t v_end = v;
    if (to_eol) {
      while (v_end < t.size() && t[v_end] != '\n' && t[v_end] != '\r') ++v_end;
    } else if (t[v] == '\'' || t[v] == '"') {
      const char q = t[v];
      ++v;
      v_end = v;
      while (v_end < t.size() && t[v_end] != q) v_end += (t[v_end] == '\\' ? 2 : 1);
      v_end = std::min(v_end, t.size());
    } else {
      // In a URL query the value ends at '&'; elsewhere (libpq conninfo) only whitespace ends
      // an unquoted value, so ';' or '&' inside a password are masked too.
      const bool in_query = k_begin > 0 && (t[k_begin - 1] == '?' || t[k_begin - 1] == '&');
      while (v_end < t.size() && !is_space(t[v_end]) &&
             !(in_query && (t[v_end] == '&' || t[v_end] == '#')) &&
             !(sep == ':' && (t[v_end] == ',' || t[v_end] == '}')))
        ++v_end;
    }
    if (v_end <= v) continue;
    out.append(t.substr(copied, v - copied));
    out.append(mask);
    copied = v_end;
    i = v_end == 0 ? 0 : v_end - 1;
  }
  out.append(t.substr(copied));
  return out;
}

// "Bearer abc.def" → "Bearer ***".
std::string scrub_bearer(std::string_view t) {
  std::string out;
  std::size_t copied = 0;
  for (std::size_t i = 0; i + 6 < t.size(); ++i) {
    if (!iequals(t.substr(i, 6), "bearer")) continue;
    if (i > 0 && is_alnum(t[i - 1])) continue;
    std::size_t v = i + 6;
    if (v >= t.size() || !is_space(t[v])) continue;
    while (v < t.size() && is_space(t[v])) ++v;
    std::size_t v_end = v;
    while (v_end < t.size() && (is_alnum(t[v_end]) || std::string_view{"-._~+/=%"}.find(t[v_end]) !=
                                                          std::string_view::npos))
      ++v_end;
    if (v_end == v || t.substr(v, v_end - v) == mask) continue;
    out.append(t.substr(copied, v - copied));
    out.append(mask);
    copied = v_end;
    i = v_end - 1;
  }
  out.append(t.substr(copied));
  return out;
}

}  // namespace

// A secret embedded in a URL is usually percent-encoded ("p@ss" → "p%40ss"), so the encoded
// spelling must be scrubbed too.
std::string detail::percent_encode(std::string_view s) {
  static constexpr std::string_view hex = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    if (is_alnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0xF];
    }
  }
  return out;
}

void redactor::add_secret(std::string secret) {
  if (secret.size() < 3) return;
  if (std::find(secrets_.begin(), secrets_.end(), secret) != secrets_.end()) return;
  // Longest first, so that a secret containing another is masked whole.
  const auto at = std::upper_bound(
      secrets_.begin(), secrets_.end(), secret,
      [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  const auto i = at - secrets_.begin();
  std::string encoded = detail::percent_encode(secret);
  if (encoded == secret) encoded.clear();
  secrets_.insert(at, std::move(secret));
  encoded_.insert(encoded_.begin() + i, std::move(encoded));
}

std::string redactor::scrub(std::string_view text) const {
  std::string out(text);
  for (std::size_t i = 0; i < secrets_.size(); ++i) {
    replace_all(out, secrets_[i]);
    if (!encoded_[i].empty()) replace_all(out, encoded_[i]);
  }
  return scrub_patterns(out);
}

bool redactor::is_secret_key(std::string_view key) noexcept {
  static constexpr std::array<std::string_view, 14> fragments = {
      "password",    "passwd",        "pwd",     "secret",    "token",
      "credential",  "apikey",        "api_key", "api-key",   "privatekey",
      "private_key", "authorization", "cookie",  "passphrase"};
  static constexpr std::array<std::string_view, 5> words = {"key", "auth", "pass", "pw", "sig"};
  std::array<char, 128> buf{};
  if (key.size() > buf.size()) key = key.substr(0, buf.size());
  for (std::size_t i = 0; i < key.size(); ++i) buf[i] = base::ascii_lower(key[i]);
  const std::string_view k{buf.data(), key.size()};
  for (auto f : fragments)
    if (k.find(f) != std::string_view::npos) return true;
  // Whole words only: "key" or "ssl_key" but not "monkey"; "auth" but not "author".
  std::size_t i = 0;
  while (i < k.size()) {
    while (i < k.size() && !is_alnum(k[i])) ++i;
    std::size_t j = i;
    while (j < k.size() && is_alnum(k[j])) ++j;
    const auto word = k.substr(i, j - i);
    for (auto w : words)
      if (word == w) return true;
    i = j;
  }
  return false;
}

std::string scrub_patterns(std::string_view text) {
  return scrub_bearer(scrub_key_values(scrub_userinfo(text)));
}

std::string redact_url(std::string_view url) {
  // A whole URL: its authority runs to the first '/', '?' or '#' (the splitter's rule, as the
  // checks parse it), even through characters that end a URL inside free text ('"', '<', a
  // space). scrub_userinfo() would stop there and show the password (found by fuzz/fuzz_urls).
  const base::url_split s = base::split_url(url);
  if (s.error != base::url_split_error::none || !s.has_userinfo) return scrub_userinfo(url);
  const auto begin = static_cast<std::size_t>(s.userinfo.data() - url.data());
  const auto colon = s.userinfo.find(':');
  std::string out{url.substr(0, colon == std::string_view::npos ? begin : begin + colon + 1)};
  out += mask;
  out += url.substr(begin + s.userinfo.size());
  return out;
}

}  // namespace vitals
