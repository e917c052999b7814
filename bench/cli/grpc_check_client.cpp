// The grpc++ peer of bench/cli/grpc_probe.sh: one grpc.health.v1.Health/Check with gRPC's own
// C++ client and generated stub, then exit (0 SERVING, 1 otherwise), as a one-shot probe would.
//
//   vitals_bench_grpc_check 127.0.0.1:50051 [service]
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s host:port [service]\n", argv[0]);
    return 64;
  }
  auto channel = grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds{1});
  grpc::health::v1::HealthCheckRequest request;
  if (argc > 2) request.set_service(argv[2]);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&ctx, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "rpc failed: %d %s\n", static_cast<int>(status.error_code()),
                 status.error_message().c_str());
    return 3;
  }
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}
