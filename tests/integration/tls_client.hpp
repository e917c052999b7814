#pragma once
// A blocking TLS client for the server tests: OpenSSL on a plain socket, poll() deadlines on
// every call (no test can hang), and verification of the server's certificate always on
// (chain to the test CA, name 127.0.0.1) unless a test asks for none.

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "server_client.hpp"

namespace vitals::test {

struct tls_client_options {
  std::string ca_file{};    ///< trust anchor for the server certificate ("" = do not verify)
  std::string cert_file{};  ///< client certificate (mTLS), optional
  std::string key_file{};
  int max_version = 0;  ///< e.g. TLS1_2_VERSION; 0 = the library's newest
  std::vector<std::string> alpn{};
};

/// Why a TLS connection could not be made (the handshake failed or the server hung up).
struct tls_refused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class tls_client {
 public:
  tls_client(std::uint16_t port, const tls_client_options& o,
             std::chrono::milliseconds timeout = std::chrono::seconds{3})
      : tcp_(port) {
    // OpenSSL writes with write(2): a server that closed first must fail the write, not kill
    // the test with SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    if (!ctx_) throw std::runtime_error("SSL_CTX_new");
    if (o.max_version != 0) SSL_CTX_set_max_proto_version(ctx_.get(), o.max_version);
    if (!o.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx_.get(), o.ca_file.c_str(), nullptr) != 1) {
        throw std::runtime_error("cannot load CA " + o.ca_file);
      }
      SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    }
    if (!o.cert_file.empty()) {
      if (SSL_CTX_use_certificate_chain_file(ctx_.get(), o.cert_file.c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(ctx_.get(), o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        throw std::runtime_error("cannot load client certificate " + o.cert_file);
      }
    }
    if (!o.alpn.empty()) {
      std::string wire;
      for (const auto& p : o.alpn) {
        wire += static_cast<char>(p.size());
        wire += p;
      }
      SSL_CTX_set_alpn_protos(ctx_.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                              static_cast<unsigned>(wire.size()));
    }
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_fd(ssl_.get(), tcp_.fd());
    if (!o.ca_file.empty()) SSL_set1_host(ssl_.get(), "127.0.0.1");
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      ERR_clear_error();
      const int r = SSL_connect(ssl_.get());
      if (r == 1) break;
      const int e = SSL_get_error(ssl_.get(), r);
      if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) || !wait(e, until)) {
        throw tls_refused("handshake failed: " + reason());
      }
    }
  }

  /// False if the connection is gone.
  bool send(std::string_view data) {
    while (!data.empty()) {
      std::size_t n = 0;
      ERR_clear_error();
      if (SSL_write_ex(ssl_.get(), data.data(), data.size(), &n) != 1) return false;
      data.remove_prefix(n);
    }
    return true;
  }

  /// One response, or nullopt if the connection ended or nothing complete came in time.
  std::optional<http_reply> read_reply(std::chrono::milliseconds timeout = std::chrono::seconds{
                                           3}) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto r = take_reply()) return r;
      if (fill(until) != read_end::data) return take_reply();
    }
  }

  std::optional<http_reply> get(std::string_view path, std::string_view extra_headers = "") {
    if (!send(vitals::test::get(path, extra_headers))) return std::nullopt;
    return read_reply();
  }

  /// Reads until the received bytes contain `needle` (true) or `timeout` passes or the
  /// connection ends (false). For streams, whose answers never complete.
  bool read_until(std::string_view needle, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (buf_.find(needle) == std::string::npos) {
      if (fill(until) != read_end::data) return buf_.find(needle) != std::string::npos;
    }
    return true;
  }

  /// True if the server closes (TLS close_notify, EOF or reset) within `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const read_end e = fill(until);
      if (e == read_end::eof || e == read_end::reset) return true;
      if (e == read_end::timeout) return false;
    }
  }

  /// The common name of the certificate the server presented.
  [[nodiscard]] std::string peer_common_name() const {
    X509* cert = SSL_get0_peer_certificate(ssl_.get());
    if (cert == nullptr) return {};
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    return cn;
  }
  [[nodiscard]] std::string alpn() const {
    const unsigned char* p = nullptr;
    unsigned n = 0;
    SSL_get0_alpn_selected(ssl_.get(), &p, &n);
    return {reinterpret_cast<const char*>(p), n};
  }
  [[nodiscard]] std::string version() const { return SSL_get_version(ssl_.get()); }
  [[nodiscard]] const std::string& buffered() const noexcept { return buf_; }

 private:
  struct ctx_free {
    void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
  };
  struct ssl_free {
    void operator()(SSL* s) const noexcept { SSL_free(s); }
  };

  static std::string reason() {
    const unsigned long e = ERR_peek_last_error();
    if (e == 0) return "connection closed";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
  }

  bool wait(int ssl_error, std::chrono::steady_clock::time_point until) const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{tcp_.fd(), static_cast<short>(ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN),
             0};
    return ::poll(&p, 1, static_cast<int>(left.count())) > 0;
  }

  read_end fill(std::chrono::steady_clock::time_point until) {
    for (;;) {
      char tmp[16384];
      std::size_t n = 0;
      ERR_clear_error();
      const int r = SSL_read_ex(ssl_.get(), tmp, sizeof tmp, &n);
      if (r == 1) {
        buf_.append(tmp, n);
        return read_end::data;
      }
      const int e = SSL_get_error(ssl_.get(), r);
      if (e == SSL_ERROR_ZERO_RETURN) return read_end::eof;
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (!wait(e, until)) return read_end::timeout;
        continue;
      }
      return errno == ECONNRESET ? read_end::reset : read_end::eof;
    }
  }

  std::optional<http_reply> take_reply() { return vitals::test::take_reply(buf_, false); }

  client tcp_;
  std::unique_ptr<SSL_CTX, ctx_free> ctx_;
  std::unique_ptr<SSL, ssl_free> ssl_;
  std::string buf_{};
};

}  // namespace vitals::test
