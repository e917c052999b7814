#include "probe/probe.hpp"

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "probe/duration.hpp"
#include "probe/grpc_probe.hpp"
#include "probe/http_status.hpp"
#include "probe/net.hpp"
#include "probe/sv.hpp"
#include "probe/url.hpp"

// Why hand-written sockets instead of Asio/Beast/libcurl: this path runs once per Docker
// HEALTHCHECK or Kubernetes exec probe, i.e. forever, on every replica. Its cost is almost all
// process startup (dynamic loading, relocations, static initialisers), so it uses nothing but
// libc: no heap, no exceptions, no iostreams, OpenSSL only via dlopen for https.

namespace vitals::cli {

namespace {

using net::fail;
using net::rd;

constexpr const char* usage_text =
    "usage: vitals probe [options] URL\n"
    "\n"
    "HTTP(S) GET for Docker HEALTHCHECK and Kubernetes exec probes.\n"
    "(grpc://host:port[/service]: the grpc.health.v1 Check; see vitals probe grpc:// --help)\n"
    "\n"
    "options:\n"
    "  -t, --timeout DURATION  hard deadline for the whole probe (default 2s; e.g. 500ms, 1.5s)\n"
    "  -H, --header 'K: V'     extra request header (repeatable)\n"
    "  -k, --insecure          do not verify the server certificate (https)\n"
    "      --ca FILE           trust this CA bundle instead of the system store (https)\n"
    "      --cert FILE         client certificate, PEM (https, mTLS; with --key)\n"
    "      --key FILE          private key of --cert, PEM\n"
    "  -v, --verbose           print the response (status, headers, body) on stdout\n"
    "  -h, --help              this text\n"
    "\n"
    "exit codes:\n"
    "  0 healthy (2xx)        1 unhealthy (any other status)   3 timeout\n"
    "  4 refused/reset        5 bad response (not HTTP)        6 dns\n"
    "  7 tls                  64 usage                         70 internal\n"
    "  (2 is never used: Docker reserves it)\n";

constexpr std::size_t max_headers = 32;
constexpr std::size_t request_cap = std::size_t{8} * 1024;
constexpr std::size_t response_cap = std::size_t{64} * 1024;

struct options {
  const char* url = nullptr;
  std::chrono::milliseconds timeout{2000};
  const char* headers[max_headers] = {};
  std::size_t header_count = 0;
  bool insecure = false;
  const char* ca_file = nullptr;
  const char* cert_file = nullptr;
  const char* key_file = nullptr;
  bool verbose = false;
};

int usage(const char* what) noexcept {
  std::fprintf(stderr, "vitals probe: %s\n(see vitals probe --help)\n", what);
  return usage_error;
}

int parse_args(int argc, char** argv, options& opt) noexcept {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    bool has_inline = false;
    if (arg.size() > 2 && sub(arg, 0, 2) == "--") {
      if (const auto eq = arg.find('='); eq != std::string_view::npos) {
        arg = sub(arg, 0, eq);
        has_inline = true;
      }
    }
    auto value = [&](const char*& out) -> bool {
      if (has_inline) {
        out = argv[i] + (arg.size() + 1);
        return true;
      }
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    const char* v = nullptr;
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage_text, stdout);
      return -1;
    } else if (arg == "-t" || arg == "--timeout") {
      if (!value(v)) return usage("--timeout needs a duration (e.g. 2s)");
      if (!parse_duration(v, opt.timeout) || opt.timeout.count() <= 0) {
        return usage("--timeout: expected a positive duration such as 2s or 500ms");
      }
    } else if (arg == "-H" || arg == "--header") {
      if (!value(v)) return usage("--header needs 'Name: value'");
      const std::string_view h = v;
      const auto colon = h.find(':');
      if (colon == 0 || colon == std::string_view::npos) {
        return usage("--header: expected 'Name: value'");
      }
      for (std::size_t k = 0; k < h.size(); ++k) {
        const char c = h[k];
        if (c == '\r' || c == '\n' || c == '\0' || (k < colon && (c == ' ' || c == '\t'))) {
          return usage("--header: invalid character in header");
        }
      }
      if (opt.header_count == max_headers) return usage("--header: too many headers");
      opt.headers[opt.header_count++] = v;
    } else if (arg == "-k" || arg == "--insecure") {
      opt.insecure = true;
    } else if (arg == "--ca") {
      if (!value(v)) return usage("--ca needs a file");
      opt.ca_file = v;
    } else if (arg == "--cert") {
      if (!value(v)) return usage("--cert needs a file");
      opt.cert_file = v;
    } else if (arg == "--key") {
      if (!value(v)) return usage("--key needs a file");
      opt.key_file = v;
    } else if (arg == "-v" || arg == "--verbose") {
      opt.verbose = true;
    } else if (arg.size() > 1 && arg.front() == '-') {
      std::fprintf(stderr, "vitals probe: unknown option %s\n", argv[i]);
      return usage_error;
    } else {
      if (opt.url != nullptr) return usage("exactly one URL expected");
      opt.url = argv[i];
    }
  }
  if (opt.url == nullptr) return usage("missing URL");
  if ((opt.cert_file == nullptr) != (opt.key_file == nullptr)) {
    return usage("--cert and --key go together");
  }
  return 0;
}

