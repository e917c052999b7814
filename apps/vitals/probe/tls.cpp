#include "probe/tls.hpp"

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

// Only OpenSSL's declarations are used here (for the function pointer types); nothing links
// against libssl: every entry point is looked up with dlsym() after a lazy dlopen().

namespace vitals::cli {

namespace {

struct api {
  decltype(&::TLS_client_method) client_method;
  decltype(&::SSL_CTX_new) ctx_new;
  decltype(&::SSL_CTX_set_verify) ctx_set_verify;
  decltype(&::SSL_CTX_set_options) ctx_set_options;
  decltype(&::SSL_CTX_load_verify_locations) ctx_load_verify_locations;
  decltype(&::SSL_CTX_set_default_verify_paths) ctx_set_default_verify_paths;
  decltype(&::SSL_CTX_use_certificate_chain_file) ctx_use_certificate_chain_file;
  decltype(&::SSL_CTX_use_PrivateKey_file) ctx_use_private_key_file;
  decltype(&::SSL_new) ssl_new;
  decltype(&::SSL_free) ssl_free;
  decltype(&::SSL_CTX_free) ctx_free;
  decltype(&::SSL_set_fd) set_fd;
  decltype(&::SSL_ctrl) ctrl;
  decltype(&::SSL_set1_host) set1_host;
  decltype(&::SSL_connect) connect;
  decltype(&::SSL_read) read;
  decltype(&::SSL_write) write;
  decltype(&::SSL_get_error) get_error;
  decltype(&::SSL_get_verify_result) get_verify_result;
  decltype(&::ERR_get_error) err_get_error;
  decltype(&::ERR_error_string_n) err_error_string_n;
  decltype(&::X509_verify_cert_error_string) verify_error_string;
  decltype(&::SSL_CTX_set_alpn_protos) ctx_set_alpn_protos;
  decltype(&::SSL_get0_alpn_selected) get0_alpn_selected;
};

api g_api{};

template <class F>
bool load(void* lib, const char* name, F& out) noexcept {
  out = reinterpret_cast<F>(dlsym(lib, name));
  return out != nullptr;
}

const char* load_api() noexcept {
  static bool loaded = false;
  if (loaded) return nullptr;
  void* lib = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) lib = dlopen("libssl.so", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return "https needs OpenSSL 3 (libssl.so.3), which could not be loaded";
  // dlsym on the libssl handle also searches its dependency libcrypto.
  api& a = g_api;
  const bool ok =
      load(lib, "TLS_client_method", a.client_method) && load(lib, "SSL_CTX_new", a.ctx_new) &&
      load(lib, "SSL_CTX_set_verify", a.ctx_set_verify) &&
      load(lib, "SSL_CTX_set_options", a.ctx_set_options) &&
      load(lib, "SSL_CTX_load_verify_locations", a.ctx_load_verify_locations) &&
      load(lib, "SSL_CTX_set_default_verify_paths", a.ctx_set_default_verify_paths) &&
      load(lib, "SSL_CTX_use_certificate_chain_file", a.ctx_use_certificate_chain_file) &&
      load(lib, "SSL_CTX_use_PrivateKey_file", a.ctx_use_private_key_file) &&
      load(lib, "SSL_new", a.ssl_new) && load(lib, "SSL_set_fd", a.set_fd) &&
      load(lib, "SSL_free", a.ssl_free) && load(lib, "SSL_CTX_free", a.ctx_free) &&
      load(lib, "SSL_ctrl", a.ctrl) && load(lib, "SSL_set1_host", a.set1_host) &&
      load(lib, "SSL_connect", a.connect) && load(lib, "SSL_read", a.read) &&
      load(lib, "SSL_write", a.write) && load(lib, "SSL_get_error", a.get_error) &&
      load(lib, "SSL_get_verify_result", a.get_verify_result) &&
      load(lib, "ERR_get_error", a.err_get_error) &&
      load(lib, "ERR_error_string_n", a.err_error_string_n) &&
      load(lib, "X509_verify_cert_error_string", a.verify_error_string) &&
      load(lib, "SSL_CTX_set_alpn_protos", a.ctx_set_alpn_protos) &&
      load(lib, "SSL_get0_alpn_selected", a.get0_alpn_selected);
  if (!ok) return "libssl.so.3 lacks an expected symbol (OpenSSL 3 required)";
  loaded = true;
  return nullptr;
}

bool is_ip_literal(const char* host) noexcept {
  bool has_colon = false;
  bool all_digits_dots = true;
  for (const char* p = host; *p != '\0'; ++p) {
    if (*p == ':') has_colon = true;
    if (!((*p >= '0' && *p <= '9') || *p == '.')) all_digits_dots = false;
  }
  return has_colon || all_digits_dots;
}

}  // namespace

tls_client::~tls_client() {
  if (ssl_ != nullptr) g_api.ssl_free(static_cast<SSL*>(ssl_));
  if (ctx_ != nullptr) g_api.ctx_free(static_cast<SSL_CTX*>(ctx_));
}

void tls_client::set_error(const char* prefix) noexcept {
  const unsigned long e = g_api.err_get_error ? g_api.err_get_error() : 0;
  if (e != 0) {
    char reason[200];
    g_api.err_error_string_n(e, reason, sizeof reason);
    std::snprintf(error_, sizeof error_, "%s: %s", prefix, reason);
  } else {
    std::snprintf(error_, sizeof error_, "%s", prefix);
  }
}

bool tls_client::init(bool verify, const char* ca_file) noexcept {
  if (const char* err = load_api(); err != nullptr) {
    std::snprintf(error_, sizeof error_, "%s", err);
    return false;
  }
  SSL_CTX* ctx = g_api.ctx_new(g_api.client_method());
  if (ctx == nullptr) {
    set_error("cannot create TLS context");
    return false;
  }
  ctx_ = ctx;  // owned from here on, freed by the destructor on every path
  // Health endpoints often close without close_notify once the status is sent; that is not an
  // attack on a read-only GET.
  g_api.ctx_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (verify) {
    g_api.ctx_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    const int ok = ca_file != nullptr ? g_api.ctx_load_verify_locations(ctx, ca_file, nullptr)
                                      : g_api.ctx_set_default_verify_paths(ctx);
    if (ok != 1) {
      set_error(ca_file != nullptr ? "cannot load --ca file" : "cannot load system CA store");
      return false;
    }
  } else {
    g_api.ctx_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return true;
}

bool tls_client::use_client_certificate(const char* cert_file, const char* key_file) noexcept {
  auto* ctx = static_cast<SSL_CTX*>(ctx_);
  if (g_api.ctx_use_certificate_chain_file(ctx, cert_file) != 1) {
    set_error("cannot load --cert file");
    return false;
  }
  // Also checks that the key belongs to the certificate.
  if (g_api.ctx_use_private_key_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
    set_error("cannot load --key file");
    return false;
  }
  return true;
}

bool tls_client::offer_alpn(std::string_view protocols) noexcept {
  // Unlike most of OpenSSL, 0 means success here.
  if (g_api.ctx_set_alpn_protos(static_cast<SSL_CTX*>(ctx_),
                                reinterpret_cast<const unsigned char*>(protocols.data()),
                                static_cast<unsigned>(protocols.size())) != 0) {
    set_error("cannot set ALPN protocols");
    return false;
  }
  return true;
}

std::string_view tls_client::alpn_selected() const noexcept {
  if (ssl_ == nullptr) return {};
  const unsigned char* data = nullptr;
  unsigned len = 0;
  g_api.get0_alpn_selected(static_cast<const SSL*>(ssl_), &data, &len);
  if (data == nullptr) return {};
  return {reinterpret_cast<const char*>(data), len};
}

bool tls_client::attach(int fd, const char* host) noexcept {
  SSL* ssl = g_api.ssl_new(static_cast<SSL_CTX*>(ctx_));
  ssl_ = ssl;  // owned from here on, freed by the destructor on every path
  if (ssl == nullptr || g_api.set_fd(ssl, fd) != 1) {
    set_error("cannot create TLS session");
    return false;
  }
  if (!is_ip_literal(host)) {
    // SSL_set_tlsext_host_name is a macro over SSL_ctrl.
    g_api.ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(host));
  }
  // OpenSSL 3 checks IP literals against IP SANs and names against DNS SANs.
  if (g_api.set1_host(ssl, host) != 1) {
    set_error("cannot set the expected host name");
    return false;
  }
  return true;
}

tls_client::io tls_client::classify(int ret) noexcept {
  SSL* ssl = static_cast<SSL*>(ssl_);
  const int saved_errno = errno;
  switch (g_api.get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
      return io::want_read;
    case SSL_ERROR_WANT_WRITE:
      return io::want_write;
    case SSL_ERROR_ZERO_RETURN:
      return io::closed;
    case SSL_ERROR_SYSCALL:
      network_error_ = true;
      if (saved_errno == 0) return io::closed;
      std::snprintf(error_, sizeof error_, "%s", std::strerror(saved_errno));
      errno = saved_errno;
      return io::error;
    default: {
      network_error_ = false;
      const long verify = g_api.get_verify_result(ssl);
      if (verify != X509_V_OK) {
        std::snprintf(error_, sizeof error_, "certificate verify failed: %s",
                      g_api.verify_error_string(verify));
        while (g_api.err_get_error() != 0) {
        }
      } else {
        set_error("TLS error");
      }
      return io::error;
    }
  }
}

tls_client::io tls_client::handshake() noexcept {
  errno = 0;
  const int r = g_api.connect(static_cast<SSL*>(ssl_));
  return r == 1 ? io::ok : classify(r);
}

tls_client::io tls_client::write(const char* data, std::size_t len, std::size_t& written) noexcept {
  errno = 0;
  const int r = g_api.write(static_cast<SSL*>(ssl_), data, static_cast<int>(len));
  if (r > 0) {
    written = static_cast<std::size_t>(r);
    return io::ok;
  }
  written = 0;
  return classify(r);
}

tls_client::io tls_client::read(char* data, std::size_t cap, std::size_t& got) noexcept {
  errno = 0;
  const int r = g_api.read(static_cast<SSL*>(ssl_), data, static_cast<int>(cap));
  if (r > 0) {
    got = static_cast<std::size_t>(r);
    return io::ok;
  }
  got = 0;
  return classify(r);
}

}  // namespace vitals::cli
