#pragma once
// Notifications: on every status transition of a check or a probe (after thresholds), send a
// message to webhooks, chat tools, PagerDuty or a command. Standard library and our own headers
// only.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/clock.hpp"
#include "vitals/observer.hpp"
#include "vitals/redact.hpp"
#include "vitals/snapshot.hpp"
#include "vitals/status.hpp"

namespace vitals::notify {

using steady_time = std::chrono::steady_clock::time_point;
using wall_time = std::chrono::system_clock::time_point;

/// What an alert is about.
enum class subject_kind : std::uint8_t { check, probe };

/// One transition worth telling someone about.
///
///     alert a{.subject = subject_kind::check, .name = "postgres", .from = status::pass,
///             .to = status::fail, .kind = failure_kind::refused};
struct alert {
  subject_kind subject = subject_kind::check;
  /// The check's name, or the probe's ("live", "ready", "startup").
  std::string name{};
  /// The target group that made the check (`targets:`, dispatcher_options::group_of); empty for
  /// other checks and for probes.
  std::string group{};
  status from = status::unknown;
  status to = status::unknown;
  failure_kind kind = failure_kind::none;
  /// The check's output, redacted (empty on pass and for probes).
  std::string output{};
  /// A critical check, or a probe: its failure fails the probe (routing by `severity`).
  bool critical = true;
  /// When the transition happened (wall clock).
  wall_time time{};
  std::string service_id{};
  std::string version{};
  /// Where to look (e.g. the service's /health URL); may be empty.
  std::string link{};
  /// A reminder (`repeat_every`) of an alert that is still failing.
  bool reminder = false;
  /// The check was removed from the configuration while its failure was announced: this
  /// alert closes it (`to` is unknown).
  bool removed = false;

