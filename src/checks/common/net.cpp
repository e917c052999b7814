#include "common/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <sys/resource.h>

#include "base/text.hpp"
#include "common/resolver.hpp"
#include "common/url.hpp"

namespace vitals::checks::detail {

result to_result(const net_error& e) { return vitals::fail(e.message, e.kind); }

result scrubbed(result r, const vitals::redactor& secrets) {
  r.output = secrets.scrub(r.output);
  for (auto& [key, value] : r.details) value = secrets.scrub(value);
  if (r.observed) {
    if (auto* s = std::get_if<std::string>(&r.observed->value)) *s = secrets.scrub(*s);
  }
  return r;
}

failure_kind kind_from_errno(int err) noexcept {
  switch (err) {
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
      return failure_kind::refused;
    case ETIMEDOUT:
      return failure_kind::timeout;
    default:
      return failure_kind::internal;
  }
}

failure_kind kind_from_gai(int rc) noexcept {
  switch (rc) {
    case EAI_MEMORY:
    case EAI_SYSTEM:
    case EAI_BADFLAGS:
    case EAI_SOCKTYPE:
    case EAI_SERVICE:
      return failure_kind::internal;
    default:
      return failure_kind::dns;
  }
}

std::string errno_text(int err) {
  char buf[256] = {};
  // GNU strerror_r returns the message pointer (possibly static), not necessarily buf.
  return base::lowercase_first(::strerror_r(err, buf, sizeof buf));
}

bool out_of_descriptors(int err) noexcept {
  return err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOBUFS;
}

std::size_t descriptor_limit() noexcept {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 0;
  return static_cast<std::size_t>(rl.rlim_cur);
}

net_error descriptors_exhausted() {
  const std::size_t limit = descriptor_limit();
  return {failure_kind::internal,
          "out of file descriptors (limit " +
              (limit == 0 ? std::string("unknown") : std::to_string(limit)) + ")"};
}

net_error errno_failure(int err, std::string_view context) {
  if (out_of_descriptors(err)) return descriptors_exhausted();
  return {kind_from_errno(err), errno_text(err) + std::string(context)};
}

std::string timed_out_text(steady_time started, steady_time deadline, std::string_view activity) {
  using namespace std::chrono;
  const auto budget = deadline - started;
  std::string out;
  if (budget <= milliseconds{0}) {
    out = "timed out (its deadline had passed when the run started)";
  } else {
    // The run began a hair after its deadline was set: round back to the configured timeout.
    auto ms = round<milliseconds>(budget);
    if (ms >= milliseconds{100}) ms = round<milliseconds>(budget / 10) * 10;
    if (ms < milliseconds{1}) ms = milliseconds{1};
    out = "timed out after " + format_duration(ms);
  }
  if (!activity.empty()) out.append(" ").append(activity);
  return out;
}

net_error timed_out(steady_time started, steady_time deadline, std::string_view activity) {
  return {failure_kind::timeout, timed_out_text(started, deadline, activity)};
}

std::chrono::milliseconds remaining(steady_time deadline) noexcept {
  const auto left = deadline - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return std::chrono::milliseconds{0};
  // Round up so a wait never ends a hair before the deadline and spins.
  return std::chrono::ceil<std::chrono::milliseconds>(left);
}

sigpipe_guard::sigpipe_guard() noexcept {
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigset_t pending;
  sigpending(&pending);
  // A SIGPIPE already pending belongs to someone else: leave it for them.
  was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old_);
}

