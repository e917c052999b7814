#include <charconv>

#include "render.hpp"

namespace vitals::http::detail {

std::string_view reason_phrase(int code) noexcept {
  switch (code) {
    case 200:
      return "OK";
    case 203:
      return "Non-Authoritative Information";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 410:
      return "Gone";
    case 414:
      return "URI Too Long";
    case 418:
      return "I'm a teapot";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Status";
  }
}

rendered make_rendered(int status, std::string_view content_type, std::string body,
                       bool allow_header) {
  char code[16];
  char length[24];
  const auto code_end = std::to_chars(code, code + sizeof code, status).ptr;
  const auto length_end = std::to_chars(length, length + sizeof length, body.size()).ptr;
  const std::string_view reason = reason_phrase(status);

  rendered r;
  r.status = status;
  r.head.reserve(160);
  r.head.append("HTTP/1.1 ").append(code, code_end).append(" ").append(reason);
  r.head.append("\r\nContent-Type: ").append(content_type);
  r.head.append("\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n");
  if (allow_header) r.head.append("Allow: GET, HEAD\r\n");
  r.head.append("Content-Length: ").append(length, length_end).append("\r\n");
  r.body = std::move(body);
  return r;
}

int code_for(const status_codes& codes, status s) noexcept {
  switch (s) {
    case status::pass:
      return codes.pass;
    case status::warn:
      return codes.warn;
    case status::fail:
      return codes.fail;
    case status::unknown:
      break;
  }
  return codes.unknown;
}

std::string_view probe_path_name(probe p) noexcept {
  switch (p) {
    case probe::live:
      return "livez";
    case probe::ready:
      return "readyz";
    case probe::startup:
      return "startupz";
  }
  return "readyz";
}

std::string describe(const render_context& ctx, const check_state& c) {
  const result& r = c.reported;
  if (r.status == status::unknown) return "not checked yet";
  if (!r.output.empty()) return ctx.scrubber.scrub(r.output);
  if (r.kind != failure_kind::none) return std::string{to_string(r.kind)};
  return std::string{to_string(r.status)};
}

status overall_status(const snapshot& snap) noexcept { return snap.overall_status(); }

}  // namespace vitals::http::detail
