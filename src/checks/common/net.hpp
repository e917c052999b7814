#pragma once
// Deadline-bounded socket helpers and failure classification for the built-in checks. Private to
// vitals_checks. Blocking checks use these so that a run returns by ctx.deadline() on its own,
// whatever the peer does: every wait is a poll() bounded by the remaining time.
//
//     auto c = connect_tcp(resolver, "127.0.0.1", 6379, ctx.deadline());
//     if (!c) return vitals::fail(c.error.message, c.error.kind);
//     if (auto e = send_all(c.fd.get(), "PING\r\n", ctx.deadline())) return to_result(*e);

#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/format.hpp"
#include "vitals/redact.hpp"
#include "vitals/result.hpp"
#include "vitals/status.hpp"

namespace vitals::checks::detail {

class bounded_resolver;

using steady_time = std::chrono::steady_clock::time_point;

/// A classified failure: what every helper returns instead of throwing.
struct net_error {
  failure_kind kind = failure_kind::internal;
  std::string message;  ///< short, human, never contains secrets (callers' hosts only)
};

/// `vitals::fail(e.message, e.kind)`.
[[nodiscard]] result to_result(const net_error& e);

/// `r` with its output and detail values scrubbed by `secrets` (a check's own passwords and
/// URLs), so a check is correct on its own before the engine scrubs again.
[[nodiscard]] result scrubbed(result r, const vitals::redactor& secrets);

/// ECONNREFUSED/ECONNRESET/EPIPE/unreachable → refused; ETIMEDOUT → timeout; else internal.
[[nodiscard]] failure_kind kind_from_errno(int err) noexcept;
/// getaddrinfo() codes: name/data/again/fail → dns; memory/system → internal.
[[nodiscard]] failure_kind kind_from_gai(int rc) noexcept;
/// Short text for an errno: ECONNREFUSED → "connection refused" (strerror, lower-cased).
[[nodiscard]] std::string errno_text(int err);

/// The one duration wording of every output (base/format.hpp): 2s, 250ms, 1.5s, 3m.
using base::format_duration;

/// `host` without the brackets of an IPv6 literal ("[::1]" → "::1").
[[nodiscard]] std::string_view unbracketed(std::string_view host) noexcept;

/// The target of a network check's options: strips IPv6 brackets from `host`; throws
/// std::invalid_argument ("<type> check: host is empty", "... port must be 1-65535").
void check_target(std::string_view type, std::string& host, std::uint16_t port);

/// The one rule for retrying on a fresh connection: a kept (`reused`) connection that broke
/// before the server answered anything (`broke_unanswered`: reset, closed, refused — not a
/// timeout) was most likely closed by the server while idle (a restart, an idle timeout, a
/// killed session); that says nothing about the server now, so exactly one more attempt on a new
/// connection is in order, if the deadline leaves time for it.
[[nodiscard]] inline bool retry_on_fresh_connection(bool reused, bool broke_unanswered,
                                                    steady_time deadline) noexcept {
  return reused && broke_unanswered && std::chrono::steady_clock::now() < deadline;
}

/// True for EMFILE, ENFILE, ENOMEM and ENOBUFS: no descriptor (or kernel memory) for a new
/// socket. Such a failure says nothing about the target: it is the host's, kind `internal`.
[[nodiscard]] bool out_of_descriptors(int err) noexcept;
/// The RLIMIT_NOFILE soft limit of this process (0 when unknown or unlimited).
[[nodiscard]] std::size_t descriptor_limit() noexcept;
/// {internal, "out of file descriptors (limit 1024)"}.
[[nodiscard]] net_error descriptors_exhausted();
/// A socket-level errno as a failure: descriptors_exhausted() for out_of_descriptors(),
/// else kind_from_errno / errno_text with `context` appended (" (127.0.0.1:80)").
[[nodiscard]] net_error errno_failure(int err, std::string_view context = {});

/// The one wording of a check's own deadline, the runner's too: "timed out after 2s waiting for
/// the response from 127.0.0.1:8080". The budget is the run's (deadline - started: the
/// configured timeout, rounded to 10 ms), never the time it took to notice; `activity` is what
/// the check last told `context::doing`.
[[nodiscard]] std::string timed_out_text(steady_time started, steady_time deadline,
                                         std::string_view activity);
/// {timeout, timed_out_text(...)}.
[[nodiscard]] net_error timed_out(steady_time started, steady_time deadline,
                                  std::string_view activity);
/// Time left until `deadline` (never negative).
[[nodiscard]] std::chrono::milliseconds remaining(steady_time deadline) noexcept;

/// An owned file descriptor, closed on destruction.
class socket_fd {
 public:
  socket_fd() noexcept = default;
  explicit socket_fd(int fd) noexcept : fd_(fd) {}
  socket_fd(socket_fd&& o) noexcept : fd_(o.release()) {}
  socket_fd& operator=(socket_fd&& o) noexcept;
  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;
  ~socket_fd() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset() noexcept;