  /// True when this alert tells of a recovery (`to` is pass or warn) or closes a removed check.
  [[nodiscard]] bool resolved() const noexcept { return is_ok(to) || removed; }
  /// "check:postgres" or "probe:ready": stable, used as PagerDuty's dedup key and in state.
  [[nodiscard]] std::string key() const;
};

/// What a notifier sends at once: one alert, or several grouped by `group_wait`.
struct message {
  std::vector<alert> alerts{};
  /// "[FAIL] postgres: connection refused", "[RESOLVED] postgres", "3 alerts: a, b, c".
  [[nodiscard]] std::string summary() const;
};

/// The outcome of one delivery attempt.
struct delivery {
  bool ok = true;
  /// Why it failed (redacted by the notifier: never a URL or a key).
  std::string error{};
  /// The peer cannot take this message at all (e.g. HTTP 400): not retried.
  bool permanent = false;
};

/// One channel (webhook, Slack, Teams, PagerDuty, email, command). Implementations do one attempt
/// per call and return by `deadline`; retries, backoff, queueing and threads are the dispatcher's.
///
///     struct stdout_notifier final : vitals::notify::notifier {
///       delivery send(const message& m, steady_time) override { std::puts(m.summary().c_str());
///                                                               return {}; }
///     };
class notifier {
 public:
  virtual ~notifier() = default;
  /// One attempt. Exceptions are caught and count as a failed attempt.
  [[nodiscard]] virtual delivery send(const message& m, steady_time deadline) = 0;
  /// Strings that must never appear in any output of this notifier (its URL, its key).
  [[nodiscard]] virtual std::vector<std::string> secrets() const { return {}; }
};

/// A window during which a notifier sends nothing (alerts keep their state: one still failing
/// when the window ends is announced then). Either once, from `start` to `end`, or recurring:
/// each time the cron expression `every` fires (5 fields, UTC: "0 2 * * SUN") for `length`.
///
///     maintenance_window nightly{.every = "0 2 * * *", .length = std::chrono::hours{1}};
struct maintenance_window {
  wall_time start{};
  wall_time end{};
  std::string every{};
  std::chrono::minutes length{0};
  [[nodiscard]] bool contains(wall_time t) const;
  /// Why `every` is not a schedule ("field 2 (hour): 24 is out of range 0-23"); empty if it is
  /// (or is empty).
  [[nodiscard]] std::string error() const;
};

/// Which alerts a notifier gets and when.
struct route_options {
  /// Check names or globs (`*`, `?`); empty = every check.
  std::vector<std::string> checks{};
  /// Target groups (names or globs) whose checks are sent; empty = any check, in a group or not.
  /// With `checks` too, a check must match both.
  std::vector<std::string> groups{};
  /// Probes whose transitions are sent (empty = none).
  std::vector<probe> probes{};
  /// true: only critical alerts (critical checks, probes); false: all.
  bool critical_only = false;
  /// A failure must last this long before it is sent; a recovery within it sends nothing.
  std::chrono::milliseconds for_duration{0};
  /// While still failing, remind every so often (0 = never).
  std::chrono::milliseconds repeat_every{0};
  /// Send a message when an announced failure recovers.
  bool send_on_resolved = true;
  /// Alerts ready within this window of the first are sent as one message (0 = at once).
  std::chrono::milliseconds group_wait{0};
  /// One grouping window, and one message, per target group (alert::group) instead of one for
  /// all: a group's outage is one message of its own.
  bool group_by_target_group = false;
  /// At most `rate_limit` messages per `rate_window` (0 = no limit); the rest are dropped.
  std::uint32_t rate_limit = 0;
  std::chrono::milliseconds rate_window{std::chrono::hours{1}};
  std::vector<maintenance_window> maintenance{};
};

/// How a notifier's messages are delivered.
struct delivery_options {
  /// Deadline of one attempt.
  std::chrono::milliseconds timeout{std::chrono::seconds{5}};
  /// Attempts after the first one.
  std::uint32_t retries = 3;
  /// Backoff before retry n (n = 1, 2...): `backoff * 2^(n-1)`, capped, ±50 % jitter.
  std::chrono::milliseconds backoff{std::chrono::milliseconds{500}};
  std::chrono::milliseconds max_backoff{std::chrono::seconds{30}};
  /// Messages waiting for this notifier; past it new messages are dropped (counted).
  std::size_t queue = 256;
};

/// A configured notifier: its name (for logs and metrics labels), its channel and its policy.
struct notifier_spec {
  std::string name{};
  std::shared_ptr<notifier> channel{};
  route_options route{};
  delivery_options delivery{};
  /// The link in this notifier's messages (empty: dispatcher_options::link).
  std::string link{};
};

/// Per-notifier figures (metrics).
struct notifier_stats {
  std::string name{};
  std::uint64_t sent_ok = 0;     ///< messages delivered
  std::uint64_t sent_error = 0;  ///< failed attempts
  std::uint64_t dropped = 0;     ///< messages lost: queue full, retries exhausted, rate limit
  std::size_t queue_length = 0;  ///< messages waiting now
};

/// An alert a notifier has announced (its failure was sent): what a restart or a reload
/// carries over so that the recovery is still sent and the failure not repeated.
struct announced_alert {
  std::string notifier{};
  notify::alert alert{};
};

struct dispatcher_options {
  std::vector<notifier_spec> notifiers{};
  std::shared_ptr<vitals::clock> clock{};  ///< default: real_clock()
  service_info info{};
  std::string link{};
  /// Alert state (which alerts were announced), written atomically on change and read at
  /// start, so a restart neither repeats a failure nor forgets a recovery. Empty: none.
  std::string state_file{};
  /// Announced alerts carried from a previous dispatcher (a reload), merged with the state file.
  std::vector<announced_alert> seed{};
  /// A thread calls poll() this often; 0 = no thread (tests call poll() themselves).
  std::chrono::milliseconds tick{std::chrono::seconds{1}};
  /// How a worker waits between retries; default: an interruptible wait on the real clock.
  /// Tests pass one that advances their manual clock.
  std::function<void(std::chrono::nanoseconds)> sleep{};
  /// Jitter source in [0, 1); default: a random generator.
  std::function<double()> random{};
  /// Extra secrets to scrub from every output (beyond the notifiers' own).
  std::vector<std::string> secrets{};
  /// The target group of a check ("" if none), read when its transition arrives: fills
  /// alert::group for `groups` routes and `group_by_target_group`. Default: no groups.
  std::function<std::string(std::string_view check)> group_of{};
  /// Where delivery failures are reported (already redacted); default: nowhere.
  std::function<void(std::string_view notifier, std::string_view what)> log{};
};

/// An observer that routes transitions to notifiers. Each notifier has its own bounded queue
/// and thread: a slow or dead endpoint never delays a check, a probe or another notifier.
///
///     auto d = std::make_shared<vitals::notify::dispatcher>(vitals::notify::dispatcher_options{
///         .notifiers = {{.name = "ops", .channel = vitals::notify::make_webhook({.url = u})}}});
///     vitals::service svc{std::move(reg), {.observers = {d}}};
class dispatcher final : public observer {
 public:
  explicit dispatcher(dispatcher_options options);
  ~dispatcher() override;
  dispatcher(const dispatcher&) = delete;
  dispatcher& operator=(const dispatcher&) = delete;

