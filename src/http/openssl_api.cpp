#include "openssl_api.hpp"

#include <dlfcn.h>

#include <mutex>
#include <stdexcept>
#include <string>

namespace vitals::http::detail {

namespace {

openssl_api g_api{};

template <class F>
void load(void* lib, const char* name, F& out) {
  out = reinterpret_cast<F>(::dlsym(lib, name));
  if (out == nullptr) {
    throw std::runtime_error(std::string{"tls: libssl.so.3 has no "} + name);
  }
}

void load_all() {
  // RTLD_NODELETE: never unloaded, so contexts and sessions outlive any handle juggling.
  void* lib = ::dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (lib == nullptr) {
    const char* why = ::dlerror();
    throw std::runtime_error(std::string{"tls: cannot load OpenSSL 3 (libssl.so.3): "} +
                             (why != nullptr ? why : "not found"));
  }
  openssl_api& a = g_api;
  load(lib, "TLS_server_method", a.server_method);
  load(lib, "SSL_CTX_new", a.ctx_new);
  load(lib, "SSL_CTX_free", a.ctx_free);
  load(lib, "SSL_CTX_ctrl", a.ctx_ctrl);
  load(lib, "SSL_CTX_set_options", a.ctx_set_options);
  load(lib, "SSL_CTX_use_certificate_chain_file", a.ctx_use_certificate_chain_file);
  load(lib, "SSL_CTX_use_PrivateKey_file", a.ctx_use_private_key_file);
  load(lib, "SSL_CTX_check_private_key", a.ctx_check_private_key);
  load(lib, "SSL_CTX_set_session_id_context", a.ctx_set_session_id_context);
  load(lib, "SSL_CTX_load_verify_locations", a.ctx_load_verify_locations);
  load(lib, "SSL_load_client_CA_file", a.load_client_ca_file);
  load(lib, "SSL_CTX_set_client_CA_list", a.ctx_set_client_ca_list);
  load(lib, "SSL_CTX_set_verify", a.ctx_set_verify);
  load(lib, "SSL_CTX_set_alpn_select_cb", a.ctx_set_alpn_select_cb);
  load(lib, "SSL_select_next_proto", a.select_next_proto);
  load(lib, "SSL_new", a.ssl_new);
  load(lib, "SSL_free", a.ssl_free);
  load(lib, "SSL_set_bio", a.set_bio);
  load(lib, "SSL_get_rbio", a.get_rbio);
  load(lib, "SSL_get_wbio", a.get_wbio);
  load(lib, "SSL_set_accept_state", a.set_accept_state);
  load(lib, "SSL_do_handshake", a.do_handshake);
  load(lib, "SSL_read_ex", a.read_ex);
  load(lib, "SSL_write_ex", a.write_ex);
  load(lib, "SSL_get_error", a.get_error);
  load(lib, "SSL_shutdown", a.shutdown);
  load(lib, "SSL_get_verify_mode", a.get_verify_mode);
  load(lib, "SSL_get0_peer_certificate", a.get0_peer_certificate);
  load(lib, "SSL_get_verify_result", a.get_verify_result);
  load(lib, "BIO_s_mem", a.bio_s_mem);
  load(lib, "BIO_new", a.bio_new);
  load(lib, "BIO_free", a.bio_free);
  load(lib, "BIO_write", a.bio_write);
  load(lib, "BIO_read", a.bio_read);
  load(lib, "BIO_ctrl", a.bio_ctrl);
  load(lib, "ERR_get_error", a.err_get_error);
  load(lib, "ERR_peek_error", a.err_peek_error);
  load(lib, "ERR_peek_last_error", a.err_peek_last_error);
  load(lib, "ERR_clear_error", a.err_clear_error);
  load(lib, "ERR_reason_error_string", a.err_reason_error_string);
  load(lib, "ERR_error_string_n", a.err_error_string_n);
}

}  // namespace

const openssl_api& openssl() {
  // A failed load is retried by the next caller (call_once does not mark a throwing call).
  static std::once_flag once;
  std::call_once(once, load_all);
  return g_api;
}

const openssl_api& openssl_loaded() noexcept { return g_api; }

}  // namespace vitals::http::detail
