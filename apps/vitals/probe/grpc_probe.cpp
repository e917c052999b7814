#include "probe/grpc_probe.hpp"

#include <poll.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "probe/duration.hpp"
#include "probe/grpc_wire.hpp"
#include "probe/h2.hpp"
#include "probe/net.hpp"
#include "probe/probe.hpp"
#include "probe/sv.hpp"
#include "probe/url.hpp"

// The gRPC health probe: one grpc.health.v1.Health/Check over one HTTP/2 connection, for the
// same place as the HTTP probe (Docker HEALTHCHECK, Kubernetes exec probes), with the options of
// grpc-health-probe. HTTP/2 framing and HPACK are libnghttp2's (dlopen()ed here, never linked);
// the gRPC message and its two protobufs are a few bytes each, encoded by hand (grpc_wire).

namespace vitals::cli {

namespace {

using net::fail;
using net::rd;

constexpr const char* usage_text =
    "usage: vitals probe [options] grpc://host:port[/service]\n"
    "\n"
    "One grpc.health.v1.Health/Check (HTTP/2: h2c, or h2 over TLS with --tls), for Docker\n"
    "HEALTHCHECK and Kubernetes exec probes. Options as grpc-health-probe's (-flag or --flag,\n"
    "value as --flag=v or --flag v):\n"
    "\n"
    "      --service NAME          service to check (default \"\": the whole server; or the\n"
    "                              URL path)\n"
    "      --connect-timeout D     deadline to connect, TLS included (default 1s)\n"
    "      --rpc-timeout D         deadline of the call, sent as grpc-timeout (default 1s)\n"
    "  -t, --timeout D             hard cap for the whole probe (default: the sum of both)\n"
    "      --tls                   use TLS (ALPN h2)\n"
    "      --tls-ca-cert FILE      trust this CA bundle instead of the system store\n"
    "      --tls-client-cert FILE  client certificate, PEM (mTLS; with --tls-client-key)\n"
    "      --tls-client-key FILE   private key of --tls-client-cert, PEM\n"
    "      --tls-server-name NAME  name to send (SNI) and verify, instead of the URL's host\n"
    "      --tls-no-verify         do not verify the server certificate (testing only)\n"
    "      --rpc-header 'K: V'     metadata sent with the call (repeatable)\n"
    "      --user-agent UA         user-agent (default vitals-probe/1)\n"
    "  -v, --verbose               print the status on stdout (status: SERVING)\n"
    "  -h, --help                  this text\n"
    "\n"
    "exit codes (grpc-health-probe's in brackets):\n"
    "  0 SERVING [0]                    1 NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN [4]\n"
    "  3 timeout: connect or rpc [2, 3]  4 refused/reset/unreachable [2]\n"
    "  5 rpc failed (grpc-status not OK, e.g. NOT_FOUND for an unknown service or\n"
    "    UNIMPLEMENTED without a health service), or not a gRPC answer [3]\n"
    "  6 dns [2]   7 tls [2]   64 usage [1]   70 internal\n"
    "  (2 is never used: Docker reserves it)\n";

constexpr std::size_t max_headers = 32;
constexpr std::size_t max_header_name = 128;
constexpr std::string_view health_path = "/grpc.health.v1.Health/Check";

struct metadata {
  const char* name;  // lower-cased copy
  std::size_t name_len;
  const char* value;
  std::size_t value_len;
};

struct options {
  const char* url = nullptr;
  const char* service = nullptr;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds rpc_timeout{1000};
  std::chrono::milliseconds timeout{0};  // 0: connect + rpc
  bool tls = false;
  const char* ca_file = nullptr;
  const char* cert_file = nullptr;
  const char* key_file = nullptr;
  const char* server_name = nullptr;
  bool no_verify = false;
  metadata headers[max_headers] = {};
  std::size_t header_count = 0;
  const char* user_agent = "vitals-probe/1";
  bool verbose = false;
};

char g_header_names[max_headers][max_header_name];

int usage(const char* what) noexcept {
  std::fprintf(stderr, "vitals probe: %s\n(see vitals probe grpc:// --help)\n", what);
  return usage_error;
}

bool token_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

// Headers that HTTP/2 forbids or that the probe itself owns.
bool reserved_header(std::string_view name) noexcept {
  constexpr std::string_view reserved[] = {
      "content-type",    "te",   "grpc-timeout", "grpc-encoding", "grpc-accept-encoding",
      "connection",      "host", "keep-alive",   "upgrade",       "transfer-encoding",
      "proxy-connection"};
  for (const std::string_view r : reserved) {
    if (name == r) return true;
  }
  return false;
}

// `key: value` or `key:value`, as grpc-health-probe's -rpc-header.
int add_header(options& opt, const char* text) noexcept {
  const std::string_view h = text;
  const auto colon = h.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return usage("--rpc-header: expected 'name: value'");
  }
  if (opt.header_count == max_headers) return usage("--rpc-header: too many headers");
  std::string_view name = sub(h, 0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  if (name.empty() || name.size() >= max_header_name) {
    return usage("--rpc-header: invalid header name");
  }
  char* lower = g_header_names[opt.header_count];
  for (std::size_t i = 0; i < name.size(); ++i) {
    char ch = name[i];
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    if (!token_char(ch)) return usage("--rpc-header: invalid character in header name");
    lower[i] = ch;
  }
  lower[name.size()] = '\0';
  if (reserved_header({lower, name.size()})) {
    return usage("--rpc-header: this header is set by the probe itself");
  }
  std::string_view value = sub(h, colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  for (const char ch : value) {
    if (ch == '\r' || ch == '\n' || ch == '\0') {
      return usage("--rpc-header: invalid character in header value");
    }
  }
  opt.headers[opt.header_count++] = {lower, name.size(), value.data(), value.size()};
  return 0;
}

int parse_args(int argc, char** argv, options& opt) noexcept {
  for (int i = 1; i < argc; ++i) {
    const std::string_view full = argv[i];
    std::string_view arg = full;
    // Go's flag package (grpc-health-probe) takes -flag and --flag alike.
    bool long_form = false;
    if (sub(arg, 0, 2) == "--" && arg.size() > 2) {
      arg.remove_prefix(2);
      long_form = true;
    } else if (arg.size() > 2 && arg[0] == '-') {
      arg.remove_prefix(1);
      long_form = true;
    } else if (arg.size() == 2 && arg[0] == '-') {
      arg.remove_prefix(1);
    } else {
      if (opt.url != nullptr) return usage("exactly one URL expected");
      opt.url = argv[i];
      continue;
    }
    const char* inline_value = nullptr;
    if (long_form) {
      if (const auto eq = arg.find('='); eq != std::string_view::npos) {
        inline_value = argv[i] + (full.size() - arg.size()) + eq + 1;
        arg = sub(arg, 0, eq);
      }
    }
    auto value = [&](const char*& out) -> bool {
      if (inline_value != nullptr) {
        out = inline_value;
        return true;
      }
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    // Boolean flags: -tls, -tls=true, -tls=false.
    auto flag = [&](bool& out) -> bool {
      if (inline_value == nullptr) {
        out = true;
        return true;
      }
      const std::string_view v = inline_value;
      if (v == "true" || v == "1") {
        out = true;
      } else if (v == "false" || v == "0") {
        out = false;
      } else {
        return false;
      }
      return true;
    };
    auto duration = [&](const char* name, std::chrono::milliseconds& out) -> int {
      const char* v = nullptr;
      char msg[120];
      if (!value(v) || !parse_duration(v, out) || out.count() <= 0) {
        std::snprintf(msg, sizeof msg, "--%s: expected a positive duration such as 1s or 500ms",
                      name);
        return usage(msg);
      }
      return 0;
    };
    auto file = [&](const char* name, const char*& out) -> int {
      if (!value(out) || *out == '\0') {
        char msg[120];
        std::snprintf(msg, sizeof msg, "--%s needs a value", name);
        return usage(msg);
      }
      return 0;
    };
    int rc = 0;
    const char* v = nullptr;
    if (arg == "h" || arg == "help") {
      std::fputs(usage_text, stdout);
      return -1;
    } else if (arg == "v" || arg == "verbose") {
      if (!flag(opt.verbose)) return usage("--verbose takes no value");
    } else if (arg == "service") {
      if (!value(v)) return usage("--service needs a name");
      opt.service = v;
    } else if (arg == "connect-timeout") {
      rc = duration("connect-timeout", opt.connect_timeout);
    } else if (arg == "rpc-timeout") {
      rc = duration("rpc-timeout", opt.rpc_timeout);
    } else if (arg == "t" || arg == "timeout") {
      rc = duration("timeout", opt.timeout);
    } else if (arg == "tls") {
      if (!flag(opt.tls)) return usage("--tls: expected true or false");
    } else if (arg == "tls-no-verify") {
      if (!flag(opt.no_verify)) return usage("--tls-no-verify: expected true or false");
    } else if (arg == "tls-ca-cert") {
      rc = file("tls-ca-cert", opt.ca_file);
    } else if (arg == "tls-client-cert") {
      rc = file("tls-client-cert", opt.cert_file);
    } else if (arg == "tls-client-key") {
      rc = file("tls-client-key", opt.key_file);
    } else if (arg == "tls-server-name") {
      rc = file("tls-server-name", opt.server_name);
    } else if (arg == "rpc-header") {
      if (!value(v)) return usage("--rpc-header needs 'name: value'");
      rc = add_header(opt, v);
    } else if (arg == "user-agent") {
      if (!value(v)) return usage("--user-agent needs a value");
      for (const char* p = v; *p != '\0'; ++p) {
        if (*p == '\r' || *p == '\n') return usage("--user-agent: invalid character");
      }
      opt.user_agent = v;
    } else {
      std::fprintf(stderr, "vitals probe: unknown option %s for grpc://\n", argv[i]);
      return usage_error;
    }
    if (rc != 0) return rc;
  }
  if (opt.url == nullptr) return usage("missing URL");
  if (!opt.tls && (opt.ca_file != nullptr || opt.cert_file != nullptr || opt.key_file != nullptr ||
                   opt.server_name != nullptr || opt.no_verify)) {
    return usage("--tls-* options need --tls");
  }
  if (opt.no_verify && opt.ca_file != nullptr) {
    return usage("--tls-no-verify and --tls-ca-cert exclude each other");
  }
  if ((opt.cert_file == nullptr) != (opt.key_file == nullptr)) {
    return usage("--tls-client-cert and --tls-client-key go together");
  }
  return 0;
}

// ---- one call ----------------------------------------------------------------------------

struct call {
  std::int32_t stream_id = -1;
  const unsigned char* body = nullptr;
  std::size_t body_len = 0;
  std::size_t body_sent = 0;

  int http_status = 0;
  bool grpc_content_type = false;
  char content_type[64] = "";
  int grpc_status = -1;
  char grpc_message[200] = "";
  grpc_wire::message_reader reader;

  bool closed = false;
  std::uint32_t close_error = 0;
  bool goaway = false;
  std::uint32_t goaway_error = 0;
};

ssize_t read_body(nghttp2_session* /*session*/, std::int32_t /*stream_id*/, std::uint8_t* buf,
                  std::size_t length, std::uint32_t* data_flags, nghttp2_data_source* source,
                  void* /*user_data*/) {
  auto* c = static_cast<call*>(source->ptr);
  const std::size_t left = c->body_len - c->body_sent;
  const std::size_t n = left < length ? left : length;
  std::memcpy(buf, c->body + c->body_sent, n);
  c->body_sent += n;
  if (c->body_sent == c->body_len) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

int on_header(nghttp2_session* /*session*/, const nghttp2_frame* frame, const std::uint8_t* name,
              std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
              std::uint8_t /*flags*/, void* user_data) {
  auto* c = static_cast<call*>(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != c->stream_id) return 0;
  const std::string_view n{reinterpret_cast<const char*>(name), namelen};
  const std::string_view v{reinterpret_cast<const char*>(value), valuelen};
  if (n == ":status") {
    int code = 0;
    for (const char ch : v)
      code = ch >= '0' && ch <= '9' && code < 1000 ? code * 10 + (ch - '0') : 1000;
    c->http_status = code;
  } else if (n == "content-type") {
    c->grpc_content_type = v == "application/grpc" || sub(v, 0, 17) == "application/grpc+" ||
                           sub(v, 0, 17) == "application/grpc;";
    grpc_wire::printable_message(sub(v, 0, sizeof c->content_type - 1), c->content_type,
                                 sizeof c->content_type);
  } else if (n == "grpc-status") {
    const int s = grpc_wire::parse_status(v);
    c->grpc_status = s < 0 ? 2 : s;  // malformed: UNKNOWN, as gRPC clients do
  } else if (n == "grpc-message") {
    grpc_wire::printable_message(v, c->grpc_message, sizeof c->grpc_message);
  }
  return 0;
}

int on_data_chunk(nghttp2_session* /*session*/, std::uint8_t /*flags*/, std::int32_t stream_id,
                  const std::uint8_t* data, std::size_t len, void* user_data) {
  auto* c = static_cast<call*>(user_data);
  if (stream_id == c->stream_id) c->reader.feed(data, len);
  return 0;
}

int on_frame(nghttp2_session* /*session*/, const nghttp2_frame* frame, void* user_data) {
  auto* c = static_cast<call*>(user_data);
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    c->goaway = true;
    c->goaway_error = frame->goaway.error_code;
  }
  return 0;
}

int on_stream_close(nghttp2_session* /*session*/, std::int32_t stream_id, std::uint32_t error_code,
                    void* user_data) {
  auto* c = static_cast<call*>(user_data);
  if (stream_id == c->stream_id) {
    c->closed = true;
    c->close_error = error_code;
  }
  return 0;
}

// Collects nghttp2's output so that the preface, SETTINGS, HEADERS and DATA leave in one write.
struct out_buffer {
  char data[16 * 1024];
  std::size_t len = 0;
};

int flush(const h2::api& a, nghttp2_session* s, net::connection& c, out_buffer& out,
          const net::deadline& dl) noexcept {
  for (;;) {
    const std::uint8_t* chunk = nullptr;
    const ssize_t n = a.mem_send(s, &chunk);
    if (n < 0) return fail(internal, a.strerror(static_cast<int>(n)));
    if (n == 0) break;
    const auto size = static_cast<std::size_t>(n);
    if (out.len + size > sizeof out.data) {
      if (const int rc = net::send_all(c, out.data, out.len, dl); rc != healthy) return rc;
      out.len = 0;
    }
    if (size > sizeof out.data) {
      if (const int rc = net::send_all(c, reinterpret_cast<const char*>(chunk), size, dl);
          rc != healthy) {
        return rc;
      }
      continue;
    }
    std::memcpy(out.data + out.len, chunk, size);
    out.len += size;
  }
  if (out.len == 0) return healthy;
  const int rc = net::send_all(c, out.data, out.len, dl);
  out.len = 0;
  return rc;
}

// Namespace scope, not function statics: those would need libstdc++'s __cxa_guard.
out_buffer g_out;
char g_in[16 * 1024];
unsigned char g_body[grpc_wire::max_service + 16];

// The verdict once our stream is closed. `svc` is the service, for the message.
int verdict(const h2::api& a, call& c, std::string_view svc, bool verbose) noexcept {
  char msg[512];
  const int svc_len = static_cast<int>(svc.size() < 200 ? svc.size() : 200);
  if (c.http_status == 0 && c.goaway) {
    std::snprintf(msg, sizeof msg, "the server closed the connection before answering (GOAWAY %s)",
                  a.http2_strerror(c.goaway_error));
    return fail(bad_response, msg);
  }
  if (c.http_status == 0) {
    std::snprintf(msg, sizeof msg, "service \"%.*s\": the stream was reset before any answer (%s)",
                  svc_len, svc.data(), a.http2_strerror(c.close_error));
    return fail(bad_response, msg);
  }
  // As gRPC clients do: an HTTP error status or another content type is not a gRPC answer,
  // whatever grpc-status says.
  if (c.http_status != 200) {
    std::snprintf(msg, sizeof msg, "HTTP status %d, not a gRPC answer", c.http_status);
    return fail(bad_response, msg);
  }
  if (!c.grpc_content_type) {
    std::snprintf(msg, sizeof msg, "content-type \"%s\", not a gRPC answer", c.content_type);
    return fail(bad_response, msg);
  }
  if (c.grpc_status < 0) {
    std::snprintf(msg, sizeof msg, "service \"%.*s\": the stream ended without grpc-status (%s)",
                  svc_len, svc.data(),
                  c.close_error != 0 ? a.http2_strerror(c.close_error) : "no trailers");
    return fail(bad_response, msg);
  }
  if (c.grpc_status != grpc_wire::status_ok) {
    // What the usual codes mean here, when the server did not say.
    const char* hint = "";
    if (c.grpc_message[0] == '\0' && c.grpc_status == 12) {
      hint = " (no grpc.health.v1 service on this server)";
    } else if (c.grpc_message[0] == '\0' && c.grpc_status == 5) {
      hint = " (unknown service)";
    }
    std::snprintf(msg, sizeof msg, "service \"%.*s\": rpc failed: %s%s%s%s", svc_len, svc.data(),
                  grpc_wire::status_name(c.grpc_status), c.grpc_message[0] != '\0' ? ": " : "",
                  c.grpc_message, hint);
    return fail(c.grpc_status == grpc_wire::status_deadline_exceeded ? timed_out : bad_response,
                msg);
  }
  grpc_wire::message_reader& reader = c.reader;
  std::int64_t status = 0;
  const char* error = nullptr;
  if (!reader.finish() ||
      !grpc_wire::decode_health_response(reader.payload(), reader.payload_size(), status, error)) {
    std::snprintf(msg, sizeof msg, "service \"%.*s\": %s", svc_len, svc.data(),
                  error != nullptr ? error : reader.error());
    return fail(bad_response, msg);
  }
  const char* name = grpc_wire::serving_status_name(status);
  char number[32];
  if (name == nullptr) {
    std::snprintf(number, sizeof number, "status %lld", static_cast<long long>(status));
    name = number;
  }
  if (status == grpc_wire::serving) {
    if (verbose) std::printf("status: %s\n", name);
    return healthy;
  }
  if (verbose) std::printf("status: %s\n", name);
  std::snprintf(msg, sizeof msg, "service \"%.*s\": %s", svc_len, svc.data(), name);
  return fail(unhealthy, msg);
}

// Why the connection ended before our stream did.
int connection_ended(const h2::api& a, const call& c, const net::connection& conn,
                     bool has_client_cert, rd how, std::string_view first_bytes,
                     std::size_t received, ssize_t recv_error) noexcept {
  char msg[300];
  // A TLS alert after the handshake, e.g. TLS 1.3's "certificate required" from an mTLS server.
  if (how == rd::reset && conn.use_tls && !conn.tls.network_error()) {
    return fail(tls_failure, conn.tls.error());
  }
  if (sub(first_bytes, 0, 5) == "HTTP/") {
    return fail(bad_response, "the server answered HTTP/1.x: not an HTTP/2 (gRPC) endpoint");
  }
  if (recv_error < 0) {
    std::snprintf(msg, sizeof msg, "HTTP/2 error: %s", a.strerror(static_cast<int>(recv_error)));
    return fail(bad_response, msg);
  }
  if (c.goaway) {
    std::snprintf(msg, sizeof msg, "connection closed by the server (GOAWAY %s)",
                  a.http2_strerror(c.goaway_error));
    return fail(bad_response, msg);
  }
  if (received == 0) {
    if (how == rd::reset) return fail(refused, "connection reset before any response");
    // gRPC servers that require a client certificate close so, without a TLS alert.
    return fail(bad_response, conn.use_tls && !has_client_cert
                                  ? "connection closed without a response (a server that "
                                    "requires a client certificate does so: --tls-client-cert)"
                                  : "connection closed without a response");
  }
  if (how == rd::eof || how == rd::reset) {
    return fail(bad_response, "connection closed before the end of the call");
  }
  return fail(bad_response, "HTTP/2 protocol error from the server");
}

}  // namespace

bool names_grpc_url(int argc, char** argv) noexcept {
  for (int i = 1; i < argc; ++i) {
    if (is_grpc_url(argv[i])) return true;
  }
  return false;
}

int grpc_probe_main(int argc, char** argv) noexcept {
  options opt;
  if (const int rc = parse_args(argc, argv, opt); rc != 0) return rc < 0 ? healthy : rc;
  net::set_shown_url(opt.url);
  grpc_url_parts u;
  const char* url_error = nullptr;
  if (!parse_grpc_url(opt.url, u, url_error)) return fail(usage_error, url_error);
  std::string_view service = u.service;
  if (opt.service != nullptr) {
    if (!service.empty() && service != opt.service) {
      return usage("the service is named twice (URL path and --service)");
    }
    service = opt.service;
  }

  const std::size_t body_len = grpc_wire::encode_health_request(service, g_body, sizeof g_body);
  if (body_len == 0) return usage("--service: name too long");

  char authority[300];
  if (opt.server_name != nullptr) {
    std::snprintf(authority, sizeof authority, "%s", opt.server_name);
  } else {
    std::snprintf(authority, sizeof authority, u.bracketed ? "[%.*s]:%u" : "%.*s:%u",
                  static_cast<int>(u.host.size()), u.host.data(), static_cast<unsigned>(u.port));
  }
  const std::chrono::milliseconds total =
      opt.timeout.count() > 0 ? opt.timeout : opt.connect_timeout + opt.rpc_timeout;
  char timeout_value[16];
  grpc_wire::format_timeout(opt.rpc_timeout < total ? opt.rpc_timeout : total, timeout_value,
                            sizeof timeout_value);

  const char* h2_error = nullptr;
  const h2::api* api = h2::load(h2_error);
  if (api == nullptr) return fail(internal, h2_error);
  const h2::api& a = *api;

  ::signal(SIGPIPE, SIG_IGN);
  const net::deadline whole{total};
  net::arm_backstop(total);

  net::connection conn;
  const net::deadline connect_dl = net::deadline{opt.connect_timeout}.min(whole);
  if (const int rc = net::connect_any(u.host, u.port, connect_dl, conn); rc != healthy) return rc;
  if (opt.tls) {
    conn.use_tls = true;
    const net::tls_settings tls{.verify = !opt.no_verify,
                                .ca_file = opt.ca_file,
                                .cert_file = opt.cert_file,
                                .key_file = opt.key_file,
                                .server_name = opt.server_name,
                                .alpn = std::string_view{"\x02h2", 3}};
    if (const int rc = net::tls_handshake(tls, u.host, connect_dl, conn); rc != healthy) return rc;
    const std::string_view alpn = conn.tls.alpn_selected();
    if (!alpn.empty() && alpn != "h2") {
      return fail(bad_response, "the server chose another protocol than h2 (ALPN): not gRPC");
    }
  }
  const net::deadline rpc_dl = net::deadline{opt.rpc_timeout}.min(whole);

  call c;
  c.body = g_body;
  c.body_len = body_len;
  nghttp2_session_callbacks* callbacks = nullptr;
  if (a.callbacks_new(&callbacks) != 0) return fail(internal, "out of memory (nghttp2)");
  a.set_on_header(callbacks, on_header);
  a.set_on_data_chunk_recv(callbacks, on_data_chunk);
  a.set_on_frame_recv(callbacks, on_frame);
  a.set_on_stream_close(callbacks, on_stream_close);
  nghttp2_session* session = nullptr;
  const int created = a.client_new3(&session, callbacks, &c, nullptr, h2::arena_allocator());
  a.callbacks_del(callbacks);
  if (created != 0) return fail(internal, a.strerror(created));

  // No server push; the defaults are otherwise fine for one small call.
  const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
  a.submit_settings(session, NGHTTP2_FLAG_NONE, settings, 1);

  auto nv = [](std::string_view name, std::string_view value) {
    return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                      reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                      value.size(), NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
  };
  nghttp2_nv headers[8 + max_headers];
  std::size_t n = 0;
  headers[n++] = nv(":method", "POST");
  headers[n++] = nv(":scheme", opt.tls ? "https" : "http");
  headers[n++] = nv(":authority", authority);
  headers[n++] = nv(":path", health_path);
  headers[n++] = nv("content-type", "application/grpc");
  headers[n++] = nv("te", "trailers");
  headers[n++] = nv("grpc-timeout", timeout_value);
  bool custom_agent = false;
  for (std::size_t i = 0; i < opt.header_count; ++i) {
    const metadata& m = opt.headers[i];
    const std::string_view name{m.name, m.name_len};
    if (name == "user-agent") custom_agent = true;
    headers[n++] = nv(name, {m.value, m.value_len});
  }
  if (!custom_agent) headers[n++] = nv("user-agent", opt.user_agent);
  nghttp2_data_provider provider{};
  provider.source.ptr = &c;
  provider.read_callback = read_body;
  c.stream_id = a.submit_request(session, nullptr, headers, n, &provider, &c);
  if (c.stream_id < 0) {
    a.session_del(session);
    return fail(internal, a.strerror(c.stream_id));
  }

  char first_bytes[8];
  std::size_t first_len = 0;
  std::size_t received = 0;
  ssize_t recv_error = 0;
  rd how = rd::data;
  int rc = healthy;
  for (;;) {
    if (rc = flush(a, session, conn, g_out, rpc_dl); rc != healthy) break;
    if (c.closed || (a.want_read(session) == 0 && a.want_write(session) == 0)) break;
    std::size_t got = 0;
    how = net::receive(conn, g_in, sizeof g_in, got, rpc_dl);
    if (how == rd::timeout) {
      char msg[120];
      std::snprintf(msg, sizeof msg, "timeout: the health rpc did not complete within %lld ms",
                    static_cast<long long>(opt.rpc_timeout.count()));
      rc = fail(timed_out, msg);
      break;
    }
    if (how != rd::data) break;
    if (first_len < sizeof first_bytes) {
      const std::size_t take =
          got < sizeof first_bytes - first_len ? got : sizeof first_bytes - first_len;
      std::memcpy(first_bytes + first_len, g_in, take);
      first_len += take;
    }
    received += got;
    recv_error = a.mem_recv(session, reinterpret_cast<const std::uint8_t*>(g_in), got);
    if (recv_error < 0) break;
  }
  if (rc == healthy) {
    rc = c.closed ? verdict(a, c, service, opt.verbose)
                  : connection_ended(a, c, conn, opt.cert_file != nullptr, how,
                                     {first_bytes, first_len}, received, recv_error);
  }
  a.session_del(session);
  return rc;
}

}  // namespace vitals::cli
