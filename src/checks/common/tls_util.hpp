#pragma once
// OpenSSL helpers shared by the http and tls checks. Private to vitals_checks.

#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace vitals::checks::detail {

struct ssl_ctx_deleter {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_deleter>;

struct tls_client_config {
  /// PEM CAs to trust; empty = the system's default verify paths.
  std::string ca_file{};
  /// PEM client certificate chain and key (both or neither).
  std::string client_cert{};
  std::string client_key{};
  /// SSL_VERIFY_PEER: the handshake fails on a bad chain or name. Without it the chain is still
  /// verified and the verdict left in SSL_get_verify_result() for the caller to judge.
  bool fail_handshake_on_bad_cert = true;
};

/// Call once per check that will run OpenSSL on the shared I/O loop (http, tls), from its
/// constructor: initialises OpenSSL (so its at-exit cleanup is registered now) and then has the
/// loop's thread stopped and joined at exit *before* that cleanup, freeing the thread's OpenSSL
/// state (error queue, DRBGs) as it ends. Without it the loop thread could still be running, and
/// holding that state, when OPENSSL_cleanup() frees the library under it. Idempotent and cheap.
void use_openssl_on_loop();

/// A client SSL_CTX. Throws std::invalid_argument naming the file that could not be loaded.
///
///     auto ctx = make_client_context({.ca_file = "/etc/app/ca.pem"});
[[nodiscard]] ssl_ctx_ptr make_client_context(const tls_client_config& config);

/// Sends SNI (names only: RFC 6066 forbids literals) and makes verification check the peer
/// certificate against `name` (DNS name, or IP address for literals). False on OpenSSL failure.
bool set_peer_name(SSL* ssl, const std::string& name);

/// Text of the first queued OpenSSL error (the queue is cleared), or `fallback`.
[[nodiscard]] std::string take_openssl_error(const std::string& fallback = "TLS error");

/// True if an OpenSSL error means the peer does not speak TLS at all (plain HTTP, a banner,
/// garbage): such failures are `protocol`, not `tls`.
[[nodiscard]] bool is_not_tls_peer_error(unsigned long err) noexcept;

/// "certificate has expired", "self-signed certificate", "hostname mismatch", ...
[[nodiscard]] std::string verify_result_text(long verify_result);

}  // namespace vitals::checks::detail
