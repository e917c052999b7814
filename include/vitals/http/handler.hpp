#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/history.hpp"
#include "vitals/http/events.hpp"
#include "vitals/http/maintenance.hpp"
#include "vitals/http/targets.hpp"
#include "vitals/push.hpp"
#include "vitals/service.hpp"

namespace vitals::http {

namespace detail {
struct handler_access;
}  // namespace detail

/// One request header as seen by the framework (name compared case-insensitively).
struct header {
  std::string_view name;
  std::string_view value;
};

/// A transport-agnostic request: what any HTTP framework can fill in.
///
///     auto r = h.handle({.method = "GET", .target = "/readyz?verbose", .headers = hdrs});
struct request {
  std::string_view method;
  /// Origin-form target as sent: path plus optional query ("/readyz?verbose&exclude=db").
  std::string_view target;
  /// Request headers; only `Authorization`, `Accept` (of `/metrics`) and `Last-Event-ID` (of
  /// `/api/v1/events`) are used.
  std::span<const header> headers{};
  /// Set by a transport that verified the client's TLS certificate against the CAs it trusts
  /// (mTLS): unlocks details as the bearer token does (detail policy `authorized`).
  bool client_certificate_verified = false;
};

/// A complete response: copy status, headers and body into the framework's response object.
struct response {
  int status = 200;
  /// All headers to send except Content-Length (Content-Type, Cache-Control, Allow, ...).
  std::vector<std::pair<std::string, std::string>> headers{};
  /// Empty for HEAD; `content_length` still tells the length a GET would have.
  std::string body{};
  std::size_t content_length = 0;
};

/// The status page at `/status` and `/status/<target>` (docs/status-page.md): server-rendered
/// HTML of every check's status, grouped, with the uptime and 90 days of daily bars from the
/// history when there is one. Works without JavaScript; never shows an output.
struct status_page_options {
  bool enabled = false;
  std::string title = "Status";
  /// Targets shown per page (search, filters and further pages reach the others).
  std::size_t page_size = 100;
  friend bool operator==(const status_page_options&, const status_page_options&) = default;
};

/// HTTP status code for each aggregated status.
struct status_codes {
  int pass = 200;
  int warn = 200;
  int fail = 503;
  int unknown = 503;
  friend bool operator==(const status_codes&, const status_codes&) = default;
};

/// Who may see `output`, observed values and details (statuses are always visible).
enum class detail_policy : std::uint8_t {
  authorized,  ///< only callers presenting the bearer token (default)
  everyone,    ///< anonymous callers too (explicit opt-in; redaction still applies)
  nobody,      ///< never, not even with a token
};

/// Who may scrape `/metrics` (statuses, counters and durations of every check; never an output).
enum class metrics_policy : std::uint8_t {
  details,     ///< as details are: anonymous callers under detail_policy::everyone, otherwise
               ///< the bearer token or a verified client certificate (default)
  everyone,    ///< anyone who reaches the port (e.g. a metrics-only listener on a private address)
  authorized,  ///< only the bearer token or a verified client certificate
  off,         ///< not served (404)
};

struct handler_options {
  /// Bearer token that unlocks details (`Authorization: Bearer <token>`); compared in constant
  /// time. Empty = no caller is authorized.
  std::string token{};
  detail_policy details = detail_policy::authorized;
  status_codes codes{};
  /// Paths are served under this prefix (e.g. "/_health"); empty = at the root.
  std::string prefix{};
  metrics_policy metrics = metrics_policy::details;
  /// Serve `/metrics` alone (a listener for the scraper only): every other path is a 404.
  bool metrics_only = false;
  /// Where `/api/v1/push/<token>` records heartbeats for the `push` checks; null =
  /// push_board::global(), the board those checks use by default.
  std::shared_ptr<push_board> pushes{};
  /// Groups and labels of monitored targets, shown by `/api/v1/targets`; null = none.
  std::shared_ptr<target_catalog> targets{};
  /// With shards sharing one history (PostgreSQL, docs/history.md): every target of the
  /// configuration, this instance's and the other shards'. `/api/v1/uptime` and
  /// `/api/v1/incidents` then list the history of all of them, not only of the checks this
  /// instance runs. Null = only this instance's checks.
  std::shared_ptr<target_catalog> fleet{};
  /// The results history served by `/api/v1/uptime` and `/api/v1/history/<target>`
  /// (docs/history.md); null = those paths are 404.
  std::shared_ptr<history_reader> history{};
  /// The maintenance windows served by `/api/v1/maintenance`; null = that path is 404.
  std::shared_ptr<maintenance_source> maintenance{};
  /// The status changes served by `/api/v1/events` (Server-Sent Events, docs/events.md): the
  /// built-in server streams them; handle() answers what is new since `Last-Event-ID` and lets
  /// the client reconnect (EventSource does). Null = that path is 404.
  std::shared_ptr<event_feed> events{};
  /// `/status`: off unless enabled.
  status_page_options status_page{};
  friend bool operator==(const handler_options&, const handler_options&) = default;
};

/// Serves /livez, /readyz, /startupz (Kubernetes style), /health (IETF application/health+json),
/// their per-check forms, and /metrics (Prometheus text or OpenMetrics, see docs/metrics.md),
/// from the service's latest snapshot; takes the heartbeats of push monitors at
/// /api/v1/push/<token> (docs/checks/push.md). Knows nothing of sockets.
/// Thread-safe; cheap per request: bodies are rendered once per snapshot change.
///
///     vitals::http::handler h{svc};
///     vitals::http::response r = h.handle({.method = "GET", .target = "/readyz"});
///
/// The service can be swapped while serving (rebind), e.g. on a configuration reload.
class handler {
 public:
  /// Serves `svc`, which the caller keeps alive for the handler's lifetime (or until rebound).
  explicit handler(service& svc, handler_options options = {});
  /// Serves `svc` and shares its ownership (throws std::invalid_argument if null).
  ///
  ///     auto svc = std::make_shared<vitals::service>(std::move(reg));
  ///     vitals::http::handler h{svc};
  explicit handler(std::shared_ptr<service> svc, handler_options options = {});
  ~handler();
  handler(const handler&) = delete;
  handler& operator=(const handler&) = delete;

  [[nodiscard]] response handle(const request& req) const;

  /// Serves `svc` from now on; thread-safe, may be called while requests are being served.
  /// Requests already being answered finish on the previous service, which the handler keeps
  /// alive until they are done (a serving thread may hold the previous service object until its
  /// next request: stop() the old service yourself rather than rely on its destructor).
  ///
  ///     auto next = std::make_shared<vitals::service>(std::move(new_reg));
  ///     next->start();
  ///     h.rebind(next);
  ///     old->stop();
  void rebind(std::shared_ptr<service> svc);
  /// Same, non-owning: the caller keeps `svc` alive while any request may still use it.
  void rebind(service& svc);

  /// The service new requests are served from (valid while it is bound or otherwise kept alive).
  [[nodiscard]] service& source() const noexcept;
  /// Same, sharing ownership (a non-owning binding gives a pointer that owns nothing).
  [[nodiscard]] std::shared_ptr<service> shared_source() const;

 private:
  class impl;
  friend struct detail::handler_access;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::http
