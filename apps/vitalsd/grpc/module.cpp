// The module vitals_grpc_server.so: vitals::grpc::server behind vitalsd's grpc_frontend. Its
// vitals::core symbols resolve to vitalsd's own engine at dlopen() time (src/lazy/exports.list).
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "grpc/frontend.hpp"
#include "lazy/abi.hpp"
#include "vitals/grpc.hpp"

namespace {

vitals::grpc::server_options options_of(const vitals::config::grpc_config& cfg,
                                        const std::string& token) {
  vitals::grpc::server_options o;
  o.listen = cfg.listen;
  o.tls_cert_file = cfg.cert_file;
  o.tls_key_file = cfg.key_file;
  o.tls_client_ca_file = cfg.client_ca_file;
  o.health.aliases = cfg.aliases;
  o.health.token = token;
  o.health.list_limit = static_cast<std::size_t>(cfg.list_limit);
  return o;
}

class frontend final : public vitalsd::grpc_frontend {
 public:
  frontend(std::shared_ptr<vitals::service> svc, vitals::grpc::server_options options)
      : svc_(std::move(svc)), options_(std::move(options)) {}
  ~frontend() override { stop(); }
  frontend(const frontend&) = delete;
  frontend& operator=(const frontend&) = delete;

  void start() {
    server_ = std::make_unique<vitals::grpc::server>(svc_, options_);
    server_->start();
  }

  [[nodiscard]] std::uint16_t port() const noexcept override {
    return server_ ? server_->port() : 0;
  }

  std::string rebind(std::shared_ptr<vitals::service> svc) override {
    try {
      server_->rebind(svc);
      svc_ = std::move(svc);
      return {};
    } catch (const std::exception& e) {
      return e.what();
    }
  }

  void stop() override {
    if (server_) server_->stop();
  }

 private:
  std::shared_ptr<vitals::service> svc_;
  vitals::grpc::server_options options_;
  std::unique_ptr<vitals::grpc::server> server_;
};

}  // namespace

VITALS_LAZY_EXPORT const char vitals_lazy_abi[] = VITALS_LAZY_ABI;

VITALS_LAZY_EXPORT vitalsd::grpc_frontend* vitals_lazy_grpc_server(
    std::shared_ptr<vitals::service> svc, const vitals::config::grpc_config& cfg,
    const std::string& token, std::string& error) {
  try {
    auto f = std::make_unique<frontend>(std::move(svc), options_of(cfg, token));
    f->start();
    return f.release();
  } catch (const std::exception& e) {
    error = e.what();
    return nullptr;
  }
}
