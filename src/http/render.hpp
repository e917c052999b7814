#pragma once
// Private: the response formats of the handler (Kubernetes probe text, IETF health+json) and the
// wire form shared by the handler and the built-in server. Not installed.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/http/handler.hpp"
#include "vitals/redact.hpp"
#include "vitals/snapshot.hpp"

namespace vitals::http::detail {

inline constexpr std::string_view text_plain = "text/plain; charset=utf-8";
inline constexpr std::string_view health_json = "application/health+json";

/// Probe bodies stay strictly below this many bytes (cloud load balancers read 1 KiB).
inline constexpr std::size_t max_probe_body = 1023;
/// A single check output is cut to this many bytes in probe bodies.
inline constexpr std::size_t max_probe_output = 200;

/// A complete response: the wire head (status line and headers up to and including
/// Content-Length, each ending in CRLF, without Date/Connection/blank line) and the GET body.
///
///     auto r = make_rendered(200, text_plain, "ok");
///     // r.head == "HTTP/1.1 200 OK\r\nContent-Type: ...\r\n...Content-Length: 2\r\n"
struct rendered {
  int status = 200;
  std::string head{};
  std::string body{};
};

[[nodiscard]] rendered make_rendered(int status, std::string_view content_type, std::string body,
                                     bool allow_header = false);

/// "OK", "Service Unavailable", ...; "Status" for codes without a well-known phrase.
[[nodiscard]] std::string_view reason_phrase(int code) noexcept;

/// The configured HTTP code of an aggregated status.
[[nodiscard]] int code_for(const status_codes& codes, status s) noexcept;

/// What every renderer needs: the snapshot, the policy, the scrubber for defense in depth.
struct render_context {
  const snapshot& snap;
  const status_codes& codes;
  /// Scrubs the handler's token and URL userinfo / password patterns from every text shown.
  const redactor& scrubber;
  /// True if this rendering may show outputs, observed values and details.
  bool detailed = false;
};

/// "livez", "readyz", "startupz".
[[nodiscard]] std::string_view probe_path_name(probe p) noexcept;

/// The human reason of a check's reported state (scrubbed, not truncated): "not checked yet"
/// before the first result, else its output, else its failure kind.
[[nodiscard]] std::string describe(const render_context& ctx, const check_state& c);

/// `/livez`, `/readyz`, `/startupz` in the Kubernetes apiserver style. `excluded` names are
/// skipped (`[+]name excluded: ok` in verbose); names that match no check of the probe are
/// ignored and reported on a `warn:` line, as the apiserver does.
[[nodiscard]] rendered render_probe(const render_context& ctx, probe p, bool verbose,
                                    std::span<const std::string> excluded = {});

/// `/readyz/<check>`: one check of the probe, judged on its own status.
[[nodiscard]] rendered render_probe_check(const render_context& ctx, probe p, const check_state& c,
                                          bool verbose);

/// `/health` (all checks, `only == nullptr`) or `/health/<check>` as application/health+json.
[[nodiscard]] rendered render_health(const render_context& ctx, const check_state* only = nullptr);

/// The aggregated status shown by `/health`: the worst critical status (`unknown` is worse than
/// `fail`, and rendered as "fail"), non-critical problems as warn, fail while shutting down.
[[nodiscard]] status overall_status(const snapshot& snap) noexcept;

}  // namespace vitals::http::detail
