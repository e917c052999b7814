#pragma once
// Private: the one response type of the HTTP layer and its HTTP/1.1 wire form. Not installed.
//
// Renderers produce a typed_response; the handler keeps it with its wire head (a `rendered`),
// built once per rendering: handler::handle() hands out the typed parts, the built-in server
// writes the wire head and the body as they are.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vitals::http::detail {

/// One response header. Names are literals (their storage outlives every response).
struct field {
  std::string_view name;
  std::string value{};

  bool operator==(const field&) const = default;
};

/// A complete response, independent of any transport.
///
///     typed_response r = make_typed(200, text_plain, "ok");
///     // r.headers: Cache-Control: no-store, X-Content-Type-Options: nosniff
struct typed_response {
  int status = 200;
  /// A literal media type ("text/plain; charset=utf-8").
  std::string_view content_type{};
  /// Every header but Content-Type and Content-Length, in the order they are sent.
  std::vector<field> headers{};
  /// The GET body (HEAD answers send none but keep its length).
  std::string body{};
};

/// A typed response with the headers every answer carries (Cache-Control: no-store,
/// X-Content-Type-Options: nosniff).
[[nodiscard]] typed_response make_typed(int status, std::string_view content_type,
                                        std::string body);

/// A typed response and its wire head, built from it once.
struct rendered {
  typed_response typed{};
  /// Status line, Content-Type, the headers, Content-Length (of the GET body, also for HEAD),
  /// each ending in CRLF, *without* Date, Connection and the blank line: the server appends
  /// those.
  std::string head{};
};

/// The status line, Content-Type and the headers of `r`, each ending in CRLF: the head of an
/// answer whose length is not known in advance (an event stream).
[[nodiscard]] std::string head_without_length(const typed_response& r);

/// Builds the wire head of `r` and keeps both.
///
///     auto w = wire_form(make_typed(200, text_plain, "ok"));
///     // w.head == "HTTP/1.1 200 OK\r\nContent-Type: ...\r\n...Content-Length: 2\r\n"
[[nodiscard]] rendered wire_form(typed_response r);

/// A response ready for the wire, pointing into storage kept alive by `keep` (usually a rendering
/// cached for the current snapshot generation, so the common probe costs no allocation).
struct wire_response {
  std::shared_ptr<const void> keep;
  /// rendered::head: the server appends Date, Connection and the blank line.
  std::string_view head;
  /// The body; the server sends it only for GET.
  std::string_view body;
  int status = 200;
  /// The same answer, typed (what handler::handle() returns); never null once served.
  const typed_response* typed = nullptr;
  /// An event stream (only when the transport offered to stream, see serve_extras): the body
  /// is its first part, the transport then sends the events after `stream_after`, and it owns
  /// one of the stream places until the stream ends.
  bool stream = false;
  bool stream_detailed = false;
  std::uint64_t stream_after = 0;
};

/// `r` as a wire response kept alive by `keep` (which owns `r`).
[[nodiscard]] inline wire_response wire_of(std::shared_ptr<const void> keep,
                                           const rendered& r) noexcept {
  return wire_response{std::move(keep), r.head, r.typed.body, r.typed.status, &r.typed};
}

/// "OK", "Service Unavailable", ...; "Status" for codes without a well-known phrase.
[[nodiscard]] std::string_view reason_phrase(int code) noexcept;

}  // namespace vitals::http::detail
