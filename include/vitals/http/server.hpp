#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "vitals/http/handler.hpp"

namespace vitals::http {

/// The oldest TLS version the server accepts.
enum class tls_version : std::uint8_t { tls1_2, tls1_3 };

/// HTTPS on the built-in server (OpenSSL). Off unless `cert_file` is set.
///
///     opts.tls = {.cert_file = "/etc/vitals/tls/tls.crt", .key_file = "/etc/vitals/tls/tls.key"};
///
/// The files are looked at every second; when one changes (cert-manager rotating a Secret),
/// new connections get the new certificate and open ones keep theirs: nothing is dropped. A
/// rotation caught half-written keeps the previous certificate until the files agree.
struct tls_options {
  /// PEM certificate chain, the server's certificate first.
  std::string cert_file{};
  /// PEM private key of that certificate.
  std::string key_file{};
  /// PEM CA bundle for client certificates. When set, clients may present a certificate; one
  /// that verifies unlocks details as the bearer token does (detail policy `authorized`).
  std::string client_ca_file{};
  /// Refuse the handshake of clients without a verified certificate (mTLS-only); needs
  /// `client_ca_file`.
  bool require_client_cert = false;
  tls_version min_version = tls_version::tls1_2;
  [[nodiscard]] bool enabled() const noexcept { return !cert_file.empty(); }
  friend bool operator==(const tls_options&, const tls_options&) = default;
};

/// Loads the files of `tls` as server::start() would, and says why they can't be used ("" if
/// they can, or if TLS is off). For a configuration check before a reload.
///
///     if (auto why = vitals::http::validate_tls(next.tls); !why.empty()) reject(why);
[[nodiscard]] std::string validate_tls(const tls_options& tls);

/// Limits and addresses of the built-in HTTP/1.1 server. Defaults are safe for the open
/// internet; probes from kubelet or a load balancer never come near them.
struct server_options {
  std::string address = "127.0.0.1";
  /// 0 = pick a free port (see server::port()).
  std::uint16_t port = 8081;
  /// A second listener that serves `/metrics` alone, to any caller that reaches it (whatever
  /// handler_options::metrics says: the address is the access control, e.g. a port only the
  /// scraper can reach). Same TLS, limits and timeouts; the same counters. "" = none.
  std::string metrics_address{};
  /// Port of the metrics listener; 0 = pick a free one (see server::metrics_port()).
  std::uint16_t metrics_port = 0;
  std::size_t io_threads = 1;
  /// Open connections at most. At the cap a new connection is admitted by closing the one
  /// cheapest to lose: the longest-idle keep-alive connection, else the oldest that has not
  /// sent a byte; only when every connection is mid-request or mid-response is it refused
  /// (503 and close). Idle sockets can never lock a probe out.
  std::size_t max_connections = 1024;
  /// Open connections per client address at most (0 = no limit); beyond it: 503 and close.
  std::size_t max_connections_per_client = 0;
  /// Request line plus headers; over it: 431 (414 if the request line alone is too long).
  std::size_t max_header_bytes = std::size_t{8} * 1024;
  std::size_t max_request_line = std::size_t{4} * 1024;
  /// Time allowed to receive a complete request head once its first byte arrived (slowloris).
  std::chrono::milliseconds header_timeout = std::chrono::seconds{10};
  /// Time a keep-alive connection may stay idle between requests.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds{60};
  /// Pipelined requests answered per read before the server waits for the client to drain.
  std::size_t max_pipelined = 16;
  /// Open `/api/v1/events` streams at most, and never more than half of max_connections: they
  /// count as connections too and are never closed to make room, so the other half is always
  /// there for probes. Beyond it: 503 with Retry-After.
  std::size_t max_event_streams = 64;
  /// A comment line is sent on a stream that has been quiet this long, so that proxies and load
  /// balancers do not close it and a vanished client is noticed.
  std::chrono::milliseconds event_heartbeat = std::chrono::seconds{15};
  /// HTTPS instead of HTTP when `tls.cert_file` is set. The handshake counts in the header
  /// timeout: a new connection has `header_timeout` from accept to complete it and its first
  /// request head.
  tls_options tls{};
  friend bool operator==(const server_options&, const server_options&) = default;
};

/// What the server has done with its connections since start(), for monitoring.
struct server_stats {
  /// Connections currently open.
  std::size_t connections = 0;
  /// Idle keep-alive connections closed to admit a new one at the cap.
  std::uint64_t evicted_idle = 0;
  /// Connections that had not sent a byte, closed to admit a new one at the cap.
  std::uint64_t evicted_silent = 0;
  /// New connections refused at the cap (every open one was busy).
  std::uint64_t refused_busy = 0;
  /// New connections refused for max_connections_per_client.
  std::uint64_t refused_per_client = 0;
  /// TLS handshakes that failed (bad client hello, protocol or certificate refused); those cut
  /// by a timeout or closed to make room are not counted.
  std::uint64_t tls_handshake_failures = 0;
  /// Certificate reloads done, and reloads that failed (the previous certificate stays).
  std::uint64_t tls_reloads = 0;
  std::uint64_t tls_reload_failures = 0;
  /// Requests refused before reaching the handler (each closes its connection): 400 for a head
  /// that is not HTTP/1.x, 414 request line too long, 431 head too large, 413/501 a request
  /// with a body, 400 for HTTP/1.1 without Host (or several); 500 an answer that could not be
  /// produced.
  std::uint64_t bad_request_malformed = 0;
  std::uint64_t bad_request_line_too_long = 0;
  std::uint64_t bad_request_header_too_large = 0;
  std::uint64_t bad_request_body = 0;
  std::uint64_t bad_request_host = 0;
  std::uint64_t internal_errors = 0;
  /// Event streams open now; refused at max_event_streams; closed because their client did not
  /// read fast enough (further behind than the event feed keeps, or a write stuck for
  /// idle_timeout).
  std::size_t event_streams = 0;
  std::uint64_t event_streams_refused = 0;
  std::uint64_t event_streams_dropped = 0;
  friend bool operator==(const server_stats&, const server_stats&) = default;
};

/// The built-in server: keep-alive, bounded pipelining, hard limits, no request bodies.
///
///     vitals::http::server http{svc, {.port = 8081}};
///     http.start();   // non-blocking: serves on its own I/O threads
class server {
 public:
  /// Serves a handler owned by the server; the caller keeps `svc` alive.
  server(service& svc, server_options options = {}, handler_options handler_opts = {});
  /// Same, sharing the ownership of `svc` (throws std::invalid_argument if null).
  ///
  ///     auto svc = std::make_shared<vitals::service>(std::move(reg));
  ///     vitals::http::server http{svc, {.port = 8081}};
  server(std::shared_ptr<service> svc, server_options options = {},
         handler_options handler_opts = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and starts the I/O threads. Throws std::system_error if the address can't be bound,
  /// std::runtime_error if TLS is on and its files can't be loaded.
  void start();
  /// Closes the listener and every connection, joins the I/O threads. Idempotent.
  void stop();
  /// The bound port (useful with port 0).
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// The metrics listener's bound port, 0 without one.
  [[nodiscard]] std::uint16_t metrics_port() const noexcept;
  /// Connections currently open.
  [[nodiscard]] std::size_t connections() const noexcept;
  /// Connections open, evicted and refused (thread-safe, relaxed counters).
  [[nodiscard]] server_stats stats() const noexcept;
  /// Why the last certificate reload failed, e.g. "key_file '/tls/tls.key': key values
  /// mismatch"; "" when TLS is off or the last reload succeeded.
  [[nodiscard]] std::string tls_reload_error() const;

  /// Serves `svc` from now on without closing the listener or any connection; thread-safe, may
  /// be called while serving. Requests being answered finish on the previous service (kept
  /// alive until they are done; stop() it yourself). Typical use, a configuration reload:
  ///
  ///     auto next = std::make_shared<vitals::service>(std::move(new_reg));
  ///     next->start();
  ///     http.rebind(next);
  ///     previous->stop();
  void rebind(std::shared_ptr<service> svc);
  /// Same, non-owning: the caller keeps `svc` alive while any request may still use it.
  void rebind(service& svc);

  [[nodiscard]] const handler& get_handler() const noexcept;

  class impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::http
