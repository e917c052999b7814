#include "server_tls.hpp"

#include "openssl_api.hpp"

#include <sys/stat.h>

#include <stdexcept>
#include <utility>

namespace vitals::http::detail {

namespace {

// OpenSSL's reasons for the failure just seen, oldest first ("no such file; system lib").
std::string drain_errors() {
  const openssl_api& a = openssl_loaded();
  std::string out;
  for (unsigned long e = a.err_get_error(); e != 0; e = a.err_get_error()) {
    const char* reason = a.err_reason_error_string(e);
    if (!out.empty()) out += "; ";
    if (reason != nullptr) {
      out += reason;
    } else {
      char buf[256];
      a.err_error_string_n(e, buf, sizeof buf);
      out += buf;
    }
  }
  return out.empty() ? std::string{"unknown OpenSSL error"} : out;
}

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("tls: " + what + ": " + drain_errors());
}

std::string quoted(const char* key, const std::string& file) {
  return std::string{key} + " '" + file + "'";
}

// HTTP/1.1 is all the server speaks: a client offering h2 and http/1.1 gets http/1.1; one
// offering only protocols we do not speak gets no ALPN answer (RFC 7301 lets it decide).
int select_http11(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                  const unsigned char* in, unsigned int inlen, void* /*arg*/) {
  static constexpr unsigned char ours[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* chosen = nullptr;
  if (openssl_loaded().select_next_proto(&chosen, outlen, ours, sizeof ours, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// Optional client certificates: a certificate that does not verify leaves the connection
// anonymous (the probe still gets its status, details stay hidden) instead of failing it.
int accept_any(int /*preverify_ok*/, X509_STORE_CTX* /*ctx*/) { return 1; }

file_version version_of(const std::string& path) {
  file_version v;
  if (path.empty()) return v;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return v;
  v.dev = st.st_dev;
  v.ino = st.st_ino;
  v.size = st.st_size;
  v.mtime = st.st_mtim;
  v.exists = true;
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// tls_context

tls_context::tls_context(const tls_options& o) : api_(openssl()) {
  const openssl_api& a = api_;
  a.err_clear_error();
  if (o.key_file.empty()) throw std::runtime_error("tls: cert_file is set but key_file is not");
  if (o.require_client_cert && o.client_ca_file.empty()) {
    throw std::runtime_error("tls: require_client_cert needs client_ca_file");
  }
  ctx_ = a.ctx_new(a.server_method());
  if (ctx_ == nullptr) fail("cannot create an OpenSSL context");
  try {
    a.ctx_ctrl(ctx_, SSL_CTRL_SET_MIN_PROTO_VERSION,
               o.min_version == tls_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION, nullptr);
    a.ctx_set_options(
        ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
    // Released buffers: an idle connection holds no 34 KiB of record buffers (10,000 idle TLS
    // connections must not cost 340 MB), as nginx configures it.
    a.ctx_ctrl(ctx_, SSL_CTRL_MODE, SSL_MODE_RELEASE_BUFFERS, nullptr);
    if (a.ctx_use_certificate_chain_file(ctx_, o.cert_file.c_str()) != 1) {
      fail("cannot load " + quoted("cert_file", o.cert_file));
    }
    if (a.ctx_use_private_key_file(ctx_, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      // A key that reads well but belongs to another certificate: the usual half-done rotation.
      if (ERR_GET_REASON(a.err_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
        fail(quoted("key_file", o.key_file) + " does not match " +
             quoted("cert_file", o.cert_file));
      }
      fail("cannot load " + quoted("key_file", o.key_file));
    }
    if (a.ctx_check_private_key(ctx_) != 1) {
      fail(quoted("key_file", o.key_file) + " does not match " + quoted("cert_file", o.cert_file));
    }
    // Resumed sessions must be tied to this server (and are refused by OpenSSL when client
    // verification is on and no context is set).
    static constexpr unsigned char sid[] = {'v', 'i', 't', 'a', 'l', 's'};
    a.ctx_set_session_id_context(ctx_, sid, sizeof sid);
    if (!o.client_ca_file.empty()) {
      if (a.ctx_load_verify_locations(ctx_, o.client_ca_file.c_str(), nullptr) != 1) {
        fail("cannot load " + quoted("client_ca_file", o.client_ca_file));
      }
      // The CA names sent in the certificate request, so clients pick the right certificate.
      STACK_OF(X509_NAME)* names = a.load_client_ca_file(o.client_ca_file.c_str());
      if (names == nullptr)
        fail("no CA certificate in " + quoted("client_ca_file", o.client_ca_file));
      a.ctx_set_client_ca_list(ctx_, names);
      if (o.require_client_cert) {
        a.ctx_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      } else {
        a.ctx_set_verify(ctx_, SSL_VERIFY_PEER, accept_any);
      }
    }
    a.ctx_set_alpn_select_cb(ctx_, select_http11, nullptr);
  } catch (...) {
    a.ctx_free(ctx_);
    throw;
  }
}

tls_context::~tls_context() { api_.ctx_free(ctx_); }

ssl_st* tls_context::new_session() const noexcept {
  const openssl_api& a = api_;
  SSL* s = a.ssl_new(ctx_);
  BIO* in = a.bio_new(a.bio_s_mem());
  BIO* out = a.bio_new(a.bio_s_mem());
  if (s == nullptr || in == nullptr || out == nullptr) {
    if (in != nullptr) a.bio_free(in);
    if (out != nullptr) a.bio_free(out);
    if (s != nullptr) a.ssl_free(s);
    a.err_clear_error();
    return nullptr;
  }
  // An empty input BIO means "not yet" (SSL_ERROR_WANT_READ), not end of file.
  a.bio_ctrl(in, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, nullptr);
  a.set_bio(s, in, out);  // owned by the session from here on
  a.set_accept_state(s);
  return s;
}

// ---------------------------------------------------------------------------------------------
// tls_state

tls_state::tls_state(tls_options options) : options_(std::move(options)) {
  // Looked at before the build: a change during it is seen by the next poll().
  seen_ = look();
  current_ = std::make_shared<const tls_context>(options_);
}

tls_state::versions tls_state::look() const {
  return {version_of(options_.cert_file), version_of(options_.key_file),
          version_of(options_.client_ca_file)};
}

std::shared_ptr<const tls_context> tls_state::current() const {
  const std::lock_guard lock{mutex_};
  return current_;
}

bool tls_state::poll() {
  const versions now = look();
  if (now == seen_) return false;
  seen_ = now;
  try {
    auto next = std::make_shared<const tls_context>(options_);
    const std::lock_guard lock{mutex_};
    current_ = std::move(next);
    reloads_.fetch_add(1, std::memory_order_relaxed);
    last_error_.clear();
    return true;
  } catch (const std::exception& e) {
    const std::lock_guard lock{mutex_};
    failures_.fetch_add(1, std::memory_order_relaxed);
    last_error_ = e.what();
    return false;
  }
}

std::string tls_state::last_error() const {
  const std::lock_guard lock{mutex_};
  return last_error_;
}

}  // namespace vitals::http::detail

namespace vitals::http {

std::string validate_tls(const tls_options& tls) {
  if (!tls.enabled()) return {};
  try {
    const detail::tls_context probe{tls};
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

}  // namespace vitals::http
