#pragma once
// The redis check's connection: one non-blocking socket, wrapped in TLS for rediss://, where
// every wait is a poll() bounded by the run's deadline. Private.

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/net.hpp"

namespace vitals::checks::detail {

/// A plain or TLS byte stream over a connected non-blocking socket. Errors are net_error values
/// whose message is the reason only (the caller adds the peer); a timeout has kind `timeout`.
/// Writes through OpenSSL may raise SIGPIPE: callers hold a sigpipe_guard while using a TLS link.
///
///     redis_link link{std::move(connected.fd)};
///     if (auto e = link.start_tls(ctx, "cache.internal", deadline)) return failed(*e);
///     if (auto e = link.send_all(resp_command({"PING"}), deadline)) return failed(*e);
class redis_link {
 public:
  redis_link() noexcept = default;
  explicit redis_link(socket_fd fd) noexcept : fd_(std::move(fd)) {}

  [[nodiscard]] bool valid() const noexcept { return fd_.valid(); }
  /// Closes the connection (no close_notify: the peer may be the reason we give up on it).
  void reset() noexcept;

  /// Runs the TLS client handshake; `peer_name` is sent as SNI and verified when `ctx` verifies
  /// peers (empty = no name check).
  [[nodiscard]] std::optional<net_error> start_tls(SSL_CTX* ctx, const std::string& peer_name,
                                                   steady_time deadline);
  /// True once the peer has sent any byte on a TLS link (to tell a silent peer from a slow one).
  [[nodiscard]] bool heard_from_peer() const noexcept;
  /// "TLSv1.3", or empty for a plain link.
  [[nodiscard]] std::string tls_version() const;

  [[nodiscard]] std::optional<net_error> send_all(std::string_view data, steady_time deadline);
  /// At least one byte, or 0 on an orderly (or TLS-unannounced) close.
  [[nodiscard]] recv_result recv_some(char* buf, std::size_t size, steady_time deadline);

 private:
  struct ssl_deleter {
    void operator()(SSL* s) const noexcept { SSL_free(s); }
  };
  // Declared in this order so the SSL object is freed before its socket is closed.
  socket_fd fd_{};
  std::unique_ptr<SSL, ssl_deleter> ssl_{};

  // SSL_get_error() of a failed call → wait for the socket, or a classified failure.
  [[nodiscard]] std::optional<net_error> wait_or_fail(int rc, steady_time deadline);
};

}  // namespace vitals::checks::detail
