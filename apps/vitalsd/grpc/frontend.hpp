#pragma once
// vitalsd's gRPC health server (`grpc:`, docs/endpoints/grpc.md), behind an interface: its
// implementation, vitals::grpc over grpc++, lives in the module vitals_grpc_server.so that
// vitalsd loads on first use (grpc/module.cpp), so that a vitalsd without `grpc:` maps none of
// libgrpc++, libgrpc, protobuf and abseil (docs/memory.md). The module is built by the same
// compiler from the same sources (its ABI string is checked, as for the lazy check modules).

#include <cstdint>
#include <memory>
#include <string>

#include "vitals/config.hpp"
#include "vitals/service.hpp"

namespace vitalsd {

class grpc_frontend {
 public:
  virtual ~grpc_frontend() = default;
  grpc_frontend() = default;
  grpc_frontend(const grpc_frontend&) = delete;
  grpc_frontend& operator=(const grpc_frontend&) = delete;

  /// The bound port.
  [[nodiscard]] virtual std::uint16_t port() const noexcept = 0;
  /// Serves from `svc` from now on (a reload's new engine). Empty on success, else why not.
  [[nodiscard]] virtual std::string rebind(std::shared_ptr<vitals::service> svc) = 0;
  /// Final NOT_SERVING to every Watch stream, then the server stops. Idempotent.
  virtual void stop() = 0;
};

/// The module's entry point `vitals_lazy_grpc_server`: a started server, or null with `error`.
using grpc_start_fn = grpc_frontend* (*)(std::shared_ptr<vitals::service> svc,
                                         const vitals::config::grpc_config& cfg,
                                         const std::string& token, std::string& error);

/// Loads the module (once) and starts a server; throws std::runtime_error with the reason.
[[nodiscard]] std::unique_ptr<grpc_frontend> start_grpc(std::shared_ptr<vitals::service> svc,
                                                        const vitals::config::grpc_config& cfg,
                                                        const std::string& token);

}  // namespace vitalsd
