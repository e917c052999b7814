#pragma once

#include <cstddef>
#include <string_view>

namespace vitals::cli {

/// OpenSSL, loaded with dlopen() only when a probe asks for https://. Plain-http probes never
/// map libssl/libcrypto: that is most of the probe's startup budget (see docs/cli.md).
class tls_client {
 public:
  enum class io { ok, want_read, want_write, closed, error };

  tls_client() = default;
  tls_client(const tls_client&) = delete;
  tls_client& operator=(const tls_client&) = delete;
  /// Frees the session and the context (a short-lived process could skip it, but a leak
  /// checker could not tell).
  ~tls_client();

  /// Loads libssl.so.3 and builds a client context. False (with `error()` set) if OpenSSL is
  /// missing or the CA file can't be loaded.
  bool init(bool verify, const char* ca_file) noexcept;
  /// Presents a client certificate (mTLS): PEM chain and its key. False (with `error()` set)
  /// if they can't be loaded or don't match. After init().
  bool use_client_certificate(const char* cert_file, const char* key_file) noexcept;
  /// Offers ALPN protocols (wire format, e.g. "\x02h2"). False (with `error()` set) if
  /// OpenSSL refuses the list. After init().
  bool offer_alpn(std::string_view protocols) noexcept;
  /// The protocol the server selected with ALPN ("" if none). After the handshake.
  [[nodiscard]] std::string_view alpn_selected() const noexcept;
  /// Starts a session on a connected non-blocking socket; `host` is used for SNI and for
  /// certificate name (or IP address) verification.
  bool attach(int fd, const char* host) noexcept;
  /// One non-blocking handshake step.
  io handshake() noexcept;
  io write(const char* data, std::size_t len, std::size_t& written) noexcept;
  io read(char* data, std::size_t cap, std::size_t& got) noexcept;

  /// The reason of the last failure, e.g. "certificate verify failed: self-signed certificate".
  [[nodiscard]] const char* error() const noexcept { return error_; }
  /// True if the last error came from the network (reset, EOF) rather than from TLS itself.
  [[nodiscard]] bool network_error() const noexcept { return network_error_; }

 private:
  io classify(int ret) noexcept;
  void set_error(const char* prefix) noexcept;

  void* ctx_ = nullptr;
  void* ssl_ = nullptr;
  char error_[256] = {};
  bool network_error_ = false;
};

}  // namespace vitals::cli