 private:
  int fd_ = -1;
};

/// Blocks SIGPIPE on this thread for its lifetime and swallows any SIGPIPE raised meanwhile, for
/// libraries that write to sockets without MSG_NOSIGNAL (OpenSSL on a plain fd, some clients).
/// A peer hanging up must never kill the host process.
///
///     { sigpipe_guard g; SSL_connect(ssl); }
class sigpipe_guard {
 public:
  sigpipe_guard() noexcept;
  ~sigpipe_guard();
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;

 private:
  sigset_t old_{};
  bool was_pending_ = false;
};

/// One resolved address, ready for connect().
struct resolved_address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  /// Numeric form, "127.0.0.1" or "::1".
  [[nodiscard]] std::string text() const;
  [[nodiscard]] int family() const noexcept { return storage.ss_family; }
  [[nodiscard]] std::uint16_t port() const noexcept;
  void set_port(std::uint16_t port) noexcept;
};

/// The numeric address if `host` is an IPv4/IPv6 literal (brackets allowed), else nullopt.
[[nodiscard]] std::optional<resolved_address> numeric_address(std::string_view host,
                                                              std::uint16_t port);

struct connect_result {
  socket_fd fd{};           ///< non-blocking, connected; invalid on failure
  resolved_address peer{};  ///< the address that answered
  net_error error{};        ///< set when !fd
  explicit operator bool() const noexcept { return fd.valid(); }
};

/// Resolves `host` through `resolver` (literals bypass it) and connects to each address in turn
/// until one accepts or `deadline` passes. The socket is non-blocking and has TCP_NODELAY.
/// Messages: "connection refused (127.0.0.1:5432)", "timed out after 2s connecting to
/// db:5432", "could not resolve \"db\": Name or service not known", "out of file descriptors
/// (limit 1024)". `started` is when the run began (default: now), for the timeout's wording.
[[nodiscard]] connect_result connect_tcp(bounded_resolver& resolver, const std::string& host,
                                         std::uint16_t port, steady_time deadline,
                                         steady_time started = {});

/// Waits until `fd` is ready for `events` (POLLIN/POLLOUT) or the deadline. Returns nothing when
/// ready; on timeout, kind `timeout` with message "timed out" (callers add context).
[[nodiscard]] std::optional<net_error> wait_fd(int fd, short events, steady_time deadline);

/// Writes all of `data` before the deadline.
[[nodiscard]] std::optional<net_error> send_all(int fd, std::string_view data,
                                                steady_time deadline);

/// Reads what is available (at least one byte) into `buf` before the deadline; returns the
/// number of bytes read, 0 on orderly close. Errors as net_error.
struct recv_result {
  std::size_t bytes = 0;
  std::optional<net_error> error{};
};
[[nodiscard]] recv_result recv_some(int fd, char* buf, std::size_t size, steady_time deadline);

}  // namespace vitals::checks::detail
