#pragma once
// Private seam between the transport-agnostic handler and the built-in server. Not installed.

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "metrics.hpp"
#include "response.hpp"
#include "routes.hpp"
#include "vitals/http/handler.hpp"

namespace vitals::http {

using detail::wire_response;

class handler::impl {
 public:
  /// Serves `routes` (the handler's own table unless a test brings rows of its own).
  impl(std::shared_ptr<service> svc, handler_options options,
       std::vector<detail::route> routes = detail::default_routes());
  ~impl();
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  /// The one way through, used by the built-in server as is: no allocation when the answer is
  /// a cached rendering. `authorization` is the raw Authorization header value ("" if absent);
  /// `client_certificate_verified` says the transport verified the client's TLS certificate.
  /// `accept` is the Accept header (read by /metrics only). `metrics_listener`: the request
  /// came through a listener for the scraper (server_options::metrics_address), which serves
  /// /metrics alone, to anyone. `extras`: what else the transport read or offers (Last-Event-ID,
  /// streaming).
  [[nodiscard]] wire_response serve(std::string_view method, std::string_view target,
                                    std::string_view authorization,
                                    bool client_certificate_verified = false,
                                    std::string_view accept = {}, bool metrics_listener = false,
                                    const detail::serve_extras& extras = {}) const;

  /// The public API path (handler::handle): serve() with the typed parts copied out.
  [[nodiscard]] response handle(const request& req) const;

  /// Swaps the service; requests that already loaded the previous one finish on it.
  void rebind(std::shared_ptr<service> svc);

  /// The service new requests are served from.
  [[nodiscard]] std::shared_ptr<service> source() const;

  /// Adds a transport's figures to every scrape of /metrics until removed (the built-in server
  /// adds its connections and refusals); returns the id to remove it with. A source is called
  /// with the sources' lock held: removing it waits for a scrape in progress.
  std::uint64_t add_metrics_source(detail::metrics_source source) const;
  void remove_metrics_source(std::uint64_t id) const noexcept;

  /// The status changes served at /api/v1/events (handler_options::events); null if none.
  [[nodiscard]] const event_feed* events() const noexcept;
  /// Renders `events` for both audiences of an event stream, as the route does.
  void render_events(detail::event_batch& out, std::span<const status_event> events) const;

  /// Everything behind the seam (defined in handler.cpp).
  struct state;

 private:
  std::unique_ptr<state> state_;
};

namespace detail {

/// How the built-in server and white-box tests reach a handler's implementation; the public
/// header only names this struct as a friend.
///
///     const handler_impl& impl = handler_access::of(h);
///     wire_response w = impl.serve("GET", "/readyz", "");
struct handler_access {
  using impl = handler::impl;
  [[nodiscard]] static const impl& of(const handler& h) noexcept { return *h.impl_; }
};
using handler_impl = handler_access::impl;

}  // namespace detail

}  // namespace vitals::http
