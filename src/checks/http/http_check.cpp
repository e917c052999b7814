#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "common/asio_net.hpp"
#include "common/io_loop.hpp"
#include "common/net.hpp"
#include "common/resolver.hpp"
#include "common/tls_util.hpp"
#include "common/url.hpp"
#include "http/http_rules.hpp"
#include "vitals/checks/descriptors.hpp"
#include "vitals/checks/http.hpp"
#include "vitals/redact.hpp"

namespace vitals::checks {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using boost::system::error_code;
using detail::net_error;
using detail::steady_time;
using detail::url;
using request_type = bhttp::request<bhttp::string_body>;

struct fetch_result {
  std::optional<net_error> error{};
  int status = 0;
  std::string location{};
  std::string body{};
  bool truncated = false;
  /// The response was read to its end and both sides allow another request on the connection.
  bool reusable = false;
};

// One client connection, on the shared loop (only ever touched there). It is stored where a
// later run can find it (the kept connection) only once fully built: a stream that failed to
// construct (out of descriptors) must never be taken for an open one.
struct connection {
  std::optional<beast::tcp_stream> plain{};
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure{};
  asio::ip::tcp::endpoint peer{};
  std::string origin{};  // scheme://host:port it was opened for
  beast::tcp_stream& tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
};

// What the exchange coroutine got to, so a failure names its phase and peer.
struct progress {
  const char* phase = "connecting to";
  asio::ip::tcp::endpoint peer{};
  error_code ec{};
  bool handshake_failed = false;
  bool done = false;
  // A reused connection that failed before the first response byte (retry_on_fresh_connection).
  bool stale = false;
};

template <class Stream>
asio::awaitable<void> exchange(const context& ctx, const std::string& authority, Stream& stream,
                               beast::tcp_stream& tcp,
                               const std::vector<asio::ip::tcp::endpoint>& endpoints, bool reused,
                               const request_type& req, std::size_t cap, steady_time deadline,
                               progress& pr, fetch_result& out) {
  const auto use = [&pr] { return asio::redirect_error(asio::use_awaitable, pr.ec); };
  const auto is_timeout = [&pr] {
    return pr.ec == beast::error::timeout || pr.ec == asio::error::operation_aborted;
  };
  const auto phase = [&](const char* what) {
    pr.phase = what;
    ctx.doing(std::string(what) + " " +
              (pr.peer.port() != 0 ? detail::endpoint_text(pr.peer) : authority));
  };
  tcp.expires_at(deadline);
  if (!reused) {
    phase("connecting to");
    pr.ec = co_await detail::connect_any(tcp, endpoints, pr.peer);
    if (pr.ec) co_return;
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      phase("in TLS handshake with");
      co_await stream.async_handshake(ssl::stream_base::client, use());
      if (pr.ec) {
        pr.handshake_failed = true;
        co_return;
      }
    }
  }
  phase("sending the request to");
  co_await bhttp::async_write(stream, req, use());
  if (pr.ec) {
    pr.stale = detail::retry_on_fresh_connection(reused, !is_timeout(), deadline);
    co_return;
  }

  phase("waiting for the response from");
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (req.method() == bhttp::verb::head) parser.skip(true);
  co_await bhttp::async_read_header(stream, buffer, parser, use());
  if (pr.ec) {
    pr.stale = detail::retry_on_fresh_connection(
        reused, !is_timeout() && !parser.got_some() && buffer.size() == 0, deadline);
    co_return;
  }
  out.status = static_cast<int>(parser.get().result_int());
  if (auto it = parser.get().find(bhttp::field::location); it != parser.get().end()) {
    out.location = std::string(it->value());
  }

