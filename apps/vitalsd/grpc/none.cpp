// vitalsd built without vitals::grpc (-DVITALS_BUILD_GRPC=OFF, or without lazy modules): a
// configuration with `grpc: {listen: ...}` is refused at start with this reason.
#include <stdexcept>

#include "grpc/frontend.hpp"

namespace vitalsd {

std::unique_ptr<grpc_frontend> start_grpc(std::shared_ptr<vitals::service> /*svc*/,
                                          const vitals::config::grpc_config& cfg,
                                          const std::string& /*token*/) {
  throw std::runtime_error("gRPC server on " + cfg.listen +
                           ": this vitalsd was built without gRPC (-DVITALS_BUILD_GRPC=OFF)");
}

}  // namespace vitalsd
