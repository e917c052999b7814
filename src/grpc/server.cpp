// vitals::grpc::server: a grpc::Server serving only the vitals health service, on its own port,
// optionally over TLS or mTLS.

#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "vitals/grpc.hpp"

namespace vitals::grpc {

namespace {

std::string read_pem(const std::string& what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("vitals::grpc: cannot read " + what + " " + path + ": " +
                             std::strerror(errno));
  }
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (text.find("-----BEGIN ") == std::string::npos) {
    throw std::runtime_error("vitals::grpc: " + what + " " + path + " holds no PEM block");
  }
  return text;
}

std::shared_ptr<::grpc::ServerCredentials> credentials(const server_options& o) {
  const bool cert = !o.tls_cert_file.empty();
  const bool key = !o.tls_key_file.empty();
  if (cert != key) {
    throw std::runtime_error(
        "vitals::grpc: tls_cert_file and tls_key_file go together (both or neither)");
  }
  if (!cert) {
    if (!o.tls_client_ca_file.empty()) {
      throw std::runtime_error(
          "vitals::grpc: tls_client_ca_file (mTLS) needs tls_cert_file and tls_key_file");
    }
    return ::grpc::InsecureServerCredentials();
  }
  ::grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back(
      {read_pem("tls_key_file", o.tls_key_file), read_pem("tls_cert_file", o.tls_cert_file)});
  if (!o.tls_client_ca_file.empty()) {
    ssl.pem_root_certs = read_pem("tls_client_ca_file", o.tls_client_ca_file);
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  } else {
    ssl.client_certificate_request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  }
  return ::grpc::SslServerCredentials(ssl);
}

// With mTLS every client presented a certificate the server verified: it is authorized as the
// token holder is, as on the HTTP server (docs/security.md).
health_options health_of(const server_options& o) {
  health_options h = o.health;
  if (!o.tls_client_ca_file.empty() && !o.tls_cert_file.empty()) {
    h.client_certificate_authorizes = true;
  }
  return h;
}

}  // namespace

class server::impl {
 public:
  impl(std::shared_ptr<vitals::service> svc, server_options options)
      : options_(std::move(options)), health_(std::move(svc), health_of(options_)) {}

  void start() {
    std::lock_guard lk(mu_);
    if (server_ || stopped_) return;
    ::grpc::ServerBuilder builder;
    // Never gRPC's own boolean health service next to ours, whatever
    // grpc::EnableDefaultHealthCheckService() was told elsewhere in the process.
    builder.SetOption(std::make_unique<::grpc::HealthCheckServiceServerBuilderOption>(nullptr));
    // gRPC binds with SO_REUSEPORT by default: a second server on a busy port would "succeed"
    // and share it. A health port in use must be an error.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    // Health requests are a service name: nothing big ever needs to come in.
    builder.SetMaxReceiveMessageSize(16 * 1024);
    int port = 0;
    builder.AddListeningPort(options_.listen, credentials(options_), &port);
    builder.RegisterService(health_.grpc_service());
    std::unique_ptr<::grpc::Server> s = builder.BuildAndStart();
    if (!s || port <= 0) {
      if (s) s->Shutdown();
      throw std::runtime_error("vitals::grpc: cannot listen on " + options_.listen +
                               " (address in use, not allowed, or not host:port / [v6]:port)");
    }
    port_.store(static_cast<std::uint16_t>(port), std::memory_order_release);
    server_ = std::move(s);
  }

  void stop() {
    std::lock_guard lk(mu_);
    if (stopped_) return;
    stopped_ = true;
    // Streams first (final NOT_SERVING, then OK): grpc::Server::Shutdown waits for open calls.
    health_.shutdown();
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds{2});
      server_->Wait();
    }
  }

  [[nodiscard]] std::uint16_t port() const noexcept {
    return port_.load(std::memory_order_acquire);
  }
  health_service& health() noexcept { return health_; }

 private:
  server_options options_;
  health_service health_;
  std::mutex mu_;
  std::unique_ptr<::grpc::Server> server_;
  std::atomic<std::uint16_t> port_{0};
  bool stopped_ = false;
};

server::server(vitals::service& svc, server_options options)
    : server(std::shared_ptr<vitals::service>{std::shared_ptr<vitals::service>{}, &svc},
             std::move(options)) {}

server::server(std::shared_ptr<vitals::service> svc, server_options options)
    : impl_(std::make_unique<impl>(std::move(svc), std::move(options))) {}

void server::rebind(std::shared_ptr<vitals::service> svc) {
  impl_->health().rebind(std::move(svc));
}

server::~server() { stop(); }

void server::start() { impl_->start(); }

std::uint16_t server::port() const noexcept { return impl_->port(); }

void server::stop() { impl_->stop(); }

health_service& server::health() noexcept { return impl_->health(); }

}  // namespace vitals::grpc