  void on_transition(const check_state& state, status from, status to) override;
  void on_probe(probe p, status from, status to) override;

  /// Time-driven work: `for` expiries, group flushes, reminders, the end of maintenance.
  void poll();
  /// Closes the alerts of checks that are not in `checks` (removed by a reload, or while the
  /// process was down): an announced failure is resolved with `alert::removed`, one not yet
  /// announced is forgotten. Probes are never removed.
  void keep_only(const std::vector<std::string>& checks);
  /// Blocks until every queued message has been delivered or dropped (tests, shutdown).
  void flush();
  /// Stops the threads; queued messages are abandoned (after a flush() they are none).
  void stop();
  [[nodiscard]] std::vector<notifier_stats> stats() const;
  /// The alerts announced and not yet resolved, per notifier (for the next dispatcher).
  [[nodiscard]] std::vector<announced_alert> announced() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Glob match with `*` and `?` (check names).
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view text) noexcept;

// --- channels ---------------------------------------------------------------------------------

/// Payload shapes of the HTTP channels.
enum class http_format : std::uint8_t { webhook, slack, teams, pagerduty };

/// "webhook", "slack", "teams", "pagerduty".
[[nodiscard]] std::string_view to_string(http_format f) noexcept;

/// The JSON body a channel sends for `m` (`routing_key` is used by PagerDuty only). One body per
/// alert for PagerDuty (an event each), one for the whole message otherwise.
[[nodiscard]] std::vector<std::string> render_payloads(http_format f, const message& m,
                                                       std::string_view routing_key = {});

struct http_notifier_options {
  http_format format = http_format::webhook;
  /// `http://` or `https://` (PagerDuty: default https://events.pagerduty.com/v2/enqueue).
  /// A secret: never shown.
  std::string url{};
  /// PagerDuty Events v2 integration key. A secret.
  std::string routing_key{};
  /// PEM CAs to trust for https (empty: the system's).
  std::string ca_file{};
};

/// An HTTP(S) POST of the format's JSON body, through the `http` check's client (so vitalsd
/// loads it, and OpenSSL, only when such a notifier is configured). 2xx is success; 4xx other
/// than 408/429 is permanent. Throws std::invalid_argument for a bad URL (never shown).
[[nodiscard]] std::shared_ptr<notifier> make_http_notifier(http_notifier_options options);

struct email_notifier_options {
  /// `smtp://host[:port]` (STARTTLS required unless `tls` is "none") or `smtps://host[:port]`.
  std::string url{};
  /// AUTH credentials (both or neither); the password is a secret.
  std::string username{};
  std::string password{};
  /// smtp:// only: "starttls" (the default) or "none" (plain text, no password).
  std::string tls = "starttls";
  /// PEM CAs to trust instead of the system ones.
  std::string ca_file{};
  /// The envelope sender and From: header (`alerts@example.com`, or `Vitals <alerts@...>`).
  std::string from{};
  /// Recipients (at least one).
  std::vector<std::string> to{};
};

/// The RFC 5322 message an email notifier sends for `m` (CRLF line ends): Subject is the
/// summary (RFC 2047-encoded when not ASCII), a text body with one paragraph per alert, and
/// `Date` / `Message-ID` from `now` and `message_id` (`<...@host>`).
[[nodiscard]] std::string render_email(const message& m, std::string_view from,
                                       const std::vector<std::string>& to, wall_time now,
                                       std::string_view message_id);

/// Email over SMTP through the `smtp` check's client (libcurl, loaded by vitalsd only when such
/// a notifier is configured): STARTTLS or implicit TLS, AUTH, one message per delivery. A 5xx
/// reply other than to AUTH is permanent; connection failures, timeouts and 4xx are retried.
/// Throws std::invalid_argument for a URL that is not smtp(s)://, no `from` or no `to`; what only
/// the client can judge (TLS policy, credentials) is a permanent delivery error (never showing
/// the password). vitalsd's loader checks all of it before starting.
[[nodiscard]] std::shared_ptr<notifier> make_email_notifier(email_notifier_options options);

struct command_notifier_options {
  /// Program and arguments, run without a shell; the message is written to its stdin as JSON
  /// (the webhook body). Exit status 0 is success.
  std::vector<std::string> argv{};
};

/// Runs a command per message, killed at the attempt's deadline.
[[nodiscard]] std::shared_ptr<notifier> make_command_notifier(command_notifier_options options);

}  // namespace vitals::notify
