#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/check.hpp"
#include "vitals/history.hpp"
#include "vitals/http/handler.hpp"
#include "vitals/http/server.hpp"
#include "vitals/registry.hpp"
#include "vitals/snapshot.hpp"

/// The YAML configuration of `vitalsd` (and of `vitals validate`): file → validated, ready-to-run
/// checks and server settings. Every check type owns its YAML keys next to its code
/// (src/checks/<type>/config.cpp); this layer adds the common keys, `${ENV}` substitution,
/// `*_file` secrets, hostile-input limits and precise diagnostics.
///
///     try {
///       vitals::config::daemon_config cfg = vitals::config::load_file("/etc/vitals/vitalsd.yaml");
///       vitals::service svc{vitals::config::build_registry(cfg), {.info = cfg.info}};
///     } catch (const vitals::config::error& e) {
///       std::cerr << e.what();   // every problem, one per line: file:line:col: path: message
///     }
namespace vitals::config {

/// One problem found in a configuration, with its position.
struct diagnostic {
  std::string file{};
  int line = 0;        ///< 1-based; 0 when the problem has no position (e.g. unreadable file)
  int column = 0;      ///< 1-based
  std::string path{};  ///< YAML path, e.g. `checks[2].timeout`; `(document)` for the whole file
  std::string message{};

  /// `file:line:column: path: message` (secrets never appear in it).
  [[nodiscard]] std::string to_string() const;
};

/// Thrown by the loaders with every problem found (not only the first). `what()` is the list of
/// diagnostics, one per line.
class error : public std::runtime_error {
 public:
  explicit error(std::vector<diagnostic> diagnostics);
  [[nodiscard]] const std::vector<diagnostic>& diagnostics() const noexcept { return diags_; }

 private:
  std::vector<diagnostic> diags_;
};

/// One configured check, built and validated.
struct check_config {
  std::string name{};
  std::string type{};
  check_options options{};
  std::shared_ptr<vitals::check> impl{};
  /// Digest of the type and of every key set in the check's own mapping, as read (after
  /// `${ENV}` and `*_file`; secrets included): 16 hex digits. With `options` (which also hold
  /// what `defaults:` gave), what tells two configurations of a check apart.
  std::string fingerprint{};
  int line = 0;  ///< where the check is defined
  /// Set for a check made by a target group (`targets:`): the group's name and its labels
  /// (sorted by name), exported with the check's name in `vitals_target_info`. Not part of
  /// same_check(): changing a label keeps the check's state.
  std::string group{};
  std::vector<std::pair<std::string, std::string>> labels{};

