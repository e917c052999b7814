#pragma once
// The transport shared by the HTTP/1.x and the gRPC probes: one TCP connection (optionally TLS)
// with every wait bounded by a deadline, messages on stderr, and a SIGALRM backstop. No heap,
// no exceptions; OpenSSL only when TLS is asked for.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "probe/tls.hpp"

namespace vitals::cli::net {

/// Milliseconds on the monotonic clock.
[[nodiscard]] std::int64_t now_ms() noexcept;

class deadline {
 public:
  explicit deadline(std::chrono::milliseconds d) noexcept : end_ms_(now_ms() + d.count()) {}
  /// Milliseconds left for poll(); 0 once expired.
  [[nodiscard]] int remaining() const noexcept;
  /// The earlier of the two.
  [[nodiscard]] deadline min(const deadline& other) const noexcept {
    return other.end_ms_ < end_ms_ ? other : *this;
  }

 private:
  std::int64_t end_ms_;
};

/// Waits for `events` on fd. Returns false on deadline.
bool wait_for(int fd, short events, const deadline& dl) noexcept;

/// Sets the URL shown in messages (its password masked).
void set_shown_url(std::string_view url) noexcept;
/// Prints `vitals probe: <url>: <what>` on stderr and returns `code`.
int fail(int code, const char* what) noexcept;

/// A SIGALRM that ends the process with `timed_out` a few ms after `timeout`: the backstop for
/// calls without a deadline of their own (getaddrinfo, OpenSSL internals).
void arm_backstop(std::chrono::milliseconds timeout) noexcept;
void disarm_backstop() noexcept;

struct connection {
  int fd = -1;
  bool use_tls = false;
  tls_client tls{};
};

/// Connects to host:port (literal addresses skip the resolver). Returns 0 or an exit code
/// (message printed): refused, timed_out, dns_failure, internal, usage_error.
int connect_any(std::string_view host, std::uint16_t port, const deadline& dl,
                connection& c) noexcept;

struct tls_settings {
  bool verify = true;
  const char* ca_file = nullptr;
  const char* cert_file = nullptr;
  const char* key_file = nullptr;
  /// SNI and the name verified in the certificate; the URL's host when null.
  const char* server_name = nullptr;
  /// ALPN protocol list in wire format (e.g. "\x02h2"), or empty for none.
  std::string_view alpn{};
};

/// TLS handshake on the connected socket. Returns 0 or an exit code (message printed).
int tls_handshake(const tls_settings& s, std::string_view host, const deadline& dl,
                  connection& c) noexcept;

/// Returns 0 once all bytes are written, else an exit code (message printed).
int send_all(connection& c, const char* data, std::size_t len, const deadline& dl) noexcept;

enum class rd { data, eof, timeout, reset };

/// One read of at most `cap` bytes, waiting (bounded) for data.
rd receive(connection& c, char* buf, std::size_t cap, std::size_t& got,
           const deadline& dl) noexcept;

}  // namespace vitals::cli::net
