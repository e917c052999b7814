#include "probe/probe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "probe/duration.hpp"
#include "probe/http_status.hpp"
#include "probe/sv.hpp"
#include "probe/tls.hpp"
#include "probe/url.hpp"

// Why hand-written sockets instead of Asio/Beast/libcurl: this path runs once per Docker
// HEALTHCHECK or Kubernetes exec probe, i.e. forever, on every replica. Its cost is almost all
// process startup (dynamic loading, relocations, static initialisers), so it uses nothing but
// libc: no heap, no exceptions, no iostreams, OpenSSL only via dlopen for https.

namespace vitals::cli {

namespace {

constexpr const char* usage_text =
    "usage: vitals probe [options] URL\n"
    "\n"
    "HTTP(S) GET for Docker HEALTHCHECK and Kubernetes exec probes.\n"
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
constexpr std::size_t request_cap = 8 * 1024;
constexpr std::size_t response_cap = 64 * 1024;

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

// The URL shown in messages, with any password masked.
char g_shown_url[512] = "";
// Prebuilt so the SIGALRM handler only calls async-signal-safe write().
char g_timeout_message[600] = "";
std::size_t g_timeout_message_len = 0;

int fail(int code, const char* what) noexcept {
  std::fprintf(stderr, "vitals probe: %s: %s\n", g_shown_url, what);
  return code;
}

int usage(const char* what) noexcept {
  std::fprintf(stderr, "vitals probe: %s\n(see vitals probe --help)\n", what);
  return usage_error;
}

extern "C" void on_deadline(int /*signo*/) {
  // Backstop for calls without a deadline of their own (getaddrinfo, OpenSSL internals).
  const ssize_t ignored = ::write(STDERR_FILENO, g_timeout_message, g_timeout_message_len);
  static_cast<void>(ignored);
  _exit(timed_out);
}

std::int64_t now_ms() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

class deadline {
 public:
  explicit deadline(std::chrono::milliseconds d) noexcept : end_ms_(now_ms() + d.count()) {}
  // Milliseconds left for poll(); 0 once expired.
  [[nodiscard]] int remaining() const noexcept {
    const std::int64_t left = end_ms_ - now_ms();
    if (left <= 0) return 0;
    return left > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(left);
  }

 private:
  std::int64_t end_ms_;
};

// Waits for `events` on fd. Returns false on deadline.
bool wait_for(int fd, short events, const deadline& dl) noexcept {
  for (;;) {
    const int left = dl.remaining();
    if (left == 0) return false;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, left);
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return true;  // let the following I/O call report the error
  }
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

struct connection {
  int fd = -1;
  bool use_tls = false;
  tls_client tls{};
};

int connect_any(const url_parts& u, const deadline& dl, connection& c) noexcept {
  char host[256];
  if (u.host.size() >= sizeof host) return fail(usage_error, "host name too long");
  std::memcpy(host, u.host.data(), u.host.size());
  host[u.host.size()] = '\0';

  sockaddr_storage numeric{};
  socklen_t numeric_len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&numeric);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&numeric);
  addrinfo numeric_ai{};
  addrinfo* list = nullptr;
  // Literal addresses skip the resolver entirely (no NSS modules loaded).
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(u.port);
    numeric_len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(u.port);
    numeric_len = sizeof(sockaddr_in6);
  }
  if (numeric_len != 0) {
    numeric_ai.ai_family = numeric.ss_family;
    numeric_ai.ai_socktype = SOCK_STREAM;
    numeric_ai.ai_addr = reinterpret_cast<sockaddr*>(&numeric);
    numeric_ai.ai_addrlen = numeric_len;
    list = &numeric_ai;
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char port[8];
    std::snprintf(port, sizeof port, "%u", static_cast<unsigned>(u.port));
    const int rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
      char msg[300];
      std::snprintf(msg, sizeof msg, "cannot resolve %s: %s", host, gai_strerror(rc));
      return fail(rc == EAI_SYSTEM ? internal : dns_failure, msg);
    }
  }

  int last_errno = ECONNREFUSED;
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int err = 0;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        if (!wait_for(fd, POLLOUT, dl)) {
          ::close(fd);
          return fail(timed_out, "timeout while connecting");
        }
        socklen_t len = sizeof err;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      }
    }
    if (err == 0) {
      c.fd = fd;
      return healthy;
    }
    ::close(fd);
    last_errno = err;
  }
  const char* what = last_errno == ECONNREFUSED ? "connection refused" : std::strerror(last_errno);
  if (last_errno == EMFILE || last_errno == ENFILE || last_errno == ENOBUFS ||
      last_errno == ENOMEM) {
    return fail(internal, what);
  }
  return fail(refused, what);
}

int tls_handshake(const options& opt, const url_parts& u, const deadline& dl,
                  connection& c) noexcept {
  char host[256];
  std::memcpy(host, u.host.data(), u.host.size());
  host[u.host.size()] = '\0';
  if (!c.tls.init(!opt.insecure, opt.ca_file) ||
      (opt.cert_file != nullptr && !c.tls.use_client_certificate(opt.cert_file, opt.key_file)) ||
      !c.tls.attach(c.fd, host)) {
    return fail(tls_failure, c.tls.error());
  }
  for (;;) {
    switch (c.tls.handshake()) {
      case tls_client::io::ok:
        return healthy;
      case tls_client::io::want_read:
        if (!wait_for(c.fd, POLLIN, dl)) return fail(timed_out, "timeout during TLS handshake");
        break;
      case tls_client::io::want_write:
        if (!wait_for(c.fd, POLLOUT, dl)) return fail(timed_out, "timeout during TLS handshake");
        break;
      case tls_client::io::closed:
        return fail(tls_failure, "connection closed during TLS handshake");
      case tls_client::io::error:
        if (c.tls.network_error() && (errno == ECONNRESET || errno == ECONNREFUSED)) {
          return fail(refused, "connection reset during TLS handshake");
        }
        return fail(tls_failure, c.tls.error());
    }
  }
}