  phase("reading the body from");
  std::array<char, 8192> chunk{};
  while (!parser.is_done() && out.body.size() < cap) {
    const std::size_t want = std::min(chunk.size(), cap - out.body.size());
    parser.get().body().data = chunk.data();
    parser.get().body().size = want;
    co_await bhttp::async_read(stream, buffer, parser, use());
    out.body.append(chunk.data(), want - parser.get().body().size);
    if (pr.ec == bhttp::error::need_buffer) pr.ec = {};
    // A server that closes without close_notify after a complete message is common and fine.
    if (pr.ec == ssl::error::stream_truncated && parser.is_done()) pr.ec = {};
    if (pr.ec) co_return;
  }
  out.truncated = !parser.is_done();
  // Leftover bytes would belong to no request of ours: such a connection is not reused.
  out.reusable = !out.truncated && parser.keep_alive() && req.keep_alive() && buffer.size() == 0;
  pr.done = true;
}

class http_check final : public detail::loop_check<http_check> {
  friend loop_check;

 public:
  // The kept connection, and one of its own for a redirect to another origin; one in all when
  // it follows no redirect or keeps no connection (each hop's own is closed before the next).
  [[nodiscard]] std::size_t descriptors() const noexcept override {
    return options_.keep_alive && options_.max_redirects > 0 ? 2 : 1;
  }
  explicit http_check(http_options o) : options_(std::move(o)) {
    url_ = detail::parse_url(options_.url);
    if (url_.scheme != "http" && url_.scheme != "https") {
      throw std::invalid_argument("http check: URL \"" + url_.redacted() +
                                  "\" must start with http:// or https://");
    }
    if (url_.host.empty()) {
      throw std::invalid_argument("http check: URL \"" + url_.redacted() + "\" has no host");
    }
    if (options_.method.empty() || options_.method.find_first_of(" \t\r\n") != std::string::npos) {
      throw std::invalid_argument("http check: invalid method \"" + options_.method + "\"");
    }
    statuses_ = detail::status_ranges::parse(options_.expected_status);
    detail::use_openssl_on_loop();
    if (!options_.body_regex.empty()) {
      try {
        regex_.emplace(options_.body_regex, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        throw std::invalid_argument("http check: invalid body_regex \"" + options_.body_regex +
                                    "\": " + e.what());
      }
    }
    if (!options_.json_pointer.empty()) {
      detail::validate_json_pointer(options_.json_pointer);
      if (!options_.json_equals.empty()) {
        json_expected_ = detail::normalize_json_expected(options_.json_equals);
      }
    } else if (!options_.json_equals.empty()) {
      throw std::invalid_argument("http check: json_equals needs a json_pointer");
    }
    if (options_.latency_budget.count() < 0) {
      throw std::invalid_argument("http check: latency_budget must not be negative");
    }
    if (options_.max_redirects < 0) {
      throw std::invalid_argument("http check: max_redirects must not be negative");
    }
    for (const auto& [name, value] : options_.headers) {
      if (name.empty() || name.find_first_of(" \t\r\n:") != std::string::npos ||
          value.find_first_of("\r\n") != std::string::npos) {
        throw std::invalid_argument("http check: invalid header \"" + name + "\"");
      }
    }

    secrets_.add_secret(options_.url);
    if (url_.has_password) {
      secrets_.add_secret(url_.password);
      basic_auth_ = detail::basic_credentials(url_.user, url_.password);
      secrets_.add_secret(basic_auth_);
      secrets_.add_secret(basic_auth_.substr(6));
    }
    for (const auto& [name, value] : options_.headers) {
      if (!detail::is_credential_header(name)) continue;
      secrets_.add_secret(value);
      // "Bearer abc", "Basic abc", "token abc": the credential alone can be echoed too.
      if (const auto space = value.find(' '); space != std::string::npos) {
        secrets_.add_secret(value.substr(space + 1));
      }
    }

    // Loading the system CA store costs ~100 ms: plain-http checks only pay it if a redirect
    // leads to https. Files given explicitly are loaded now, so mistakes surface at startup.
    if (url_.scheme == "https" || !options_.ca_file.empty() || !options_.client_cert.empty() ||
        !options_.client_key.empty()) {
      make_tls_context();
    }
  }

  [[nodiscard]] check_traits traits() const override {
    return {.type = "http",
            .component_type = "component",
            .measurement = "responseTime",
            .dependency = true,
            .secrets = secrets_.secrets()};
  }

 private:
  // One run; the kept connection does not survive an exception out of it.
  asio::awaitable<result> evaluate(const context& ctx, steady_time started) {
    result r;
    try {
      r = co_await fetch_and_judge(ctx, started);
    } catch (...) {
      kept_.reset();
      throw;
    }
    co_return detail::scrubbed(std::move(r), secrets_);
  }

  asio::awaitable<result> fetch_and_judge(const context& ctx, steady_time started) {
    const auto deadline = ctx.deadline();
    url current = url_;
    fetch_result got;
    int redirects = 0;
    while (true) {
      // Only hops to the URL's own origin go over the kept connection; others get their own.
      got = co_await fetch(ctx, current, started, deadline,
                           options_.keep_alive && origin_of(current) == origin_of(url_));
      if (got.error) {
        co_return detail::to_result(*got.error).detail("url", current.redacted());
      }
      const bool is_redirect = got.status >= 300 && got.status < 400 && got.status != 304;
      if (!is_redirect || options_.max_redirects == 0 || got.location.empty()) break;
      url next;
      try {
        next = detail::resolve_location(current, got.location);
      } catch (const std::invalid_argument&) {
        co_return vitals::fail("invalid redirect Location \"" +
                                   detail::mask_userinfo(got.location) + "\" from " +
                                   current.redacted(),
                               failure_kind::protocol);
      }
      if (!detail::same_host(next, url_)) {
        co_return vitals::fail("redirect to another host refused: " + current.redacted() + " -> " +
                               next.redacted())
            .detail("status", std::to_string(got.status));
      }
      if (next.scheme != "http" && next.scheme != "https") {
        co_return vitals::fail("redirect to unsupported scheme: " + next.redacted(),
                               failure_kind::protocol);
      }
      if (redirects == options_.max_redirects) {
        co_return vitals::fail("too many redirects (more than " +
                               std::to_string(options_.max_redirects) + ") at " +
                               current.redacted());
      }
      ++redirects;
      current = std::move(next);
    }
    const auto elapsed = std::chrono::steady_clock::now() - started;
    const double ms =
        std::round(std::chrono::duration<double, std::milli>(elapsed).count() * 100.0) / 100.0;

    result r = judge(got);
    if (r.status == status::pass && options_.latency_budget.count() > 0 &&
        elapsed > options_.latency_budget) {
      r = vitals::warn("slow response: " + detail::format_duration(elapsed) + " (budget " +
                       detail::format_duration(options_.latency_budget) + ")");
    }
    r.observe(ms, "ms");
    r.detail("status", std::to_string(got.status));
    if (redirects > 0) r.detail("redirects", std::to_string(redirects));
    if (got.truncated)
      r.detail("body", "truncated at " + std::to_string(got.body.size()) + " bytes");
    co_return r;
  }

  result judge(const fetch_result& got) const {
    if (!statuses_.contains(got.status)) {
      return vitals::fail("unexpected status " + std::to_string(got.status) + " (expected " +
                          statuses_.text() + ")");
    }
    const std::string truncated_note =
        got.truncated ? " (in the first " + std::to_string(got.body.size()) + " bytes)" : "";
    if (!options_.body_contains.empty() &&
        got.body.find(options_.body_contains) == std::string::npos) {
      return vitals::fail("body does not contain \"" + options_.body_contains + "\"" +
                          truncated_note);
    }
    if (regex_ && !std::regex_search(got.body, *regex_)) {
      return vitals::fail("body does not match /" + options_.body_regex + "/" + truncated_note);
    }
    if (!options_.json_pointer.empty()) {
      if (auto verdict = detail::check_json(got.body, options_.json_pointer, json_expected_)) {
        return vitals::fail(verdict->message + truncated_note, verdict->protocol_error
                                                                   ? failure_kind::protocol
                                                                   : failure_kind::assertion);
      }
    }
    return vitals::pass();
  }

  void make_tls_context() {
    tls_.emplace(detail::make_client_context({.ca_file = options_.ca_file,
                                              .client_cert = options_.client_cert,
                                              .client_key = options_.client_key,
                                              .fail_handshake_on_bad_cert = !options_.insecure})
                     .release());
  }

  request_type make_request(const url& target, bool keep_alive) const {
    request_type req;
    req.version(11);
    if (const auto verb = bhttp::string_to_verb(options_.method); verb != bhttp::verb::unknown) {
      req.method(verb);
    } else {
      req.method_string(options_.method);
    }
    req.target(target.target());
    req.set(bhttp::field::host, target.authority());
    req.set(bhttp::field::user_agent, "vitals-health-check");
    req.set(bhttp::field::accept, "*/*");
    req.set(bhttp::field::connection, keep_alive ? "keep-alive" : "close");
    if (!basic_auth_.empty()) req.set(bhttp::field::authorization, basic_auth_);
    for (const auto& [name, value] : options_.headers) req.set(name, value);
    if (!options_.body.empty()) {
      req.body() = options_.body;
      req.prepare_payload();
    }
    return req;
  }

  // "https://host:443": what a kept connection must match to be reused.
  static std::string origin_of(const url& u) {
    const bool https = u.scheme == "https";
    std::string host = u.host;
    for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return u.scheme + "://" + detail::host_port(host, u.port_or(https ? 443 : 80));
  }

  // With `reuse`, the exchange goes over the kept connection when it is open to the same origin,
  // and the connection stays open afterwards if the server allows it. Without, a connection of
  // its own is opened and closed.
  asio::awaitable<fetch_result> fetch(const context& ctx, const url& target, steady_time started,
                                      steady_time deadline, bool reuse) {
    const std::string origin = origin_of(target);
    if (!reuse) {
      std::unique_ptr<connection> own;
      co_return co_await attempt(ctx, target, origin, own, false, started, deadline);
    }
    if (kept_ && kept_->origin != origin) kept_.reset();
    if (kept_) {
      auto got = co_await attempt(ctx, target, origin, kept_, true, started, deadline);
      if (!got.stale) co_return got;
      // attempt() has dropped the stale connection: once more on a fresh one.
    }
    co_return co_await attempt(ctx, target, origin, kept_, true, started, deadline);
  }

  struct attempt_result : fetch_result {
    bool stale = false;
  };

  // One exchange over `conn` (opened first if empty). With `keep`, asks the server to keep the
  // connection open and leaves it in `conn` if it can carry the next request; else closes it.
  asio::awaitable<attempt_result> attempt(const context& ctx, const url& target,
                                          const std::string& origin,
                                          std::unique_ptr<connection>& conn, bool keep,
                                          steady_time started, steady_time deadline) {
    attempt_result out;
    const bool https = target.scheme == "https";
    const std::uint16_t port = target.port_or(https ? 443 : 80);
    const bool reused = conn != nullptr;
    std::vector<asio::ip::tcp::endpoint> endpoints;
    if (!reused) {
      if (!detail::numeric_address(target.host, port)) ctx.doing("resolving " + target.host);
      auto looked_up = co_await detail::resolve_on_loop(resolver_, target.host, port, deadline);
      if (!looked_up) {
        out.error = detail::timed_out(started, deadline, "resolving " + target.host);
        co_return out;
      }
      if (!*looked_up) {
        out.error = *looked_up->error;
        co_return out;
      }
      endpoints = detail::to_endpoints(looked_up->addresses);
      if (https && !tls_) {
        try {
          make_tls_context();
        } catch (const std::exception& e) {
          out.error = net_error{failure_kind::internal, e.what()};
          co_return out;
        }
      }
      // Built aside and stored only once complete (see `connection`).
      auto fresh = std::make_unique<connection>();
      fresh->origin = origin;
      if (https) {
        fresh->secure.emplace(detail::io_loop(), *tls_);
        SSL* ssl = fresh->secure->native_handle();
        if (!options_.insecure && !detail::set_peer_name(ssl, target.host)) {
          out.error = net_error{failure_kind::internal,
                                "cannot set TLS peer name: " + detail::take_openssl_error()};
          co_return out;
        }
        if (options_.insecure && !target.host.empty() &&
            !detail::numeric_address(target.host, port)) {
          SSL_set_tlsext_host_name(ssl, target.host.c_str());
        }
      } else {
        fresh->plain.emplace(detail::io_loop());
      }
      conn = std::move(fresh);
    }
    const auto req = make_request(target, keep);

    progress pr;
    pr.peer = conn->peer;
    const std::string authority = detail::host_port(target.host, port);
    if (conn->secure) {
      co_await exchange(ctx, authority, *conn->secure, conn->tcp(), endpoints, reused, req,
                        options_.max_body_bytes, deadline, pr, out);
    } else {
      co_await exchange(ctx, authority, *conn->plain, *conn->plain, endpoints, reused, req,
                        options_.max_body_bytes, deadline, pr, out);
    }
    if (pr.done && !pr.ec) {
      conn->peer = pr.peer;
      if (!out.reusable || !keep) conn.reset();
      co_return out;
    }
    out.stale = pr.stale;
    out.error = describe(pr, target, https, conn->secure ? conn->secure->native_handle() : nullptr,
                         started, deadline);
    conn.reset();
    co_return out;
  }

  net_error describe(const progress& pr, const url& target, bool https, SSL* ssl,
                     steady_time started, steady_time deadline) const {
    const std::string peer =
        pr.peer.port() != 0 ? detail::endpoint_text(pr.peer) : target.authority();
    const auto& ec = pr.ec;
    if (ec == beast::error::timeout || ec == asio::error::operation_aborted) {
      return detail::timed_out(started, deadline, std::string(pr.phase) + " " + peer);
    }
    if (detail::out_of_descriptors(ec)) return detail::descriptors_exhausted();
    if (https && pr.handshake_failed) {
      const long verify = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
      if (!options_.insecure && verify != X509_V_OK) {
        return {failure_kind::tls,
                "TLS certificate of " + peer + " rejected: " + detail::verify_result_text(verify)};
      }
      if (ec.category() == asio::error::get_ssl_category() &&
          detail::is_not_tls_peer_error(static_cast<unsigned long>(ec.value()))) {
        return {failure_kind::protocol, "TLS handshake with " + peer +
                                            " failed: peer does not speak TLS (" +
                                            detail::error_text(ec) + ")"};
      }
      const auto kind = detail::kind_from_error(ec);
      if (kind == failure_kind::refused) {
        return {kind, detail::error_text(ec) + " during TLS handshake (" + peer + ")"};
      }
      if (ec == ssl::error::stream_truncated || ec == asio::error::eof) {
        return {failure_kind::tls,
                "TLS handshake with " + peer + " failed: connection closed by peer"};
      }
      return {failure_kind::tls,
              "TLS handshake with " + peer + " failed: " + detail::error_text(ec)};
    }
    auto kind = detail::kind_from_error(ec);
    if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category()) {
      if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) {
        return {failure_kind::protocol,
                "connection closed by " + peer + " before a complete response"};
      }
      return {failure_kind::protocol,
              "invalid HTTP response from " + peer + ": " + detail::error_text(ec)};
    }
    if (ec == asio::error::eof || ec == ssl::error::stream_truncated) {
      return {failure_kind::protocol,
              "connection closed by " + peer + " before a complete response"};
    }
    if (kind == failure_kind::refused) {
      return {kind, detail::error_text(ec) + " (" + peer + ")"};
    }
    return {kind, detail::error_text(ec) + " " + pr.phase + " " + peer};
  }

  http_options options_;
  url url_{};
  detail::status_ranges statuses_{};
  std::optional<std::regex> regex_{};
  std::string json_expected_{};
  std::string basic_auth_{};
  vitals::redactor secrets_{};
  std::optional<ssl::context> tls_{};
  detail::bounded_resolver resolver_{};
  // Loop thread only, like everything a run touches.
  // The connection kept open between runs to the URL's origin (keep_alive), or empty.
  std::unique_ptr<connection> kept_{};
};

}  // namespace

std::shared_ptr<vitals::check> http(http_options options) {
  return std::make_shared<http_check>(std::move(options));
}

}  // namespace vitals::checks
