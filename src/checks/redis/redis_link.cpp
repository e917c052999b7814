#include "redis/redis_link.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

#include "common/tls_util.hpp"
#include "redis/redis_detail.hpp"

namespace vitals::checks::detail {

net_error classify_tls_failure(int ssl_error, unsigned long queued, int sys_errno,
                               long verify_result) {
  if (ssl_error == SSL_ERROR_SYSCALL && queued == 0) {
    if (sys_errno != 0 && kind_from_errno(sys_errno) == failure_kind::refused) {
      return {failure_kind::refused, errno_text(sys_errno)};
    }
    if (sys_errno != 0) return {failure_kind::tls, errno_text(sys_errno)};
    return {failure_kind::tls, "connection closed by peer"};
  }
  if (ERR_GET_LIB(queued) == ERR_LIB_SSL &&
      ERR_GET_REASON(queued) == SSL_R_CERTIFICATE_VERIFY_FAILED && verify_result != X509_V_OK) {
    return {failure_kind::tls, "certificate verify failed: " + verify_result_text(verify_result)};
  }
  // OpenSSL 3 loads reason strings only on request (or as a side effect of other calls).
  OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, nullptr);
  const char* text = queued != 0 ? ERR_reason_error_string(queued) : nullptr;
  const std::string reason = text != nullptr ? text : "protocol error";
  if (is_not_tls_peer_error(queued)) {
    return {failure_kind::protocol, "peer does not speak TLS (" + reason + ")"};
  }
  if (ERR_GET_LIB(queued) == ERR_LIB_SSL &&
      ERR_GET_REASON(queued) == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED) {
    return {failure_kind::tls,
            reason + " (the server requires a client certificate: set client_cert/client_key)"};
  }
  return {failure_kind::tls, reason};
}

void redis_link::reset() noexcept {
  ssl_.reset();
  fd_.reset();
}

std::optional<net_error> redis_link::wait_or_fail(int rc, steady_time deadline) {
  const int sys = errno;
  const int err = SSL_get_error(ssl_.get(), rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    if (remaining(deadline).count() == 0) return net_error{failure_kind::timeout, "timed out"};
    return wait_fd(fd_.get(), err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
  }
  auto e = classify_tls_failure(err, ERR_peek_error(), sys, SSL_get_verify_result(ssl_.get()));
  ERR_clear_error();
  return e;
}

std::optional<net_error> redis_link::start_tls(SSL_CTX* ctx, const std::string& peer_name,
                                               steady_time deadline) {
  ERR_clear_error();
  ssl_.reset(SSL_new(ctx));
  if (!ssl_ || SSL_set_fd(ssl_.get(), fd_.get()) != 1 || !set_peer_name(ssl_.get(), peer_name)) {
    return net_error{failure_kind::internal, "cannot set up TLS: " + take_openssl_error()};
  }
  // RESP replies are self-delimiting: a peer closing without close_notify truncates nothing we
  // would accept, so report it as a plain close (and let a kept connection be retried).
  SSL_set_options(ssl_.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  while (true) {
    ERR_clear_error();
    errno = 0;
    const int rc = SSL_connect(ssl_.get());
    if (rc == 1) return std::nullopt;
    if (auto e = wait_or_fail(rc, deadline)) return e;
  }
}

bool redis_link::heard_from_peer() const noexcept {
  if (!ssl_) return false;
  const BIO* rbio = SSL_get_rbio(ssl_.get());
  return rbio != nullptr && BIO_number_read(const_cast<BIO*>(rbio)) > 0;
}

std::string redis_link::tls_version() const { return ssl_ ? SSL_get_version(ssl_.get()) : ""; }

std::optional<net_error> redis_link::send_all(std::string_view data, steady_time deadline) {
  if (!ssl_) return detail::send_all(fd_.get(), data, deadline);
  std::size_t off = 0;
  while (off < data.size()) {
    ERR_clear_error();
    errno = 0;
    // After WANT_* OpenSSL wants the very same arguments again: `off` only moves on success.
    const int rc = SSL_write(ssl_.get(), data.data() + off, static_cast<int>(data.size() - off));
    if (rc > 0) {
      off += static_cast<std::size_t>(rc);
      continue;
    }
    if (auto e = wait_or_fail(rc, deadline)) return e;
  }
  return std::nullopt;
}

recv_result redis_link::recv_some(char* buf, std::size_t size, steady_time deadline) {
  if (!ssl_) return detail::recv_some(fd_.get(), buf, size, deadline);
  while (true) {
    ERR_clear_error();
    errno = 0;
    const int rc = SSL_read(ssl_.get(), buf, static_cast<int>(size));
    if (rc > 0) return {.bytes = static_cast<std::size_t>(rc)};
    const int err = SSL_get_error(ssl_.get(), rc);
    if (err == SSL_ERROR_ZERO_RETURN ||
        (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)) {
      ERR_clear_error();
      return {.bytes = 0};
    }
    if (auto e = wait_or_fail(rc, deadline)) return {.error = std::move(e)};
  }
}

}  // namespace vitals::checks::detail