// Appends to a fixed buffer; `ok` turns false on overflow.
struct writer {
  char* buf;
  std::size_t cap;
  std::size_t len = 0;
  bool ok = true;
  void put(std::string_view s) noexcept {
    if (!ok || len + s.size() > cap) {
      ok = false;
      return;
    }
    std::memcpy(buf + len, s.data(), s.size());
    len += s.size();
  }
  void put_uint(unsigned v) noexcept {
    char tmp[12];
    const int n = std::snprintf(tmp, sizeof tmp, "%u", v);
    put(std::string_view{tmp, static_cast<std::size_t>(n)});
  }
  void put_base64(std::string_view s) noexcept {
    constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < s.size(); i += 3) {
      const std::uint32_t b0 = static_cast<unsigned char>(s[i]);
      const std::uint32_t b1 = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
      const std::uint32_t b2 = i + 2 < s.size() ? static_cast<unsigned char>(s[i + 2]) : 0;
      const std::uint32_t n = (b0 << 16) | (b1 << 8) | b2;
      const char out[4] = {alphabet[(n >> 18) & 63], alphabet[(n >> 12) & 63],
                           i + 1 < s.size() ? alphabet[(n >> 6) & 63] : '=',
                           i + 2 < s.size() ? alphabet[n & 63] : '='};
      put(std::string_view{out, 4});
    }
  }
};

bool has_header(const options& opt, std::string_view name) noexcept {
  for (std::size_t i = 0; i < opt.header_count; ++i) {
    const std::string_view h = opt.headers[i];
    const auto colon = h.find(':');
    if (colon != name.size()) continue;
    bool same = true;
    for (std::size_t k = 0; k < colon && same; ++k) {
      char a = h[k];
      char b = name[k];
      if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
      if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
      same = a == b;
    }
    if (same) return true;
  }
  return false;
}

bool build_request(const options& opt, const url_parts& u, writer& w) noexcept {
  w.put("GET ");
  if (u.target.front() != '/') w.put("/");
  w.put(u.target);
  w.put(" HTTP/1.1\r\n");
  if (!has_header(opt, "host")) {
    w.put("Host: ");
    const bool v6 = u.host.find(':') != std::string_view::npos;
    if (v6) w.put("[");
    w.put(u.host);
    if (v6) w.put("]");
    if (u.explicit_port && u.port != (u.tls ? 443 : 80)) {
      w.put(":");
      w.put_uint(u.port);
    }
    w.put("\r\n");
  }
  if (!has_header(opt, "user-agent")) w.put("User-Agent: vitals-probe/1\r\n");
  if (!has_header(opt, "accept")) w.put("Accept: */*\r\n");
  if (!u.userinfo.empty() && !has_header(opt, "authorization")) {
    w.put("Authorization: Basic ");
    w.put_base64(u.userinfo);
    w.put("\r\n");
  }
  w.put("Connection: close\r\n");
  for (std::size_t i = 0; i < opt.header_count; ++i) {
    w.put(opt.headers[i]);
    w.put("\r\n");
  }
  w.put("\r\n");
  return w.ok;
}

