#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vitals/check.hpp"

namespace vitals::checks {

/// An HTTP(S) request whose answer must match: status ranges, body substring or regex, a JSON
/// pointer equal to a value, and a latency budget (over it: `warn`). HTTPS verifies the chain
/// (system CAs or `ca_file`) and the hostname; client certificates are supported. Same-host
/// redirects are followed (up to `max_redirects`); a redirect to another host fails.
/// A dependency (not allowed in `live` by default). Measurement "responseTime" (ms).
///
///     reg.add("payments", vitals::checks::http({
///                             .url = "https://payments.internal/healthz",
///                             .headers = {{"Authorization", "Bearer " + token}},
///                             .expected_status = "200-299,304",
///                             .json_pointer = "/status", .json_equals = "UP",
///                             .latency_budget = 300ms}),
///             {.timeout = 2s});
///
/// Userinfo in `url` is sent as Basic authentication. Passwords, the full URL and the values of
/// credential headers (Authorization, Cookie, *token*, *key*...) never appear in any output.
struct http_options {
  /// `http://` or `https://` URL.
  std::string url{};
  /// Request method (GET, HEAD, POST, ...).
  std::string method = "GET";
  /// Request body, sent with its Content-Length when not empty (set a Content-Type in
  /// `headers`). Used by the notifiers to POST their JSON.
  std::string body{};
  /// Extra request headers. Host, User-Agent and Connection are set unless given here.
  std::vector<std::pair<std::string, std::string>> headers{};
  /// Accepted status codes: comma-separated codes and ranges, e.g. "200-299,301".
  std::string expected_status = "200-299";
  /// The body must contain this text (empty = no condition).
  std::string body_contains{};
  /// The body must match this ECMAScript regex somewhere (empty = no condition).
  std::string body_regex{};
  /// RFC 6901 pointer into a JSON body, e.g. "/status" (empty = no condition). With
  /// `json_equals` empty, the pointer must merely exist.
  std::string json_pointer{};
  /// Expected value at `json_pointer`, as JSON text ("true", "3", "\"UP\""); text that is not
  /// valid JSON is compared as a string, so `UP` works too.
  std::string json_equals{};
  /// Slower than this (the whole exchange, redirects included) → `warn` (0 = no budget).
  std::chrono::milliseconds latency_budget{0};
  /// Same-host redirects followed (0 = report the 3xx status as is).
  int max_redirects = 5;
  /// Response bytes read at most; the rest is ignored (conditions see the first bytes only).
  std::size_t max_body_bytes = 64 * 1024;
  /// PEM file of CAs to trust instead of the system ones.
  std::string ca_file{};
  /// PEM client certificate (chain) and private key, for servers that require one.
  std::string client_cert{};
  std::string client_key{};
  /// Skip certificate and hostname verification (testing only).
  bool insecure = false;
  /// Keep the connection (TCP or TLS) open between runs when the server allows it (HTTP/1.1
  /// without `Connection: close`, body read to its end within `max_body_bytes`); the next run
  /// reuses it, and retries once on a fresh connection if the server has closed it meanwhile.
  /// A timeout or any error drops it. `false`: one connection per run, sent `Connection: close`.
  ///
  ///     vitals::checks::http({.url = "http://app:8080/healthz", .keep_alive = false});
  bool keep_alive = true;
};

/// Builds an HTTP check. Throws std::invalid_argument for a bad URL (shown with its password
/// masked), a bad status list or regex, unreadable CA/cert/key files, or a negative budget.
[[nodiscard]] std::shared_ptr<vitals::check> http(http_options options);

}  // namespace vitals::checks
