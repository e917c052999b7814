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

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "common/asio_net.hpp"
#include "common/io_loop.hpp"
#include "common/net.hpp"
#include "common/resolver.hpp"
#include "common/tls_util.hpp"
#include "common/url.hpp"
#include "vitals/checks/descriptors.hpp"
#include "vitals/checks/tls.hpp"

namespace vitals::checks {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
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

class tls_check final : public detail::loop_check<tls_check> {
  friend loop_check;

 public:
  [[nodiscard]] std::size_t descriptors() const noexcept override { return 1; }

  explicit tls_check(tls_options o) : options_(std::move(o)) {
    detail::check_target("tls", options_.host, options_.port);
    if (options_.fail_before > options_.warn_before) {
      throw std::invalid_argument("tls check: fail_before must not exceed warn_before");
    }
    if (options_.fail_before.count() < 0) {
      throw std::invalid_argument("tls check: fail_before must not be negative");
    }
    // The handshake always completes; the chain verdict is read afterwards so the output can
    // say why a certificate was rejected and still report its expiry.
    tls_.emplace(detail::make_client_context(
                     {.ca_file = options_.ca_file, .fail_handshake_on_bad_cert = false})
                     .release());
    peer_name_ = options_.sni.empty() ? options_.host : options_.sni;
    detail::use_openssl_on_loop();
  }

  [[nodiscard]] check_traits traits() const override {
    return {.type = "tls",
            .component_type = "component",
            .measurement = "certificate",
            .dependency = true,
            .secrets = {}};
  }

 private:
  asio::awaitable<result> evaluate(const context& ctx, steady_time started) {
    const auto deadline = ctx.deadline();
    const std::string target = detail::host_port(options_.host, options_.port);
    if (!detail::numeric_address(options_.host, options_.port)) {
      ctx.doing("resolving " + options_.host);
    }
    auto looked_up =
        co_await detail::resolve_on_loop(resolver_, options_.host, options_.port, deadline);
    if (!looked_up) {
      co_return detail::to_result(
          detail::timed_out(started, deadline, "resolving " + options_.host));
    }
    if (!*looked_up) co_return detail::to_result(*looked_up->error);
    const auto endpoints = detail::to_endpoints(looked_up->addresses);

    beast::ssl_stream<beast::tcp_stream> stream{detail::io_loop(), *tls_};
    auto& tcp = beast::get_lowest_layer(stream);
    tcp.expires_at(deadline);
    ERR_clear_error();
    if (!detail::set_peer_name(stream.native_handle(), peer_name_)) {
      co_return vitals::fail("cannot set up TLS: " + detail::take_openssl_error(),
                             failure_kind::internal);
    }
    ctx.doing("connecting to " + target);
    asio::ip::tcp::endpoint ep;
    auto ec = co_await detail::connect_any(tcp, endpoints, ep);
    const std::string peer = ep.port() != 0 ? detail::endpoint_text(ep) : target;
    if (ec == beast::error::timeout || ec == asio::error::operation_aborted) {
      co_return detail::to_result(detail::timed_out(started, deadline, "connecting to " + peer));
    }
    if (ec) co_return detail::to_result(detail::socket_failure(ec, "connecting to", peer));
    ctx.doing("in TLS handshake with " + peer);
    co_await stream.async_handshake(ssl::stream_base::client,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      tcp.close();
      co_return detail::to_result(handshake_failure(ec, peer, started, deadline));
    }
    result r = judge(stream.native_handle(), peer);
    // No close_notify: waiting for the peer's would only cost time, and the verdict is in.
    tcp.close();
    ERR_clear_error();
    co_return r;
  }

  static net_error handshake_failure(const boost::system::error_code& ec, const std::string& peer,
                                     steady_time started, steady_time deadline) {
    if (ec == beast::error::timeout || ec == asio::error::operation_aborted) {
      return detail::timed_out(started, deadline, "in TLS handshake with " + peer);
    }
    if (detail::out_of_descriptors(ec)) return detail::descriptors_exhausted();
    if (ec == ssl::error::stream_truncated || ec == asio::error::eof) {
      return {failure_kind::tls,
              "TLS handshake with " + peer + " failed: connection closed by peer"};
    }
    if (ec.category() == asio::error::get_ssl_category()) {
      if (detail::is_not_tls_peer_error(static_cast<unsigned long>(ec.value()))) {
        return {failure_kind::protocol, "TLS handshake with " + peer +
                                            " failed: peer does not speak TLS (" +
                                            detail::error_text(ec) + ")"};
      }
      return {failure_kind::tls,
              "TLS handshake with " + peer + " failed: " + detail::error_text(ec)};
    }
    if (detail::kind_from_error(ec) == failure_kind::refused) {
      return {failure_kind::refused,
              detail::error_text(ec) + " during TLS handshake (" + peer + ")"};
    }
    return {failure_kind::tls, "TLS handshake with " + peer + " failed: " + detail::error_text(ec)};
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
  // std::optional only to be built after the options are checked; always set.
  std::optional<ssl::context> tls_{};
  detail::bounded_resolver resolver_{};
};

}  // namespace

std::shared_ptr<vitals::check> tls(tls_options options) {
  return std::make_shared<tls_check>(std::move(options));
}

}  // namespace vitals::checks