sigpipe_guard::~sigpipe_guard() {
  if (!was_pending_) {
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    const timespec zero{0, 0};
    while (sigtimedwait(&pipe_only, nullptr, &zero) > 0) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

socket_fd& socket_fd::operator=(socket_fd&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = o.release();
  }
  return *this;
}

void socket_fd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string resolved_address::text() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&storage);
    ::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
  } else if (storage.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    ::inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

std::uint16_t resolved_address::port() const noexcept {
  if (storage.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  }
  if (storage.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return 0;
}

void resolved_address::set_port(std::uint16_t port) noexcept {
  if (storage.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(port);
  } else if (storage.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(port);
  }
}

std::string_view unbracketed(std::string_view host) noexcept {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

void check_target(std::string_view type, std::string& host, std::uint16_t port) {
  host = std::string(unbracketed(host));
  const std::string what(type);
  if (host.empty()) throw std::invalid_argument(what + " check: host is empty");
  if (port == 0) throw std::invalid_argument(what + " check: port must be 1-65535");
}

std::optional<resolved_address> numeric_address(std::string_view host, std::uint16_t port) {
  const std::string h(unbracketed(host));
  resolved_address a;
  auto* sin = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (::inet_pton(AF_INET, h.c_str(), &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    a.length = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, h.c_str(), &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    a.length = sizeof(sockaddr_in6);
  } else {
    return std::nullopt;
  }
  a.set_port(port);
  return a;
}

std::optional<net_error> wait_fd(int fd, short events, steady_time deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    const auto left = remaining(deadline);
    if (left.count() == 0) return net_error{failure_kind::timeout, "timed out"};
    const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1 << 30)));
    if (rc > 0) return std::nullopt;  // readiness or error: the next syscall tells which
    if (rc == 0) continue;            // re-check the deadline rather than trusting poll's clock
    if (errno == EINTR) continue;
    return net_error{failure_kind::internal, "poll: " + errno_text(errno)};
  }
}

std::optional<net_error> send_all(int fd, std::string_view data, steady_time deadline) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (auto e = wait_fd(fd, POLLOUT, deadline)) return e;
      continue;
    }
    return errno_failure(errno);
  }
  return std::nullopt;
}

recv_result recv_some(int fd, char* buf, std::size_t size, steady_time deadline) {
  while (true) {
    const ssize_t n = ::recv(fd, buf, size, 0);
    if (n >= 0) return {static_cast<std::size_t>(n), std::nullopt};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (auto e = wait_fd(fd, POLLIN, deadline)) return {0, e};
      continue;
    }
    return {0, errno_failure(errno)};
  }
}

connect_result connect_tcp(bounded_resolver& resolver, const std::string& host, std::uint16_t port,
                           steady_time deadline, steady_time started) {
  if (started == steady_time{}) started = std::chrono::steady_clock::now();
  connect_result out;
  auto looked_up = resolver.resolve(host, port, deadline);
  if (!looked_up) {
    out.error = looked_up.error->kind == failure_kind::timeout
                    ? detail::timed_out(started, deadline, "resolving " + host)
                    : *looked_up.error;
    return out;
  }
  const auto timed_out = [&] {
    return detail::timed_out(started, deadline, "connecting to " + host_port(host, port));
  };
  std::optional<net_error> last;
  for (const auto& addr : looked_up.addresses) {
    socket_fd fd{::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
    if (!fd) {
      const int err = errno;
      // No descriptor: the next address would fail the same way, and the target is not at
      // fault.
      if (out_of_descriptors(err)) {
        out.error = descriptors_exhausted();
        return out;
      }
      last = net_error{failure_kind::internal, "socket: " + errno_text(err)};
      continue;
    }
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int err = 0;
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr.storage), addr.length) != 0) {
      err = errno;
      if (err == EINPROGRESS || err == EINTR) {
        if (wait_fd(fd.get(), POLLOUT, deadline)) {
          out.error = timed_out();
          return out;
        }
        socklen_t len = sizeof err;
        if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      }
    }
    if (err == 0) {
      out.fd = std::move(fd);
      out.peer = addr;
      return out;
    }
    last = errno_failure(err, " (" + host_port(addr.text(), port) + ")");
    if (remaining(deadline).count() == 0) {
      out.error = timed_out();
      return out;
    }
  }
  out.error = last.value_or(net_error{failure_kind::dns, "no address for " + host});
  return out;
}

}  // namespace vitals::checks::detail
