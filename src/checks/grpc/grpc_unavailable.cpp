// The grpc check in a build without gRPC (-DVITALS_BUILD_GRPC=OFF): the type stays listed (its
// keys, its docs, its configuration errors) and says so when a check is made.
#include <stdexcept>

#include "vitals/checks/grpc.hpp"

namespace vitals::checks {

std::shared_ptr<vitals::check> grpc(grpc_options /*options*/) {
  throw std::invalid_argument(
      "grpc check: this build of vitals has no gRPC (configured with -DVITALS_BUILD_GRPC=OFF)");
}

}  // namespace vitals::checks
