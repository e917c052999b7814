// The URL parsers: base::split_url (the one splitter), the checks' parse_url (decodes, throws)
// and the probe's parse_http_url (views, no exceptions), plus every redaction of a URL.
//
// Properties:
//   - the split's views lie inside the text, in order;
//   - redaction does not depend on the password: the URL with its password replaced by another
//     one redacts to the same text (parse_url().redacted(), redact_url, redact_url_into,
//     mask_userinfo and the messages of parse_url's exceptions), so no password reaches them;
//   - parse_url and parse_http_url agree on the scheme, host, port and target of http(s) URLs.
#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "base/url_split.hpp"
#include "common/url.hpp"
#include "fuzz_util.hpp"
#include "probe/url.hpp"
#include "vitals/redact.hpp"

namespace {

using vitals_fuzz::require;

bool inside(std::string_view part, std::string_view text) {
  if (part.empty()) return true;
  return part.data() >= text.data() && part.data() + part.size() <= text.data() + text.size();
}

/// Every redacted form of a URL; the last is parse_url's redacted URL or its error message.
std::array<std::string, 4> shown(std::string_view text, bool& parsed) {
  std::array<std::string, 4> out{};
  out[0] = vitals::redact_url(text);
  out[1] = vitals::checks::detail::mask_userinfo(text);
  char buf[512];
  const std::size_t n = vitals::cli::redact_url_into(text, buf, sizeof buf);
  require(n < sizeof buf && buf[n] == '\0', "redact_url_into overran or did not terminate");
  out[2].assign(buf, n);
  parsed = true;
  try {
    out[3] = vitals::checks::detail::parse_url(text).redacted();
  } catch (const std::invalid_argument& e) {
    parsed = false;
    out[3] = e.what();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  const vitals::base::url_split s = vitals::base::split_url(text);
  if (s.error == vitals::base::url_split_error::none) {
    for (const std::string_view part :
         {s.scheme, s.authority, s.userinfo, s.host, s.port, s.rest, s.path, s.query, s.fragment}) {
      require(inside(part, text), "a split view lies outside the text", text);
    }
    require(s.path.empty() || s.path.front() == '/', "path does not start with '/'", text);
  }

  // Redaction is independent of the password (the text after the first ':' of the userinfo).
  if (s.error == vitals::base::url_split_error::none && s.has_userinfo) {
    const auto colon = s.userinfo.find(':');
    if (colon != std::string_view::npos) {
      const std::size_t pw_begin =
          static_cast<std::size_t>(s.userinfo.data() - text.data()) + colon + 1;
      const std::size_t pw_end =
          static_cast<std::size_t>(s.userinfo.data() - text.data()) + s.userinfo.size();
      std::string other{text.substr(0, pw_begin)};
      other += "Zz9";
      other += text.substr(pw_end);
      bool parsed = false;
      bool other_parsed = false;
      const auto a = shown(text, parsed);
      const auto b = shown(other, other_parsed);
      for (std::size_t i = 0; i < 3; ++i) {
        require(a[i] == b[i], "a redacted form depends on the password", a[i] + "\n---\n" + b[i]);
      }
      if (parsed && other_parsed) {
        require(a[3] == b[3], "parse_url's redacted form depends on the password", a[3]);
      } else {
        // A failure (a bad %-escape in the password fails where "Zz9" parses; messages name
        // what failed): the message must not show the password.
        const std::string_view pw = text.substr(pw_begin, pw_end - pw_begin);
        std::string without{text.substr(0, pw_begin)};
        without += text.substr(pw_end);
        // `invalid URL "<masked URL>": <reason>`: the masked URL must not show the password (the
        // reason is the parser's own words, which may contain a short password by chance).
        const std::string& msg = a[3];
        const auto split = msg.rfind("\": ");
        const auto open = msg.find('"');  // after `invalid URL ` (its "RL \"" is no password)
        const std::string masked = open == std::string::npos
                                       ? msg.substr(0, split)
                                       : msg.substr(open + 1, split - open - 1);
        // A password with the mask's '*' can be spelled by the mask and the host after it
        // ("*@host" shown as "***@host"): those prove nothing either way.
        if (pw.size() >= 3 && pw.find('*') == std::string_view::npos &&
            without.find(pw) == std::string::npos) {
          require(masked.find(pw) == std::string::npos, "parse_url's message shows the password",
                  msg);
        }
      }
    }
  }

  // The probe's parser never throws and, when the checks' parser accepts an http(s) URL too,
  // they read the same host, port and target.
  vitals::cli::url_parts probe{};
  const char* error = nullptr;
  const bool probe_ok = vitals::cli::parse_http_url(text, probe, error);
  require(probe_ok || error != nullptr, "parse_http_url failed without a message");
  try {
    const auto u = vitals::checks::detail::parse_url(text);
    (void)u.query_params();
    (void)u.authority();
    (void)u.target();
    if (probe_ok && probe.host.find('%') == std::string_view::npos) {
      require(u.scheme == (probe.tls ? "https" : "http"), "schemes disagree", text);
      require(u.host == probe.host, "hosts disagree", text);
      require(u.port_or(probe.tls ? 443 : 80) == probe.port, "ports disagree", text);
    }
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