// Returns healthy once all bytes are written, else an exit code (message printed).
int send_all(connection& c, const char* data, std::size_t len, const deadline& dl) noexcept {
  std::size_t off = 0;
  while (off < len) {
    if (c.use_tls) {
      std::size_t n = 0;
      switch (c.tls.write(data + off, len - off, n)) {
        case tls_client::io::ok:
          off += n;
          continue;
        case tls_client::io::want_read:
          if (!wait_for(c.fd, POLLIN, dl)) return fail(timed_out, "timeout sending the request");
          continue;
        case tls_client::io::want_write:
          if (!wait_for(c.fd, POLLOUT, dl)) return fail(timed_out, "timeout sending the request");
          continue;
        case tls_client::io::closed:
        case tls_client::io::error:
          return fail(refused, "connection reset while sending the request");
      }
    }
    const ssize_t n = ::send(c.fd, data + off, len - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(c.fd, POLLOUT, dl)) return fail(timed_out, "timeout sending the request");
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return fail(refused, "connection reset while sending the request");
    }
  }
  return healthy;
}

enum class rd { data, eof, timeout, reset };

rd receive(connection& c, char* buf, std::size_t cap, std::size_t& got,
           const deadline& dl) noexcept {
  for (;;) {
    if (c.use_tls) {
      switch (c.tls.read(buf, cap, got)) {
        case tls_client::io::ok:
          return rd::data;
        case tls_client::io::want_read:
          if (!wait_for(c.fd, POLLIN, dl)) return rd::timeout;
          continue;
        case tls_client::io::want_write:
          if (!wait_for(c.fd, POLLOUT, dl)) return rd::timeout;
          continue;
        case tls_client::io::closed:
          return rd::eof;
        case tls_client::io::error:
          return rd::reset;
      }
    }
    const ssize_t n = ::recv(c.fd, buf, cap, 0);
    if (n > 0) {
      got = static_cast<std::size_t>(n);
      return rd::data;
    }
    if (n == 0) return rd::eof;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_for(c.fd, POLLIN, dl)) return rd::timeout;
    } else if (errno != EINTR) {
      return rd::reset;
    }
  }
}

void arm_backstop(std::chrono::milliseconds timeout) noexcept {
  const int n = std::snprintf(g_timeout_message, sizeof g_timeout_message,
                              "vitals probe: %s: timeout after %lld ms\n", g_shown_url,
                              static_cast<long long>(timeout.count()));
  g_timeout_message_len = n > 0 ? static_cast<std::size_t>(n) : 0;
  if (g_timeout_message_len >= sizeof g_timeout_message) {
    g_timeout_message_len = sizeof g_timeout_message - 1;
  }
  struct sigaction sa {};
  sa.sa_handler = on_deadline;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, nullptr);
  // A few ms after the poll() deadline, so the normal path reports first with a precise reason.
  const auto total = timeout + std::chrono::milliseconds{20};
  itimerval t{};
  t.it_value.tv_sec = static_cast<time_t>(total.count() / 1000);
  t.it_value.tv_usec = static_cast<suseconds_t>((total.count() % 1000) * 1000);
  setitimer(ITIMER_REAL, &t, nullptr);
}

void disarm_backstop() noexcept {
  itimerval t{};
  setitimer(ITIMER_REAL, &t, nullptr);
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
  options opt;
  if (const int rc = parse_args(argc, argv, opt); rc != 0) return rc < 0 ? healthy : rc;
  redact_url_into(opt.url, g_shown_url, sizeof g_shown_url);

  url_parts u;
  const char* url_error = nullptr;
  if (!parse_http_url(opt.url, u, url_error)) {
    std::fprintf(stderr, "vitals probe: %s: %s\n", g_shown_url, url_error);
    return usage_error;
  }
  if (!u.tls && (opt.insecure || opt.ca_file != nullptr)) {
    // Harmless, but probably a mistake worth telling about.
    std::fprintf(stderr, "vitals probe: note: --insecure/--ca have no effect on http://\n");
  }

  char request[request_cap];
  writer w{request, sizeof request};
  if (!build_request(opt, u, w)) return usage("request too large (URL or headers)");

  // A dead peer must not keep a probe process alive past its deadline, whatever blocks.
  ::signal(SIGPIPE, SIG_IGN);
  const deadline dl{opt.timeout};
  arm_backstop(opt.timeout);

  connection c;
  if (const int rc = connect_any(u, dl, c); rc != healthy) return rc;
  if (u.tls) {
    c.use_tls = true;
    if (const int rc = tls_handshake(opt, u, dl, c); rc != healthy) return rc;
  }
  if (const int rc = send_all(c, request, w.len, dl); rc != healthy) return rc;

  static char response[response_cap];
  std::size_t have = 0;
  int code = 0;
  std::size_t line_end = 0;
  for (;;) {
    std::size_t got = 0;
    const rd r = receive(c, response + have, sizeof response - have, got, dl);
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
    disarm_backstop();
    for (;;) {
      std::size_t got = 0;
      if (have == sizeof response) break;
      if (receive(c, response + have, sizeof response - have, got, dl) != rd::data) break;
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
