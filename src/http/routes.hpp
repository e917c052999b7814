#pragma once
// Private: the handler's route table. Not installed.
//
// Every endpoint is one row: its path, the methods it accepts, whether it reads the query or
// needs the bearer token, and the function producing its answer. handler::handle() and the
// built-in server both dispatch through the same table (handler::impl::serve), so a new endpoint
// (/metrics, a watch stream, an API) is a new row in default_routes(), never an edit of the
// dispatch.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "event_stream.hpp"
#include "metrics.hpp"
#include "render.hpp"
#include "response.hpp"
#include "target.hpp"
#include "vitals/service.hpp"

namespace vitals::http::detail {

/// Request methods as bits of a set (methods are case-sensitive, RFC 9110 §9.1).
enum method : std::uint8_t {
  method_get = 1U << 0U,
  method_head = 1U << 1U,
  method_post = 1U << 2U,
  method_put = 1U << 3U,
  method_delete = 1U << 4U,
  method_patch = 1U << 5U,
  method_options = 1U << 6U,
};
using method_set = std::uint8_t;
inline constexpr method_set get_and_head = method_get | method_head;

/// The bit of a method other than GET and HEAD (see method_of).
[[nodiscard]] method_set other_method_of(std::string_view name) noexcept;
/// The bit of a method name, 0 for a method no route can accept ("get", "TRACE", "BREW").
/// Inline: the probes' methods cost two compares with constants.
[[nodiscard]] inline method_set method_of(std::string_view name) noexcept {
  if (name == "GET") return method_get;
  if (name == "HEAD") return method_head;
  return other_method_of(name);
}
/// The value of an Allow header for `methods`: "GET, HEAD".
[[nodiscard]] std::string allow_value(method_set methods);

/// How a row's path is compared with the request path (after the prefix is removed).
enum class path_match : std::uint8_t {
  exact,  ///< the path itself: "/readyz"
  child,  ///< one segment below it: "/readyz/<name>" (the name is route_call::name)
};

class route_call;

/// Produces the answer of a row. Never blocks: it reads the latest snapshot.
using responder = wire_response (*)(const route_call&);

struct route {
  std::string_view path;
  path_match match = path_match::exact;
  method_set methods = get_and_head;
  /// Reads `?verbose` and `exclude=` (a malformed query is a 400); others ignore the query.
  bool query = false;
  /// Answers 401 unless the caller presents the handler's bearer token.
  bool needs_token = false;
  /// Access is decided by the handler's metrics policy (handler_options::metrics).
  bool scrape = false;
  /// What a `child` row's segment is, in the endpoint label of vitals_http_requests_total
  /// ("/readyz/{check}").
  std::string_view child = "check";
  responder respond = nullptr;
};

/// The endpoints of the handler: /livez, /readyz, /startupz, /health and their per-check forms,
/// /metrics, /api/v1/push/<token>, /api/v1/targets and /api/v1/targets/<name>, /api/v1/uptime
/// and /api/v1/history/<target>.
[[nodiscard]] std::vector<route> default_routes();

/// Renderings that are cached per snapshot generation (rendered on first demand, then shared
/// by every request until the next generation): a renderer and the detail level it shows.
struct cached_variant {
  bool detailed = false;
  typed_response (*render)(const render_context& ctx) = nullptr;
};
/// [probe][verbose][detailed] for the three probes, then /health [detailed], then the snapshot
/// part of /metrics [prometheus, openmetrics].
inline constexpr std::size_t cached_variant_count = 3 * 2 * 2 + 2 + 2;
[[nodiscard]] std::span<const cached_variant, cached_variant_count> cached_variants() noexcept;

struct serve_scope;

/// What a transport adds to a request besides the fields every request has.
struct serve_extras {
  /// The Last-Event-ID header ("" if absent).
  std::string_view last_event_id{};
  /// Set by a transport that can stream a GET of /api/v1/events (the built-in server): the
  /// route takes a place here and answers with wire_response::stream.
  stream_slots* streams = nullptr;
};

/// What a responder sees of its request (valid only during the call).
class route_call {
 public:
  route_call(const serve_scope& scope, service& svc, std::string_view name,
             const query_options& query, bool detailed, std::string_view accept = {},
             std::string_view raw_query = {}) noexcept
      : svc(svc),
        name(name),
        query(query),
        detailed(detailed),
        accept(accept),
        raw_query(raw_query),
        scope_(scope) {}

  /// The service this request is answered by (loaded once per request, rebind-safe).
  service& svc;
  /// The segment a `child` row matched ("db" of "/readyz/db"), decoded; "" for `exact` rows.
  std::string_view name;
  /// The parsed query (empty unless the row reads it).
  const query_options& query;
  /// The caller may see outputs, observed values and details.
  bool detailed;
  /// The request's Accept header ("" if absent).
  std::string_view accept;
  /// The query as sent, still encoded, for rows that read parameters of their own.
  std::string_view raw_query;

  /// Variant `i` of cached_variants() for `snap`'s generation (or a newer one).
  [[nodiscard]] wire_response cached(const std::shared_ptr<const snapshot>& snap,
                                     std::size_t i) const;
  /// The context to render `snap` for this caller.
  [[nodiscard]] render_context context(const snapshot& snap) const noexcept;
  /// The handler's fixed 404.
  [[nodiscard]] wire_response not_found() const;
  /// Appends the figures read at scrape time (engine, requests, transports, process) and ends
  /// the exposition.
  void live_metrics(metrics_writer& w, const snapshot& snap) const;
  /// An answer rendered for this request alone.
  [[nodiscard]] static wire_response owned(typed_response r);
  /// The board push heartbeats land on (handler_options::pushes).
  [[nodiscard]] push_board& pushes() const noexcept;
  /// The groups and labels of targets (handler_options::targets); null if none are set.
  [[nodiscard]] std::shared_ptr<const target_catalog::map> targets() const;
  /// Whether the history of `name` is listed: a check of this instance, or a target of another
  /// shard (handler_options::fleet).
  [[nodiscard]] bool listed(const snapshot& snap, std::string_view name) const;
  /// The status page's options (handler_options::status_page).
  [[nodiscard]] const status_page_options& status_page() const noexcept;
  /// The results history (handler_options::history); null if none is set.
  [[nodiscard]] const history_reader* history() const noexcept;
  /// The maintenance windows (handler_options::maintenance); null if none are set.
  [[nodiscard]] const maintenance_source* maintenance() const noexcept;
  /// The status changes (handler_options::events); null if none are set.
  [[nodiscard]] const event_feed* events() const noexcept;
  /// How this handler renders events (its scrubber, the targets' groups) for this caller.
  /// `catalog` must outlive the result.
  [[nodiscard]] event_render event_rendering(const target_catalog::map* catalog) const noexcept;
  /// What the transport added (Last-Event-ID, the places for streams).
  [[nodiscard]] const serve_extras& extras() const noexcept;

 private:
  const serve_scope& scope_;
};

}  // namespace vitals::http::detail
