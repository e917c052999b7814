#pragma once
// Private seam between the transport-agnostic handler and the built-in server. Not installed.

#include <memory>
#include <string_view>

#include "vitals/http/handler.hpp"

namespace vitals::http {

/// A response ready for the wire, pointing into storage kept alive by `keep` (usually a rendering
/// cached for the current snapshot generation, so the common probe costs no allocation).
struct wire_response {
  std::shared_ptr<const void> keep;
  /// Status line and headers, each ending in CRLF, including Content-Length (of the GET body, also
  /// for HEAD) but *without* Date, Connection and the blank line: the server appends those.
  std::string_view head;
  /// The body; the server sends it only for GET.
  std::string_view body;
  int status = 200;
};

class handler::impl {
 public:
  impl(std::shared_ptr<service> svc, handler_options options);
  ~impl();

  /// The hot path used by the built-in server: no allocation when the answer is a cached
  /// rendering. `authorization` is the raw Authorization header value ("" if absent).
  [[nodiscard]] wire_response serve(std::string_view method, std::string_view target,
                                    std::string_view authorization) const;

  /// The public API path (handler::handle).
  [[nodiscard]] response handle(const request& req) const;

  /// Swaps the service; requests that already loaded the previous one finish on it.
  void rebind(std::shared_ptr<service> svc);

  /// The service new requests are served from.
  [[nodiscard]] std::shared_ptr<service> source() const;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace vitals::http
