#include "response.hpp"

#include <charconv>
#include <utility>

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

typed_response make_typed(int status, std::string_view content_type, std::string body) {
  typed_response r;
  r.status = status;
  r.content_type = content_type;
  r.headers.reserve(3);  // room for an Allow or WWW-Authenticate without reallocating
  r.headers.push_back({"Cache-Control", "no-store"});
  r.headers.push_back({"X-Content-Type-Options", "nosniff"});
  r.body = std::move(body);
  return r;
}

std::string head_without_length(const typed_response& r) {
  char code[16];
  const auto code_end = std::to_chars(code, code + sizeof code, r.status).ptr;
  std::size_t size = 64 + r.content_type.size();
  for (const field& f : r.headers) size += f.name.size() + f.value.size() + 4;
  std::string head;
  head.reserve(size);
  head.append("HTTP/1.1 ").append(code, code_end).append(" ").append(reason_phrase(r.status));
  head.append("\r\nContent-Type: ").append(r.content_type).append("\r\n");
  for (const field& f : r.headers) head.append(f.name).append(": ").append(f.value).append("\r\n");
  return head;
}

rendered wire_form(typed_response r) {
  char length[24];
  const auto length_end = std::to_chars(length, length + sizeof length, r.body.size()).ptr;
  std::string head = head_without_length(r);
  head.append("Content-Length: ").append(length, length_end).append("\r\n");
  return rendered{std::move(r), std::move(head)};
}

}  // namespace vitals::http::detail
