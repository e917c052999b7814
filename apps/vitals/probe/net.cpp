#include "probe/net.hpp"

#include <arpa/inet.h>
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
#include <cstdio>
#include <cstring>

#include "probe/probe.hpp"
#include "probe/url.hpp"

namespace vitals::cli::net {

namespace {

// The URL shown in messages, with any password masked.
char g_shown_url[512] = "";
// Prebuilt so the SIGALRM handler only calls async-signal-safe write().
char g_timeout_message[600] = "";
std::size_t g_timeout_message_len = 0;

extern "C" void on_deadline(int /*signo*/) {
  const ssize_t ignored = ::write(STDERR_FILENO, g_timeout_message, g_timeout_message_len);
  static_cast<void>(ignored);
  _exit(timed_out);
}

}  // namespace

std::int64_t now_ms() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

int deadline::remaining() const noexcept {
  const std::int64_t left = end_ms_ - now_ms();
  if (left <= 0) return 0;
  return left > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(left);
}

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

void set_shown_url(std::string_view url) noexcept {
  redact_url_into(url, g_shown_url, sizeof g_shown_url);
}

int fail(int code, const char* what) noexcept {
  std::fprintf(stderr, "vitals probe: %s: %s\n", g_shown_url, what);
  return code;
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

int connect_any(std::string_view host_view, std::uint16_t port_number, const deadline& dl,
                connection& c) noexcept {
  char host[256];
  if (host_view.size() >= sizeof host) return fail(usage_error, "host name too long");
  std::memcpy(host, host_view.data(), host_view.size());
  host[host_view.size()] = '\0';

  sockaddr_storage numeric{};
  socklen_t numeric_len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&numeric);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&numeric);
  addrinfo numeric_ai{};
  addrinfo* list = nullptr;
  // Literal addresses skip the resolver entirely (no NSS modules loaded).
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port_number);
    numeric_len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port_number);
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
    std::snprintf(port, sizeof port, "%u", static_cast<unsigned>(port_number));
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

int tls_handshake(const tls_settings& s, std::string_view host_view, const deadline& dl,
                  connection& c) noexcept {
  char host[256];
  if (host_view.size() >= sizeof host) return fail(usage_error, "host name too long");
  std::memcpy(host, host_view.data(), host_view.size());
  host[host_view.size()] = '\0';
  if (!c.tls.init(s.verify, s.ca_file) ||
      (s.cert_file != nullptr && !c.tls.use_client_certificate(s.cert_file, s.key_file)) ||
      (!s.alpn.empty() && !c.tls.offer_alpn(s.alpn)) ||
      !c.tls.attach(c.fd, s.server_name != nullptr ? s.server_name : host)) {
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

}  // namespace vitals::cli::net
