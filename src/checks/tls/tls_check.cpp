#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "common/net.hpp"
#include "common/resolver.hpp"
#include "common/tls_util.hpp"
#include "common/url.hpp"
#include "vitals/checks/tls.hpp"

namespace vitals::checks {
namespace {

using detail::net_error;
using detail::steady_time;

struct ssl_deleter {
  void operator()(SSL* s) const noexcept { SSL_free(s); }
};
struct x509_deleter {
  void operator()(X509* x) const noexcept { X509_free(x); }
};

std::string name_text(const X509_NAME* name) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), &BIO_free};
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "?";
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string{};
}

std::string time_text(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Seconds from now until `t` (negative once past).
std::optional<long long> seconds_until(const ASN1_TIME* t) {
  int days = 0;
  int secs = 0;
  if (ASN1_TIME_diff(&days, &secs, nullptr, t) != 1) return std::nullopt;
  return static_cast<long long>(days) * 86400 + secs;
}

std::string days_text(long long seconds) {
  const long long days = seconds / 86400;
  if (seconds < 0) return "has expired";
  if (days == 0) return "expires in less than a day";
  return "expires in " + std::to_string(days) + (days == 1 ? " day" : " days");
}

class tls_check final : public vitals::check {
 public:
  explicit tls_check(tls_options o) : options_(std::move(o)) {
    if (options_.host.size() >= 2 && options_.host.front() == '[' && options_.host.back() == ']') {
      options_.host = options_.host.substr(1, options_.host.size() - 2);
    }
    if (options_.host.empty()) throw std::invalid_argument("tls check: host is empty");
    if (options_.port == 0) throw std::invalid_argument("tls check: port must be 1-65535");
    if (options_.fail_before > options_.warn_before) {
      throw std::invalid_argument("tls check: fail_before must not exceed warn_before");
    }
    if (options_.fail_before.count() < 0) {
      throw std::invalid_argument("tls check: fail_before must not be negative");
    }
    // The handshake always completes; the chain verdict is read afterwards so the output can
    // say why a certificate was rejected and still report its expiry.
    ctx_ = detail::make_client_context(
        {.ca_file = options_.ca_file, .fail_handshake_on_bad_cert = false});
    peer_name_ = options_.sni.empty() ? options_.host : options_.sni;
  }

  [[nodiscard]] check_traits traits() const override {
    return {.type = "tls",
            .component_type = "component",
            .measurement = "certificate",
            .dependency = true,
            .secrets = {}};
  }

  result run(const context& ctx) override {
    const auto deadline = ctx.deadline();
    const auto started = std::chrono::steady_clock::now();
    auto conn = detail::connect_tcp(resolver_, options_.host, options_.port, deadline);
    if (!conn) return detail::to_result(conn.error);
    const std::string peer = detail::host_port(conn.peer.text(), options_.port);

    // OpenSSL writes to the fd without MSG_NOSIGNAL: a peer that hangs up mid-handshake would
    // otherwise kill the process with SIGPIPE.
    const detail::sigpipe_guard no_sigpipe;
    ERR_clear_error();
    std::unique_ptr<SSL, ssl_deleter> ssl{SSL_new(ctx_.get())};
    if (!ssl || SSL_set_fd(ssl.get(), conn.fd.get()) != 1 ||
        !detail::set_peer_name(ssl.get(), peer_name_)) {
      return vitals::fail("cannot set up TLS: " + detail::take_openssl_error(),
                          failure_kind::internal);
    }
    if (auto e = handshake(ssl.get(), peer, started, deadline)) return detail::to_result(*e);
    result r = judge(ssl.get(), peer);
    // Best effort close_notify; never wait for the peer's.
    SSL_shutdown(ssl.get());
    ERR_clear_error();
    return r;
  }

 private:
  std::optional<net_error> handshake(SSL* ssl, const std::string& peer, steady_time started,
                                     steady_time deadline) const {
    while (true) {
      ERR_clear_error();
      const int rc = SSL_connect(ssl);
      if (rc == 1) return std::nullopt;
      const int err = SSL_get_error(ssl, rc);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (detail::remaining(deadline).count() == 0 ||
            detail::wait_fd(SSL_get_fd(ssl), err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                            deadline)) {
          return net_error{failure_kind::timeout,
                           "timed out after " +
                               detail::format_duration(std::chrono::steady_clock::now() - started) +
                               " in TLS handshake with " + peer};
        }
        continue;
      }
      const unsigned long queued = ERR_peek_error();
      if (err == SSL_ERROR_SYSCALL && queued == 0) {
        const int sys = errno;
        if (sys != 0 && detail::kind_from_errno(sys) == failure_kind::refused) {
          return net_error{failure_kind::refused,
                           detail::errno_text(sys) + " during TLS handshake (" + peer + ")"};
        }
        return net_error{failure_kind::tls,
                         "TLS handshake with " + peer + " failed: connection closed by peer"};
      }
      if (detail::is_not_tls_peer_error(queued)) {
        return net_error{failure_kind::protocol, "TLS handshake with " + peer +
                                                     " failed: peer does not speak TLS (" +
                                                     detail::take_openssl_error() + ")"};
      }
      return net_error{failure_kind::tls, "TLS handshake with " + peer + " failed: " +
                                              detail::take_openssl_error("protocol error")};
    }
  }

  result judge(SSL* ssl, const std::string& peer) const {
    std::unique_ptr<X509, x509_deleter> leaf{SSL_get1_peer_certificate(ssl)};
    if (!leaf) return vitals::fail("no certificate from " + peer, failure_kind::tls);
    const std::string subject = name_text(X509_get_subject_name(leaf.get()));

    // The earliest expiry of the chain the peer presented (an intermediate can expire first).
    const X509* soonest = leaf.get();
    auto soonest_left = seconds_until(X509_get0_notAfter(leaf.get()));
    STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl);
    if (chain == nullptr) chain = SSL_get_peer_cert_chain(ssl);
    for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
      const X509* x = sk_X509_value(chain, i);
      // Trust anchors are the client's own choice, not the server's to renew.
      if (i > 0 && i == sk_X509_num(chain) - 1 &&
          X509_check_issued(const_cast<X509*>(x), const_cast<X509*>(x)) == X509_V_OK) {
        continue;
      }
      const auto left = seconds_until(X509_get0_notAfter(x));
      if (left && (!soonest_left || *left < *soonest_left)) {
        soonest_left = left;
        soonest = x;
      }
    }
    if (!soonest_left) return vitals::fail("unreadable certificate expiry", failure_kind::tls);
    const long long days_left =
        *soonest_left >= 0 ? *soonest_left / 86400 : -((-*soonest_left + 86399) / 86400);
    const std::string soonest_name = name_text(X509_get_subject_name(soonest));
    const std::string not_after = time_text(X509_get0_notAfter(soonest));

    result r = vitals::pass();
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      r = vitals::fail("certificate of " + peer + " rejected: " +
                           detail::verify_result_text(verify) + " (" + subject + ")",
                       failure_kind::tls);
    } else if (*soonest_left < std::chrono::seconds{options_.fail_before}.count()) {
      r = vitals::fail("certificate \"" + soonest_name + "\" " + days_text(*soonest_left) + " (" +
                           not_after + ")",
                       failure_kind::tls);
    } else if (*soonest_left < std::chrono::seconds{options_.warn_before}.count()) {
      r = vitals::warn("certificate \"" + soonest_name + "\" " + days_text(*soonest_left) + " (" +
                       not_after + ")");
    }
    r.observe(static_cast<std::int64_t>(days_left), "days");
    r.detail("subject", subject);
    r.detail("issuer", name_text(X509_get_issuer_name(leaf.get())));
    r.detail("not_after", not_after);
    r.detail("protocol", SSL_get_version(ssl));
    r.detail("peer", peer);
    return r;
  }

  tls_options options_;
  std::string peer_name_{};
  detail::ssl_ctx_ptr ctx_{};
  detail::bounded_resolver resolver_{};
};

}  // namespace

std::shared_ptr<vitals::check> tls(tls_options options) {
  return std::make_shared<tls_check>(std::move(options));
}

}  // namespace vitals::checks
