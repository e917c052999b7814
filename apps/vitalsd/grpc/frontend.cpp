#include "grpc/frontend.hpp"

#include <stdexcept>
#include <utility>

#include "lazy/loader.hpp"

namespace vitalsd {

std::unique_ptr<grpc_frontend> start_grpc(std::shared_ptr<vitals::service> svc,
                                          const vitals::config::grpc_config& cfg,
                                          const std::string& token) {
  // Loaded once (dlopen keeps a loaded module), never unloaded: a server may run until exit.
  static const auto start = reinterpret_cast<grpc_start_fn>(vitals::lazy::load_entry(
      "vitals_grpc_server.so", "vitals_lazy_grpc_server", "the gRPC server (grpc:)"));
  std::string error;
  std::unique_ptr<grpc_frontend> server{start(std::move(svc), cfg, token, error)};
  if (!server) throw std::runtime_error("gRPC server on " + cfg.listen + ": " + error);
  return server;
}

}  // namespace vitalsd
