// A real gRPC server with gRPC's OWN default health service (grpc::EnableDefaultHealthCheckService)
// — what most gRPC targets run — for the tests and benchmarks of vitals' gRPC probe, check type
// and server. Nothing of vitals is linked: this is the peer, not the thing under test.
//
//   grpc_default_health_server --listen 127.0.0.1:0 [--tls-cert F --tls-key F [--client-ca F]]
//                              [--no-health]
//
// Prints "port <N>" on its first stdout line once listening, then reads commands on stdin, one
// per line:
//   set <service> SERVING|NOT_SERVING   (service "-" is the empty name "")
//   shutdown                            (or end of input: stops the server and exits 0)
// Each command is acknowledged with "ok" (or "error: ...") on stdout. --no-health serves no
// health service at all (a target without one: Check is UNIMPLEMENTED).
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "grpc_default_health_server: cannot read " << path << "\n";
    std::exit(2);
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  std::string cert;
  std::string key;
  std::string client_ca;
  bool health = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "grpc_default_health_server: " << arg << " needs a value\n";
        std::exit(64);
      }
      return argv[++i];
    };
    if (arg == "--listen") {
      listen = value();
    } else if (arg == "--tls-cert") {
      cert = value();
    } else if (arg == "--tls-key") {
      key = value();
    } else if (arg == "--client-ca") {
      client_ca = value();
    } else if (arg == "--no-health") {
      health = false;
    } else {
      std::cerr << "grpc_default_health_server: unknown argument " << arg << "\n";
      return 64;
    }
  }

  grpc::EnableDefaultHealthCheckService(health);
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!cert.empty()) {
    grpc::SslServerCredentialsOptions ssl(
        client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_key_cert_pairs.push_back({read_file(key), read_file(cert)});
    if (!client_ca.empty()) {
      ssl.pem_root_certs = read_file(client_ca);
    }
    creds = grpc::SslServerCredentials(ssl);
  }

  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, creds, &port);
  // gRPC builds no server without at least one service to poll; the generic service answers
  // every method no one registered with UNIMPLEMENTED, as a server without them would.
  grpc::CallbackGenericService unimplemented;
  builder.RegisterCallbackGenericService(&unimplemented);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "grpc_default_health_server: cannot listen on " << listen << "\n";
    return 1;
  }
  std::cout << "port " << port << std::endl;

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string cmd;
    words >> cmd;
    if (cmd.empty()) {
      continue;
    }
    if (cmd == "shutdown") {
      break;
    }
    if (cmd == "set") {
      std::string name;
      std::string status;
      words >> name >> status;
      if (name == "-") {
        name.clear();
      }
      grpc::HealthCheckServiceInterface* hs = server->GetHealthCheckService();
      if (hs == nullptr || (status != "SERVING" && status != "NOT_SERVING")) {
        std::cout << "error: " << (hs == nullptr ? "no health service" : "bad status") << std::endl;
        continue;
      }
      hs->SetServingStatus(name, status == "SERVING");
      std::cout << "ok" << std::endl;
      continue;
    }
    std::cout << "error: unknown command " << cmd << std::endl;
  }
  server->Shutdown();
  server->Wait();
  return 0;
}
