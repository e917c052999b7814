// The configuration rows of the HTTP layer: `listen`, `auth`, `http` (with `status_codes`) and
// `server`, bound to the options of vitals::http. Compiled into vitals::config (which owns the
// file format); the HTTP library itself knows nothing of YAML.
#include <charconv>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "config/sections.hpp"
#include "vitals/http/handler.hpp"
#include "vitals/http/server.hpp"

namespace vitals::config::detail {
namespace {

// "address:port" into `address` and `port`, or the reason it is not one.
std::optional<std::string> split_listen(const std::string& v, const std::string& shown,
                                        std::string& address, std::uint16_t& port_out) {
  const std::string bad =
      "expected \"address:port\", e.g. \"127.0.0.1:8081\" or \"[::1]:8081\" (got \"" + shown +
      "\")";
  std::string host;
  std::string_view port_text;
  if (!v.empty() && v.front() == '[') {
    const auto close = v.find(']');
    if (close == std::string::npos || close + 1 >= v.size() || v[close + 1] != ':') return bad;
    host = v.substr(1, close - 1);
    port_text = std::string_view{v}.substr(close + 2);
  } else {
    const auto colon = v.rfind(':');
    if (colon == std::string::npos || v.find(':') != colon) return bad;
    host = v.substr(0, colon);
    port_text = std::string_view{v}.substr(colon + 1);
  }
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (host.empty() || port_text.empty() || ec != std::errc{} ||
      p != port_text.data() + port_text.size()) {
    return bad;
  }
  if (port > 65535) return "port " + std::string{port_text} + " is out of range (0-65535)";
  address = host;
  port_out = static_cast<std::uint16_t>(port);
  return std::nullopt;
}

std::optional<std::string> parse_listen(const std::string& v, const std::string& shown,
                                        document& d) {
  return split_listen(v, shown, d.cfg.server.address, d.cfg.server.port);
}

std::optional<std::string> parse_metrics_listen(const std::string& v, const std::string& shown,
                                                document& d) {
  return split_listen(v, shown, d.cfg.server.metrics_address, d.cfg.server.metrics_port);
}

// A status code key of `http.status_codes`: fills the handler options like its parent section.
void code_key(section_builder<http::handler_options>& b, std::string name,
              int http::status_codes::*member, std::string doc) {
  b.custom(std::move(name), value_kind::integer, std::move(doc),
           [member](http::handler_options& o, const value& v) { assign(o.codes.*member, v); },
           to_value(http::status_codes{}.*member), {.min = 100.0, .max = 599.0});
}

// A string key of `server.tls`.
void tls_path(section_builder<http::server_options>& b, std::string name,
              std::string http::tls_options::*member, std::string doc) {
  b.custom(std::move(name), value_kind::string, std::move(doc),
           [member](http::server_options& o, const value& v) { assign(o.tls.*member, v); });
}

const section_spec& tls_section() {
  static const section_spec s = [] {
    section_builder<http::server_options> b{
        "tls", "HTTPS on the built-in server (OpenSSL); files are reloaded when they change."};
    tls_path(b, "cert_file", &http::tls_options::cert_file,
             "PEM certificate chain, the server's certificate first. Setting it turns HTTPS on.");
    tls_path(b, "key_file", &http::tls_options::key_file, "PEM private key of cert_file.");
    tls_path(b, "client_ca_file", &http::tls_options::client_ca_file,
             "PEM CA bundle for client certificates; a verified one unlocks details as the token "
             "does.");
    b.custom(
        "require_client_cert", value_kind::boolean,
        "Refuse clients without a verified certificate (mTLS only); needs client_ca_file.",
        [](http::server_options& o, const value& v) { assign(o.tls.require_client_cert, v); },
        value{false});
    b.custom("min_version", value_kind::string, "Oldest TLS version accepted: \"1.2\" or \"1.3\".",
             [](http::server_options& o, const value& v) {
               o.tls.min_version = std::get<std::string>(v) == "1.3" ? http::tls_version::tls1_3
                                                                     : http::tls_version::tls1_2;
             },
             value{std::string{"1.2"}}, {}, {"1.2", "1.3"});
    return b.section();
  }();
  return s;
}

// `server` keys that only make sense together.
std::optional<key_problem> server_keys_agree(const document& d) {
  const http::server_options& o = d.cfg.server;
  if (o.event_heartbeat < std::chrono::seconds{1} || o.event_heartbeat > std::chrono::hours{1}) {
    return key_problem{.key = "event_heartbeat",
                       .message = "event_heartbeat must be between 1s and 1h"};
  }
  const http::tls_options& t = d.cfg.server.tls;
  const http::tls_options defaults{};
  if (!t.enabled()) {
    if (t == defaults) return std::nullopt;
    return key_problem{.key = "tls",
                       .message = "tls needs cert_file (and key_file) to turn HTTPS on"};
  }
  if (t.key_file.empty()) {
    return key_problem{.key = "tls", .message = "tls.cert_file is set but tls.key_file is not"};
  }
  if (t.require_client_cert && t.client_ca_file.empty()) {
    return key_problem{.key = "tls", .message = "tls.require_client_cert needs tls.client_ca_file"};
  }
  return std::nullopt;
}

}  // namespace

const section_spec& auth_section() {
  static const section_spec s = [] {
    section_builder<http::handler_options> b{
        "auth", "Bearer token that unlocks outputs and details in responses."};
    b.key("token", &http::handler_options::token,
          "Bearer token (compared in constant time). Prefer token_file or ${ENV}.",
          {.secret = true});
    return b.section();
  }();
  return s;
}

const section_spec& http_section() {
  static const section_spec s = [] {
    section_builder<http::handler_options> b{"http", "What the endpoints show and where."};
    b.choice("details", &http::handler_options::details,
             {{"authorized", http::detail_policy::authorized},
              {"everyone", http::detail_policy::everyone},
              {"nobody", http::detail_policy::nobody}},
             "Who sees outputs, observed values and details: authorized (token), everyone, "
             "nobody. Redaction always applies.");
    b.key("prefix", &http::handler_options::prefix,
          "Serve the endpoints under this path prefix, e.g. /_health.");
    b.choice("metrics", &http::handler_options::metrics,
             {{"details", http::metrics_policy::details},
              {"everyone", http::metrics_policy::everyone},
              {"authorized", http::metrics_policy::authorized},
              {"off", http::metrics_policy::off}},
             "Who may scrape /metrics: details (anonymous only when details is everyone, "
             "otherwise the token or a client certificate), everyone, authorized, off.");
    return b.section();
  }();
  return s;
}

const section_spec& status_page_section() {
  static const section_spec s = [] {
    section_builder<http::handler_options> b{
        "status_page",
        "The status page at /status (docs/status-page.md): server-rendered, public, never an "
        "output."};
    const http::status_page_options defaults{};
    b.custom(
        "enabled", value_kind::boolean, "Serve /status and /status/<target>.",
        [](http::handler_options& o, const value& v) { assign(o.status_page.enabled, v); },
        to_value(defaults.enabled));
    b.custom(
        "title", value_kind::string, "The page's title and heading.",
        [](http::handler_options& o, const value& v) { assign(o.status_page.title, v); },
        to_value(defaults.title));
    b.custom("page_size", value_kind::integer,
             "Targets per page (search, filters and further pages reach the others).",
             [](http::handler_options& o, const value& v) { assign(o.status_page.page_size, v); },
             to_value(defaults.page_size), {.min = 10.0, .max = 10000.0});
    return b.section();
  }();
  return s;
}

const section_spec& status_codes_section() {
  static const section_spec s = [] {
    section_builder<http::handler_options> b{"status_codes", "HTTP status code per probe status."};
    code_key(b, "pass", &http::status_codes::pass, "Code for pass.");
    code_key(b, "warn", &http::status_codes::warn, "Code for warn.");
    code_key(b, "fail", &http::status_codes::fail, "Code for fail.");
    code_key(b, "unknown", &http::status_codes::unknown, "Code for unknown (no result yet).");
    return b.section();
  }();
  return s;
}

const section_spec& server_section() {
  static const section_spec s = [] {
    section_builder<http::server_options> b{"server", "Limits of the built-in HTTP server."};
    b.key("io_threads", &http::server_options::io_threads, "I/O threads.",
          {.min = 1.0, .max = 64.0});
    b.key("max_connections", &http::server_options::max_connections,
          "Open connections at most; at the cap the longest-idle keep-alive (else the oldest "
          "silent) connection is closed to admit a new one, which is refused only when every "
          "connection is busy.",
          {.min = 1.0});
    b.key("max_connections_per_client", &http::server_options::max_connections_per_client,
          "Open connections per client address at most (0 = no limit); beyond it: 503.",
          {.min = 0.0});
    b.key("max_header_bytes", &http::server_options::max_header_bytes,
          "Request line plus headers; over it: 431.", {.min = 256.0});
    b.key("max_request_line", &http::server_options::max_request_line,
          "Request line; over it: 414.", {.min = 64.0});
    b.key("header_timeout", &http::server_options::header_timeout,
          "Time to receive a complete request head (slowloris).");
    b.key("idle_timeout", &http::server_options::idle_timeout,
          "Time a keep-alive connection may stay idle.");
    b.key("max_pipelined", &http::server_options::max_pipelined,
          "Pipelined requests answered per read.", {.min = 1.0});
    b.key("max_event_streams", &http::server_options::max_event_streams,
          "Open /api/v1/events streams at most, and at most half of max_connections (streams "
          "are never closed to make room); beyond it: 503.",
          {.min = 1.0});
    b.key("event_heartbeat", &http::server_options::event_heartbeat,
          "A comment line on an event stream quiet this long (keeps proxies from closing it).");
    return b.section();
  }();
  return s;
}

top_level_key metrics_listen_key() {
  return {.name = "metrics_listen",
          .doc =
              "A second listener serving /metrics alone, to any caller that reaches it "
              "(\"address:port\", e.g. a pod port only Prometheus scrapes); same TLS, "
              "limits and timeouts as listen.",
          .shape = section_shape::scalar,
          .expects = "\"address:port\"",
          .parse = parse_metrics_listen};
}

top_level_key listen_key() {
  return {.name = "listen",
          .doc = "Address and port of the HTTP server, \"address:port\" (IPv6 as \"[::1]:8081\").",
          .shape = section_shape::scalar,
          .expects = "\"address:port\"",
          .parse = parse_listen};
}

top_level_key auth_key() {
  return {.name = "auth",
          .doc = auth_section().doc,
          .section = &auth_section(),
          .bind = [](document& d) -> void* { return &d.cfg.http; }};
}

top_level_key http_key() {
  return {.name = "http",
          .doc = http_section().doc,
          .section = &http_section(),
          .children = {{"status_codes", &status_codes_section()},
                       {"status_page", &status_page_section()}},
          .bind = [](document& d) -> void* { return &d.cfg.http; }};
}

top_level_key server_key() {
  return {.name = "server",
          .doc = server_section().doc,
          .section = &server_section(),
          .children = {{"tls", &tls_section()}},
          .bind = [](document& d) -> void* { return &d.cfg.server; },
          .rule = server_keys_agree};
}

}  // namespace vitals::config::detail
