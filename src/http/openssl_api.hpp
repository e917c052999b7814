#pragma once
// Private to the built-in server: the OpenSSL entry points HTTPS uses, looked up with dlsym()
// after a dlopen() of libssl.so.3 the first time a server is configured with TLS. A vitalsd
// serving plain HTTP with host checks only maps no libssl or libcrypto (docs/memory.md; the
// test vitalsd_lazy.host_checks_map_no_dependency_library), as the `vitals probe` client does
// for plain http. OpenSSL's headers give the types, constants and signatures only.
//
// OpenSSL never touches a socket here: each session reads and writes two memory BIOs, and the
// connection moves the bytes with Asio (src/http/server_connection.cpp).

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace vitals::http::detail {

struct openssl_api {
  decltype(&::TLS_server_method) server_method;
  decltype(&::SSL_CTX_new) ctx_new;
  decltype(&::SSL_CTX_free) ctx_free;
  decltype(&::SSL_CTX_ctrl) ctx_ctrl;
  decltype(&::SSL_CTX_set_options) ctx_set_options;
  decltype(&::SSL_CTX_use_certificate_chain_file) ctx_use_certificate_chain_file;
  decltype(&::SSL_CTX_use_PrivateKey_file) ctx_use_private_key_file;
  decltype(&::SSL_CTX_check_private_key) ctx_check_private_key;
  decltype(&::SSL_CTX_set_session_id_context) ctx_set_session_id_context;
  decltype(&::SSL_CTX_load_verify_locations) ctx_load_verify_locations;
  decltype(&::SSL_load_client_CA_file) load_client_ca_file;
  decltype(&::SSL_CTX_set_client_CA_list) ctx_set_client_ca_list;
  decltype(&::SSL_CTX_set_verify) ctx_set_verify;
  decltype(&::SSL_CTX_set_alpn_select_cb) ctx_set_alpn_select_cb;
  decltype(&::SSL_select_next_proto) select_next_proto;
  decltype(&::SSL_new) ssl_new;
  decltype(&::SSL_free) ssl_free;
  decltype(&::SSL_set_bio) set_bio;
  decltype(&::SSL_get_rbio) get_rbio;
  decltype(&::SSL_get_wbio) get_wbio;
  decltype(&::SSL_set_accept_state) set_accept_state;
  decltype(&::SSL_do_handshake) do_handshake;
  decltype(&::SSL_read_ex) read_ex;
  decltype(&::SSL_write_ex) write_ex;
  decltype(&::SSL_get_error) get_error;
  decltype(&::SSL_shutdown) shutdown;
  decltype(&::SSL_get_verify_mode) get_verify_mode;
  decltype(&::SSL_get0_peer_certificate) get0_peer_certificate;
  decltype(&::SSL_get_verify_result) get_verify_result;
  // libcrypto, reached through libssl's handle (its dependency).
  decltype(&::BIO_s_mem) bio_s_mem;
  decltype(&::BIO_new) bio_new;
  decltype(&::BIO_free) bio_free;
  decltype(&::BIO_write) bio_write;
  decltype(&::BIO_read) bio_read;
  decltype(&::BIO_ctrl) bio_ctrl;
  decltype(&::ERR_get_error) err_get_error;
  decltype(&::ERR_peek_error) err_peek_error;
  decltype(&::ERR_peek_last_error) err_peek_last_error;
  decltype(&::ERR_clear_error) err_clear_error;
  decltype(&::ERR_reason_error_string) err_reason_error_string;
  decltype(&::ERR_error_string_n) err_error_string_n;
};

/// The entry points, loaded once (thread-safe); throws std::runtime_error when libssl.so.3 or
/// one of them cannot be found.
[[nodiscard]] const openssl_api& openssl();

/// The same table once openssl() has succeeded; only for code that runs after a context was
/// built (a TLS connection exists only then).
[[nodiscard]] const openssl_api& openssl_loaded() noexcept;

}  // namespace vitals::http::detail
