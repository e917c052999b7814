#pragma once
// The grpc.health.v1 server (Check, Watch, List), answering from the engine's latest snapshot.
// Built with -DVITALS_BUILD_GRPC=ON (the default when grpc++ is installed); link vitals::grpc.
// See docs/endpoints/grpc.md.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vitals/service.hpp"

namespace grpc {
class Service;
}  // namespace grpc

namespace vitals::grpc {

/// What the health service answers besides the fixed names (`""` = readiness, `liveness`,
/// `readiness`, `startup`, and every check by its name).
///
///     vitals::grpc::health_options o{.aliases = {{"my.pkg.Orders", "readiness"}},
///                                    .token = env("VITALS_TOKEN")};
struct health_options {
  /// Alias service name -> target: "liveness" | "readiness" | "startup" | "" | a check name.
  /// An alias is public (no token needed) even when it names a check. The fixed names
  /// ("", liveness, readiness, startup) cannot be aliases (std::invalid_argument).
  std::vector<std::pair<std::string, std::string>> aliases{};
  /// Empty: check names and List need no token. Otherwise callers must send the metadata
  /// `authorization: Bearer <token>` (compared in constant time) to see check names: without
  /// it a check name is answered like an unknown one and List shows only the public names.
  std::string token{};
  /// List answers RESOURCE_EXHAUSTED when it would list more names than this.
  std::size_t list_limit = 100;
  /// Watch streams open at once at most (each holds ~15 KiB of gRPC's per-call state); past it,
  /// Watch answers RESOURCE_EXHAUSTED. Check and List are never refused.
  std::size_t max_watch_streams = 10000;
  /// A caller whose TLS client certificate the server verified is authorized as the token
  /// holder is (docs/security.md). Set it only on a server that requires and verifies client
  /// certificates; vitals::grpc::server sets it when `tls_client_ca_file` is given.
  bool client_certificate_authorizes = false;
};

/// The grpc.health.v1.Health service on grpc++'s callback API. Register it in your own server,
/// in place of gRPC's default health service:
///
///     vitals::grpc::health_service hs{svc};
///     grpc::ServerBuilder builder;
///     builder.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
///     builder.RegisterService(hs.grpc_service());
///     auto server = builder.BuildAndStart();
///     ...
///     hs.shutdown();      // every stream gets NOT_SERVING and ends (OK)
///     server->Shutdown();
///
/// It never runs a check on a gRPC thread: Check and List read `svc.current()`; Watch streams
/// are fed by one internal thread that waits for new snapshots. The object (and `svc`) must
/// outlive the grpc::Server it is registered in, as any grpc::Service must.
class health_service {
 public:
  /// Throws std::invalid_argument for an alias of a fixed name, a duplicate alias, or an alias
  /// target that is neither liveness, readiness, startup, "" nor a valid check name.
  explicit health_service(vitals::service& svc, health_options options = {});
  /// Same, sharing ownership of the service (throws std::invalid_argument if null).
  explicit health_service(std::shared_ptr<vitals::service> svc, health_options options = {});
  /// Ends open streams (final NOT_SERVING, then OK), as shutdown() does.
  ~health_service();
  health_service(const health_service&) = delete;
  health_service& operator=(const health_service&) = delete;

  /// The grpc++ service to pass to grpc::ServerBuilder::RegisterService.
  ::grpc::Service* grpc_service() noexcept;
  /// Every name reports NOT_SERVING from now on; every open Watch stream gets a final
  /// NOT_SERVING and ends with status OK, and new Watch calls do the same at once. Call it
  /// before grpc::Server::Shutdown (which waits for open streams). Idempotent.
  void shutdown();
  /// Answers from `svc` from now on (vitalsd's reload): open Watch streams go on, and get a
  /// message only for a name whose status differs on the new engine. Thread-safe.
  ///
  ///     auto next = std::make_shared<vitals::service>(std::move(reg));
  ///     next->start();
  ///     hs.rebind(next);
  ///     old->stop();
  void rebind(std::shared_ptr<vitals::service> svc);
  /// Same, non-owning: the caller keeps `svc` alive while it is bound.
  void rebind(vitals::service& svc);
  /// Watch streams open now (for tests and metrics).
  [[nodiscard]] std::size_t open_streams() const noexcept;

  class impl;

 private:
  std::shared_ptr<impl> impl_;
};

/// vitals serving the health service on its own port (what vitalsd's `grpc:` section runs).
struct server_options {
  /// host:port, [v6]:port; port 0 = an ephemeral port (see server::port()).
  std::string listen = "127.0.0.1:9090";
  /// PEM certificate chain and key: both or neither (neither = plaintext).
  std::string tls_cert_file{}, tls_key_file{};
  /// Non-empty: mTLS, a client certificate verified against this PEM bundle is required.
  std::string tls_client_ca_file{};
  health_options health{};
};

/// A grpc::Server serving only the vitals health service.
///
///     vitals::grpc::server g{svc, {.listen = "0.0.0.0:9090"}};
///     g.start();            // throws std::runtime_error("...: cannot listen on ...")
///     ...
///     svc.begin_shutdown(); // every name NOT_SERVING at once, streams stay open (drain)
///     g.stop();             // final NOT_SERVING to every stream, then the server stops
class server {
 public:
  server(vitals::service& svc, server_options options);
  /// Same, sharing ownership of the service (throws std::invalid_argument if null).
  server(std::shared_ptr<vitals::service> svc, server_options options);
  ~server();  ///< stop()
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  /// Binds and starts serving. Throws std::runtime_error with a clear message (unreadable
  /// certificate, address in use or invalid). Idempotent once started.
  void start();
  /// The bound port (the ephemeral one for port 0); 0 before start().
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// Final NOT_SERVING to every stream, then the server shuts down. Idempotent.
  void stop();
  /// Serves `svc` from now on (see health_service::rebind); open streams go on.
  void rebind(std::shared_ptr<vitals::service> svc);
  /// The health service it serves.
  [[nodiscard]] health_service& health() noexcept;

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::grpc
