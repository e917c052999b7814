#include "common/tls_util.hpp"

#include "common/io_loop.hpp"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace vitals::checks::detail {
namespace {

bool is_ip_literal(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

[[noreturn]] void bad_file(const std::string& what, const std::string& path) {
  throw std::invalid_argument("cannot load " + what + " \"" + path +
                              "\": " + take_openssl_error("unreadable or not PEM"));
}

}  // namespace

void use_openssl_on_loop() {
  static const bool done = [] {
    // Order matters: OpenSSL registers its atexit cleanup on first init, and at_loop_thread_exit
    // registers the loop's stop after it, so that it runs first (atexit is last in, first out).
    (void)OPENSSL_init_ssl(0, nullptr);
    at_loop_thread_exit(&OPENSSL_thread_stop);
    return true;
  }();
  (void)done;
}

ssl_ctx_ptr make_client_context(const tls_client_config& config) {
  ssl_ctx_ptr ctx{SSL_CTX_new(TLS_client_method())};
  if (!ctx) throw std::runtime_error("SSL_CTX_new: " + take_openssl_error());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_AUTO_RETRY);
  if (config.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) ERR_clear_error();
  } else if (SSL_CTX_load_verify_locations(ctx.get(), config.ca_file.c_str(), nullptr) != 1) {
    bad_file("CA file", config.ca_file);
  }
  if (config.client_cert.empty() != config.client_key.empty()) {
    throw std::invalid_argument("client_cert and client_key go together");
  }
  if (!config.client_cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), config.client_cert.c_str()) != 1) {
      bad_file("client certificate", config.client_cert);
    }
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), config.client_key.c_str(), SSL_FILETYPE_PEM) != 1) {
      bad_file("client key", config.client_key);
    }
    if (SSL_CTX_check_private_key(ctx.get()) != 1) {
      ERR_clear_error();
      throw std::invalid_argument("client key \"" + config.client_key +
                                  "\" does not match client certificate \"" + config.client_cert +
                                  "\"");
    }
  }
  SSL_CTX_set_verify(
      ctx.get(), config.fail_handshake_on_bad_cert ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  return ctx;
}

bool set_peer_name(SSL* ssl, const std::string& name) {
  if (name.empty()) return true;
  if (is_ip_literal(name)) {
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1;
  }
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return SSL_set_tlsext_host_name(ssl, name.c_str()) == 1 && SSL_set1_host(ssl, name.c_str()) == 1;
}

std::string take_openssl_error(const std::string& fallback) {
  const unsigned long err = ERR_get_error();
  ERR_clear_error();
  if (err == 0) return fallback;
  // OpenSSL 3 loads reason strings only on request (or as a side effect of other calls).
  OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, nullptr);
  const char* reason = ERR_reason_error_string(err);
  return reason != nullptr ? reason : fallback;
}

bool is_not_tls_peer_error(unsigned long err) noexcept {
  if (ERR_GET_LIB(err) != ERR_LIB_SSL) return false;
  switch (ERR_GET_REASON(err)) {
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_UNKNOWN_PROTOCOL:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_RECORD_LENGTH_MISMATCH:
    case SSL_R_UNEXPECTED_MESSAGE:
    case SSL_R_UNEXPECTED_RECORD:
      return true;
    default:
      return false;
  }
}

std::string verify_result_text(long verify_result) {
  const char* s = X509_verify_cert_error_string(verify_result);
  return s != nullptr ? s : "certificate verification failed";
}

}  // namespace vitals::checks::detail