  /// Same name, type, options and settings: vitalsd carries such a check's state across a
  /// reload as it is.
  [[nodiscard]] bool same_check(const check_config& other) const {
    return name == other.name && type == other.type && options == other.options &&
           fingerprint == other.fingerprint;
  }
};

enum class log_format : std::uint8_t { text, json };

struct log_config {
  log_format format = log_format::text;
  /// trace, debug, info, warn, error, critical, off
  std::string level = "info";
};

struct shutdown_config {
  /// After SIGTERM: readiness fails at once, serving continues this long (load balancers notice).
  std::chrono::milliseconds drain_delay = std::chrono::seconds{5};
  /// Hard bound from SIGTERM to exit.
  std::chrono::milliseconds grace_period = std::chrono::seconds{30};
};

/// One entry of `notify:` (see docs/notifications.md). vitalsd turns it into a
/// vitals::notify notifier; the values are checked when the file is loaded.
struct notifier_config {
  /// Name in logs and in the `notifier` label of the metrics (never the URL).
  std::string name{};
  /// webhook, slack, teams, pagerduty, email or command.
  std::string type{};
  std::string url{};          ///< a secret (webhook, slack, teams; pagerduty: optional; email)
  std::string routing_key{};  ///< a secret (pagerduty)
  std::string ca_file{};
  /// email: SMTP AUTH credentials (the password a secret), STARTTLS policy, sender, recipients.
  std::string username{};
  std::string password{};
  std::string tls = "starttls";
  std::string from{};
  std::vector<std::string> to{};
  std::string link{};                  ///< shown in messages (status page, /health URL)
  std::vector<std::string> command{};  ///< argv (command)
  std::vector<std::string> checks{};   ///< names or globs; empty = every check
  std::vector<std::string> groups{};   ///< target groups (names or globs); empty = any
  std::vector<std::string> probes{};   ///< live, ready, startup
  std::string severity = "all";        ///< all or critical
  std::chrono::milliseconds for_duration{0};
  std::chrono::milliseconds repeat_every{0};
  bool send_on_resolved = true;
  std::chrono::milliseconds group_wait{0};
  std::string group_by = "none";  ///< none or group: a grouping window per target group
  std::int64_t rate_limit = 0;
  std::chrono::milliseconds rate_window = std::chrono::hours{1};
  /// "START/END" in RFC 3339 ("2026-12-02T01:00:00Z/2026-12-02T03:00:00Z"), or recurring:
  /// "<cron, 5 fields, UTC> for <duration>" ("0 2 * * SUN for 2h"). See parse_maintenance().
  std::vector<std::string> maintenance{};
  std::chrono::milliseconds timeout = std::chrono::seconds{5};
  std::int64_t retries = 3;
  std::chrono::milliseconds backoff = std::chrono::milliseconds{500};
  std::int64_t queue = 256;
  int line = 0;  ///< where it is defined
  friend bool operator==(const notifier_config&, const notifier_config&) = default;
};

/// "2026-12-02T01:00:00Z" (also with fractional seconds or a +hh:mm offset) as a time point;
/// nullopt when it is not one.
[[nodiscard]] std::optional<std::chrono::system_clock::time_point> parse_rfc3339(
    std::string_view text);

/// A maintenance window of `notify[].maintenance`: once (`start`, `end`) or recurring (`every`,
/// a cron expression in UTC, for `length`).
struct maintenance_spec {
  std::chrono::system_clock::time_point start{};
  std::chrono::system_clock::time_point end{};
  std::string every{};
  std::chrono::minutes length{0};
};

/// "2026-12-02T01:00:00Z/2026-12-02T03:00:00Z" or "0 2 * * SUN for 2h" (length 1m to 31d); nullopt
/// with `error` set when it is neither.
[[nodiscard]] std::optional<maintenance_spec> parse_maintenance(std::string_view text,
                                                                std::string* error = nullptr);

/// The whole daemon configuration.
///
///     auto cfg = vitals::config::load_string("checks: [{name: mem, type: memory}]", "inline");
///     cfg.server.port == 8081;
/// `grpc:` — vitalsd's grpc.health.v1 server on its own port (docs/endpoints/grpc.md); off while
/// `listen` is empty. Its token is `auth.token`, as for the HTTP endpoints.
struct grpc_config {
  std::string listen{};  ///< "address:port"
  /// Extra service names: name -> "" | liveness | readiness | startup | a check's name.
  std::vector<std::pair<std::string, std::string>> aliases{};
  std::int64_t list_limit = 100;  ///< List answers RESOURCE_EXHAUSTED above this many names
  std::string cert_file{};        ///< TLS (both or neither)
  std::string key_file{};
  std::string client_ca_file{};  ///< mTLS: a verified client certificate is required
  friend bool operator==(const grpc_config&, const grpc_config&) = default;
};

struct daemon_config {
  /// Where it came from (file path, or the name given to load_string).
  std::string source{};
  /// `listen:` split into server.address / server.port, plus `server:` limits.
  http::server_options server{};
  /// `auth:` token, detail policy, status codes, prefix.
  http::handler_options http{};
  service_info info{};
  shutdown_config shutdown{};
  log_config log{};
  /// Size of the pool running blocking checks (`engine.max_threads`, 0 = automatic).
  std::size_t max_threads = 0;
  /// The engine's own `engine` check in `ready` (`engine.self_check`): warns while runs start
  /// late by more than `engine.lag_warn` (p99), the sign of an engine that cannot keep up.
  bool self_check = false;
  std::chrono::milliseconds lag_warn{100};
  std::vector<check_config> checks{};
  /// `notify:` notifiers, and `notify_state:` (where their alert state is kept; empty: nowhere).
  std::vector<notifier_config> notify{};
  std::string notify_state{};
  grpc_config grpc{};
  /// `storage:` where the history of results is kept (empty path: none; docs/history.md).
  history_options history{};
};

/// Reads and validates a file. Throws `error` with all diagnostics (file missing, larger than
/// 4 MiB, syntax, unknown keys, wrong types, ...).
[[nodiscard]] daemon_config load_file(const std::string& path);

/// Same, from text; `name` is used as the file name in diagnostics.
[[nodiscard]] daemon_config load_string(std::string_view yaml, std::string_view name = "<string>");

/// A registry holding every configured check (instances are shared with `cfg`).
[[nodiscard]] registry build_registry(const daemon_config& cfg);

/// The configuration used when vitalsd runs without a file: disk, memory, load and the
/// process's own event loop, served on 127.0.0.1:8081. Works on a bare machine.
[[nodiscard]] std::string_view embedded_default();

/// JSON Schema (draft 2020-12) of the configuration file, generated from the same per-type
/// schemas the loader uses (docs/vitals.schema.json is this text).
[[nodiscard]] std::string json_schema();

/// Names of the check types compiled in, sorted.
[[nodiscard]] std::vector<std::string> check_types();

/// Parses "250ms", "5s", "1m30s", "2h", "14d", "0"; throws std::invalid_argument otherwise.
[[nodiscard]] std::chrono::milliseconds parse_duration(std::string_view text);

}  // namespace vitals::config