// Exit code `unhealthy`, telling the status line, which comes from the peer: short and printable.
int unhealthy_status(std::string_view line) noexcept {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  char msg[160] = "unhealthy: ";
  std::size_t n = std::strlen(msg);
  for (const char ch : line) {
    if (n + 1 >= sizeof msg) break;
    msg[n++] = (ch >= 0x20 && ch < 0x7f) ? ch : '?';
  }
  msg[n] = '\0';
  return fail(unhealthy, msg);
}

}  // namespace

int probe_main(int argc, char** argv) noexcept {
  // grpc:// has its own options (those of grpc-health-probe) and its own client.
  if (names_grpc_url(argc, argv)) return grpc_probe_main(argc, argv);
  options opt;
  if (const int rc = parse_args(argc, argv, opt); rc != 0) return rc < 0 ? healthy : rc;
  net::set_shown_url(opt.url);

  url_parts u;
  const char* url_error = nullptr;
  if (!parse_http_url(opt.url, u, url_error)) return fail(usage_error, url_error);
  if (!u.tls && (opt.insecure || opt.ca_file != nullptr)) {
    // Harmless, but probably a mistake worth telling about.
    std::fprintf(stderr, "vitals probe: note: --insecure/--ca have no effect on http://\n");
  }

  char request[request_cap];
  writer w{request, sizeof request};
  if (!build_request(opt, u, w)) return usage("request too large (URL or headers)");

  // A dead peer must not keep a probe process alive past its deadline, whatever blocks.
  ::signal(SIGPIPE, SIG_IGN);
  const net::deadline dl{opt.timeout};
  net::arm_backstop(opt.timeout);

  net::connection c;
  if (const int rc = net::connect_any(u.host, u.port, dl, c); rc != healthy) return rc;
  if (u.tls) {
    c.use_tls = true;
    const net::tls_settings tls{.verify = !opt.insecure,
                                .ca_file = opt.ca_file,
                                .cert_file = opt.cert_file,
                                .key_file = opt.key_file};
    if (const int rc = net::tls_handshake(tls, u.host, dl, c); rc != healthy) return rc;
  }
  if (const int rc = net::send_all(c, request, w.len, dl); rc != healthy) return rc;

  static char response[response_cap];
  std::size_t have = 0;
  int code = 0;
  std::size_t line_end = 0;
  for (;;) {
    std::size_t got = 0;
    const rd r = net::receive(c, response + have, sizeof response - have, got, dl);
    if (r == rd::timeout) return fail(timed_out, "timeout waiting for the response");
    if (r == rd::reset) {
      if (have == 0) return fail(refused, "connection reset before any response");
      return fail(bad_response, "connection reset in the middle of the status line");
    }
    if (r == rd::eof) {
      return fail(bad_response, have == 0 ? "connection closed without a response"
                                          : "connection closed before a complete status line");
    }
    have += got;
    const status_scan s = scan_status(std::string_view{response, have}, code, line_end);
    if (s == status_scan::done) break;
    if (s == status_scan::bad) return fail(bad_response, "not an HTTP/1.x response");
    if (have == sizeof response) return fail(bad_response, "response head too large");
  }

  if (opt.verbose) {
    // The verdict is known; reading the rest is best effort within what is left of the deadline.
    net::disarm_backstop();
    for (;;) {
      std::size_t got = 0;
      if (have == sizeof response) break;
      if (net::receive(c, response + have, sizeof response - have, got, dl) != rd::data) break;
      have += got;
    }
    std::fwrite(response, 1, have, stdout);
    if (have > 0 && response[have - 1] != '\n') std::fputc('\n', stdout);
    std::fflush(stdout);
  }
  if (code >= 200 && code <= 299) return healthy;
  return unhealthy_status(std::string_view{response, line_end});
}

}  // namespace vitals::cli
