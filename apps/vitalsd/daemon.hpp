#pragma once
// The vitalsd process: one HTTP server for its whole life, one engine (vitals::service) per
// configuration generation. SIGHUP builds the next engine beside the running one and swaps it in;
// SIGTERM/SIGINT drains and exits.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "fd_budget.hpp"
#include "grpc/frontend.hpp"
#include "log.hpp"
#include "notify_hub.hpp"
#include "shard.hpp"
#include "target_labels.hpp"
#include "vitals/config.hpp"
#include "vitals/history.hpp"
#include "vitals/http/server.hpp"
#include "vitals/service.hpp"

namespace vitalsd {

struct daemon_options {
  /// Empty = the embedded default configuration.
  std::string config_path{};
  std::string version{};
  /// RLIMIT_NOFILE as main() found and raised it (raise_nofile_limit()).
  nofile_limits limits{};
  /// --shard: applied to every configuration loaded, the initial one by main() and each reload.
  shard_spec shard{};
  /// What keep_shard() returned for the initial configuration: every shard's checks.
  vitals::http::target_catalog::map fleet{};
};

class daemon {
 public:
  /// Loads nothing yet; `run` does.
  daemon(daemon_options options, vitals::config::daemon_config initial);
  ~daemon();
  daemon(const daemon&) = delete;
  daemon& operator=(const daemon&) = delete;

  /// Serves until SIGTERM/SIGINT. The caller must have blocked SIGHUP, SIGTERM and SIGINT in every
  /// thread (block_signals()) before any thread was created. Returns the exit code.
  int run();

  /// Blocks the daemon's signals in the calling thread (threads created later inherit it).
  static void block_signals();

 private:
  void reload();
  int shut_down();
  [[nodiscard]] std::shared_ptr<vitals::service> make_engine(
      const vitals::config::daemon_config& cfg, const vitals::snapshot* previous,
      std::shared_ptr<vitals::observer> notifications) const;
  void wait_first_results(const vitals::service& svc,
                          const vitals::config::daemon_config& cfg) const;
  void start_server();
  /// The gRPC health server of `cfg_.grpc` (none when its listen is empty).
  void start_grpc_server();
  /// During a reload to `next` (not yet in cfg_): the gRPC server follows the fresh engine.
  void reload_grpc(const vitals::config::daemon_config& next,
                   const std::shared_ptr<vitals::service>& fresh);
  void log_summary(std::string_view what) const;
  /// Logs the descriptor budget of `cfg`; false (and logged as an error) if it cannot fit.
  [[nodiscard]] bool check_fd_budget(const vitals::config::daemon_config& cfg,
                                     std::string* refusal) const;

  daemon_options options_;
  vitals::config::daemon_config cfg_;
  std::shared_ptr<log> log_;
  /// The current engine, shared with the server (which keeps a replaced one alive for the
  /// requests still answering from it).
  std::shared_ptr<vitals::service> svc_;
  std::unique_ptr<vitals::http::server> http_;
  /// `grpc:` — the grpc.health.v1 server, from a module loaded on first use (grpc/frontend.hpp).
  std::unique_ptr<grpc_frontend> grpc_;
  /// Notifications (`notify:`), an observer of each engine; shared with the /metrics source.
  std::shared_ptr<notify_hub> notify_;
  /// `storage:` — the results history, an observer of each engine, served by the API; opened
  /// at start (a changed `storage:` takes effect at the next start).
  std::shared_ptr<vitals::results_history> history_;
  /// The status changes of every engine, streamed at /api/v1/events (kept across reloads, so
  /// a client resumes with its Last-Event-ID through a reload).
  std::shared_ptr<vitals::http::event_feed> events_ = std::make_shared<vitals::http::event_feed>();
  /// vitals_target_info: the groups' labels of the running configuration.
  std::shared_ptr<target_labels> labels_ = std::make_shared<target_labels>();
  /// With shards: the checks of every shard (handler_options::fleet), so that any shard's API
  /// lists the shared history of all targets.
  std::shared_ptr<vitals::http::target_catalog> fleet_ =
      std::make_shared<vitals::http::target_catalog>();
  std::uint64_t reloads_ = 0;
};

}  // namespace vitalsd
