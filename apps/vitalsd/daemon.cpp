#include "daemon.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <utility>

#include "base/format.hpp"
#include "carry.hpp"
#include "http/handler_impl.hpp"
#include "http/metrics.hpp"

namespace vitalsd {
namespace {

using namespace std::chrono_literals;
using vitals::config::daemon_config;

std::string ms_text(std::chrono::nanoseconds d) { return vitals::base::format_duration(d); }

constexpr std::string_view storage_check = "storage";

// Shards sharing a PostgreSQL history write their own targets into it. The checks that every
// instance runs for itself (its `storage` check, the engine's own) would be written by each of
// them into the same rows, so they stay out of a sharded history.
class shard_history final : public vitals::observer {
 public:
  explicit shard_history(std::shared_ptr<vitals::observer> history) : h_(std::move(history)) {}
  void on_result(const vitals::check_state& s) override {
    if (!per_instance(s.name)) h_->on_result(s);
  }
  void on_transition(const vitals::check_state& s, vitals::status from,
                     vitals::status to) override {
    if (!per_instance(s.name)) h_->on_transition(s, from, to);
  }

 private:
  static bool per_instance(std::string_view name) {
    return name == storage_check || name == vitals::engine_check_name;
  }
  std::shared_ptr<vitals::observer> h_;
};

void write_history_metrics(const vitals::results_history& h,
                           vitals::http::detail::metrics_writer& w) {
  using vitals::http::detail::metric_type;
  const vitals::history_stats st = h.stats();
  w.family("vitals_history_results_written", metric_type::counter,
           "Raw results written to the history.");
  w.sample("", st.results_written);
  w.family("vitals_history_rows_written", metric_type::counter,
           "Rollup rows (minute, hour, day) upserted.");
  w.sample("", st.rows_written);
  w.family("vitals_history_rows_expired", metric_type::counter, "Rows removed by retention.");
  w.sample("", st.rows_expired);
  w.family("vitals_history_dropped", metric_type::counter,
           "Results and transitions dropped before they reached the history (writer behind).");
  w.sample("", st.dropped);
  w.family("vitals_history_faults", metric_type::counter,
           "Failed writes or opens of the history (full disk, corrupt or unreadable file).");
  w.sample("", st.faults);
  w.family("vitals_history_recovered_files", metric_type::counter,
           "Corrupt history files moved aside and started again.");
  w.sample("", st.recovered_files);
  w.family("vitals_history_up", metric_type::gauge,
           "1 while the latest write of the history succeeded, 0 while it fails.");
  w.sample("", static_cast<std::uint64_t>(st.fault.empty() ? 1 : 0));
  w.family("vitals_history_file_bytes", metric_type::gauge,
           "Size of the history file and its write-ahead log (PostgreSQL: its tables).");
  w.sample("", st.file_bytes);
  w.family("vitals_history_standby", metric_type::gauge,
           "1 while another instance holds the PostgreSQL writer lock (this one stands by).");
  w.sample("", static_cast<std::uint64_t>(st.standby ? 1 : 0));
  w.family("vitals_history_skipped", metric_type::counter,
           "Results and transitions not written while standing by.");
  w.sample("", st.skipped);
  w.family("vitals_history_last_flush_seconds", metric_type::gauge,
           "Duration of the latest committed flush.");
  w.sample("", std::chrono::duration<double>(st.last_flush).count());
}

}  // namespace

daemon::daemon(daemon_options options, daemon_config initial)
    : options_(std::move(options)),
      cfg_(std::move(initial)),
      log_(std::make_shared<log>(cfg_.log)),
      notify_(std::make_shared<notify_hub>(log_)) {}

daemon::~daemon() {
  if (grpc_) grpc_->stop();
  if (http_) http_->stop();
  if (svc_) svc_->stop();
  notify_->stop();
  if (history_) history_->flush();
}

void daemon::block_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::shared_ptr<vitals::service> daemon::make_engine(
    const daemon_config& cfg, const vitals::snapshot* previous,
    std::shared_ptr<vitals::observer> notifications) const {
  auto logger = log_;
  vitals::service_options so{
      .info = cfg.info,
      .max_threads = cfg.max_threads,
      .on_event = [logger](const vitals::event& e) { logger->event(e); },
      .self_check = cfg.self_check,
      .engine_lag_warn = cfg.lag_warn,
  };
  if (notifications) so.observers.push_back(std::move(notifications));
  if (history_ && options_.shard.count > 1 && !cfg.history.url.empty()) {
    so.observers.push_back(std::make_shared<shard_history>(history_));
  } else if (history_) {
    so.observers.push_back(history_);
  }
  so.observers.push_back(events_);
  if (previous != nullptr) {
    so.seed_states = carried_states(cfg_, cfg, *previous);
    log_->write(log::level::debug, "engine built",
                {{"checks", std::to_string(cfg.checks.size())},
                 {"kept_state", std::to_string(so.seed_states.size())}});
  }
  vitals::registry reg = vitals::config::build_registry(cfg);
  if (history_) {
    // The monitor's own readiness says when its history cannot be written (full disk, a
    // corrupt file being replaced, an unwritable directory); the checks go on meanwhile.
    reg.add(std::string{storage_check},
            [h = history_](const vitals::context&) {
              const vitals::history_stats st = h->stats();
              if (!st.fault.empty()) {
                return vitals::fail("history not written: " + st.fault,
                                    vitals::failure_kind::internal);
              }
              return vitals::pass().detail(
                  "history", st.standby ? "standby: another instance writes" : "writing");
            },
            {.probes = vitals::ready, .interval = 2s, .timeout = 1s});
  }
  return std::make_shared<vitals::service>(std::move(reg), std::move(so));
}

void daemon::wait_first_results(const vitals::service& svc, const daemon_config& cfg) const {
  // New checks start `unknown` (not ready): give background checks without an initial delay one
  // timeout to report before the new engine is exposed, so a reload does not flap readiness.
  std::chrono::milliseconds budget{0};
  for (const auto& c : cfg.checks) {
    if (c.options.mode == vitals::schedule::background &&
        c.options.initial_delay == std::chrono::milliseconds{0}) {
      budget = std::max(budget, c.options.timeout + 100ms);
    }
  }
  budget = std::min<std::chrono::milliseconds>(budget, 5s);
  const auto until = std::chrono::steady_clock::now() + budget;
  while (std::chrono::steady_clock::now() < until) {
    const auto snap = svc.current();
    bool all = true;
    for (const auto& c : snap->checks) {
      if (c.options.mode == vitals::schedule::background &&
          c.options.initial_delay == std::chrono::milliseconds{0} &&
          c.reported.status == vitals::status::unknown) {
        all = false;
        break;
      }
    }
    if (all) return;
    std::this_thread::sleep_for(5ms);
  }
}

void daemon::start_server() {
  // The server shares the engine: after a rebind, requests still answering from the previous
  // engine keep it alive until they are done.
  http_ = std::make_unique<vitals::http::server>(svc_, cfg_.server, cfg_.http);
  // The notifiers' counters on /metrics (the hub outlives every server it is added to).
  vitals::http::detail::handler_access::of(http_->get_handler())
      .add_metrics_source(
          [hub = notify_](vitals::http::detail::metrics_writer& w) { hub->write_metrics(w); });
  vitals::http::detail::handler_access::of(http_->get_handler())
      .add_metrics_source([labels = labels_](vitals::http::detail::metrics_writer& w) {
        labels->write_metrics(w);
      });
  if (history_) {
    vitals::http::detail::handler_access::of(http_->get_handler())
        .add_metrics_source([h = history_](vitals::http::detail::metrics_writer& w) {
          write_history_metrics(*h, w);
        });
  }
  http_->start();
}

void daemon::start_grpc_server() {
  if (cfg_.grpc.listen.empty()) return;
  grpc_ = start_grpc(svc_, cfg_.grpc, cfg_.http.token);
}

void daemon::reload_grpc(const daemon_config& next, const std::shared_ptr<vitals::service>& fresh) {
  // Same settings: the server (its port and every open Watch stream) follows the new engine.
  if (grpc_ && cfg_.grpc == next.grpc && cfg_.http.token == next.http.token) {
    const std::string why = grpc_->rebind(fresh);
    if (why.empty()) return;
    log_->write(log::level::warn, "restarting the gRPC server", {{"reason", why}});
  } else if (grpc_ || !next.grpc.listen.empty()) {
    log_->write(log::level::warn, "restarting the gRPC server",
                {{"reason", "grpc or auth settings changed"}});
  }
  if (grpc_) {
    grpc_->stop();
    grpc_.reset();
  }
  if (next.grpc.listen.empty()) return;
  try {
    grpc_ = start_grpc(fresh, next.grpc, next.http.token);
  } catch (const std::exception& e) {
    log_->write(log::level::error, "cannot start the gRPC server", {{"error", e.what()}});
    throw;
  }
}

void daemon::log_summary(std::string_view what) const {
  std::string names;
  for (const auto& c : cfg_.checks) {
    if (!names.empty()) names += ',';
    names += c.name + ":" + c.type;
  }
  fields f{{"version", options_.version},
           {"config", options_.config_path.empty() ? "<embedded>" : options_.config_path},
           {"listen", cfg_.server.address + ":" + std::to_string(http_ ? http_->port() : 0)},
           {"metrics_listen", cfg_.server.metrics_address.empty()
                                  ? std::string{"none"}
                                  : cfg_.server.metrics_address + ":" +
                                        std::to_string(http_ ? http_->metrics_port() : 0)},
           {"grpc_listen", cfg_.grpc.listen.empty()
                               ? std::string{"none"}
                               : cfg_.grpc.listen.substr(0, cfg_.grpc.listen.rfind(':')) + ":" +
                                     std::to_string(grpc_ ? grpc_->port() : 0)},
           {"checks", std::to_string(cfg_.checks.size())},
           {"names", names},
           {"auth", cfg_.http.token.empty() ? "none" : "token"},
           {"pid", std::to_string(::getpid())}};
  if (options_.shard.count > 1) {
    f.emplace_back(
        "shard", std::to_string(options_.shard.index) + "/" + std::to_string(options_.shard.count));
  }
  log_->write(log::level::info, what, f);
}

bool daemon::check_fd_budget(const daemon_config& cfg, std::string* refusal) const {
  const auto budget = plan_fd_budget(cfg, options_.limits);
  if (!budget.fits()) {
    if (refusal != nullptr) *refusal = budget.refusal();
    log_->write(log::level::error, "configuration refused: not enough file descriptors",
                {{"needed", std::to_string(budget.required())},
                 {"limit", std::to_string(budget.limits.soft)},
                 {"budget", budget.summary()}});
    return false;
  }
  log_->write(budget.fits_with_server() ? log::level::info : log::level::warn,
              budget.fits_with_server()
                  ? "file descriptor budget"
                  : "file descriptor budget: a flood of connections to the server can exhaust it",
              {{"needed", std::to_string(budget.required())},
               {"limit", std::to_string(budget.limits.soft)},
               {"budget", budget.summary()}});
  return true;
}

void daemon::reload() {
  ++reloads_;
  daemon_config next;
  vitals::http::target_catalog::map fleet;
  try {
    next = options_.config_path.empty()
               ? vitals::config::load_string(vitals::config::embedded_default(), "<embedded>")
               : vitals::config::load_file(options_.config_path);
    fleet = keep_shard(next, options_.shard);
    next.http.targets = labels_->catalog();  // the same catalog: not a change of the server
    next.http.fleet = cfg_.http.fleet;
    if (history_) next.history.writer_lock = cfg_.history.writer_lock;  // as derived at start
    if (!(next.history == cfg_.history)) {
      log_->write(log::level::warn, "storage changes take effect at the next start",
                  {{"store", history_ ? history_->where() : std::string{"none"}}});
      next.history = cfg_.history;
    }
    next.http.history = cfg_.http.history;
    next.http.events = cfg_.http.events;
    next.http.maintenance = cfg_.http.maintenance;
  } catch (const vitals::config::error& e) {
    for (const auto& d : e.diagnostics()) {
      log_->write(log::level::error, "reload rejected: invalid configuration",
                  {{"error", d.to_string()}});
    }
    log_->write(log::level::warn, "keeping the running configuration",
                {{"reload", std::to_string(reloads_)}});
    return;
  } catch (const std::exception& e) {
    log_->write(log::level::error, "reload rejected", {{"error", e.what()}});
    return;
  }

  // A certificate that cannot be loaded would leave no server after the restart below.
  if (const std::string why = vitals::http::validate_tls(next.server.tls); !why.empty()) {
    log_->write(log::level::error, "reload rejected", {{"error", why}});
    log_->write(log::level::warn, "keeping the running configuration",
                {{"reload", std::to_string(reloads_)}});
    return;
  }

  if (!check_fd_budget(next, nullptr)) {
    log_->write(log::level::warn, "keeping the running configuration",
                {{"reload", std::to_string(reloads_)}});
    return;
  }

  const auto previous = svc_->current();
  std::shared_ptr<vitals::service> fresh;
  std::shared_ptr<vitals::notify::dispatcher> notifications;
  try {
    notifications = notify_->prepare(next);
    fresh = make_engine(next, previous.get(), notifications);
  } catch (const std::exception& e) {
    log_->write(log::level::error, "reload rejected", {{"error", e.what()}});
    return;
  }
  // The new groups and labels before the new engine's first transitions (alert::group).
  labels_->set(next);
  if (cfg_.http.fleet) fleet_->set(std::move(fleet));
  fresh->start();
  wait_first_results(*fresh, next);

  // The server swaps engines in place (keeping the listener and every connection) unless its
  // own settings changed: then a new server, same port unless the port itself changed.
  const bool same_http = cfg_.server == next.server && cfg_.http == next.http;
  if (same_http) {
    http_->rebind(fresh);
  } else {
    log_->write(log::level::warn, "restarting the HTTP server",
                {{"reason", "listen/server/http/auth settings changed"}});
    http_->stop();
    http_.reset();
  }
  // Stopped at once (its threads joined, its results final); requests that loaded it just before
  // the swap still read its last snapshot, and the server releases it once they are done.
  reload_grpc(next, fresh);
  std::exchange(svc_, fresh)->stop();
  notify_->commit(next, std::move(notifications));
  cfg_ = std::move(next);
  log_->configure(cfg_.log);
  if (!same_http) {
    try {
      start_server();
    } catch (const std::exception& e) {
      log_->write(log::level::error, "cannot start the HTTP server", {{"error", e.what()}});
      throw;
    }
  }
  log_summary("configuration reloaded");
}

int daemon::shut_down() {
  const auto t0 = std::chrono::steady_clock::now();
  svc_->begin_shutdown();
  log_->write(log::level::info, "shutting down: readiness failing, still serving",
              {{"drain_delay", ms_text(cfg_.shutdown.drain_delay)},
               {"grace_period", ms_text(cfg_.shutdown.grace_period)}});

  // The grace period is a hard bound: if stopping hangs (a check ignoring cancellation, a
  // client holding a connection), the process exits anyway.
  const auto grace = cfg_.shutdown.grace_period;
  std::thread([grace, t0, logger = log_] {
    std::this_thread::sleep_until(t0 + grace);
    logger->write(log::level::error, "grace period over: exiting now");
    std::_Exit(1);
  }).detach();

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  const auto drain_end = t0 + cfg_.shutdown.drain_delay;
  while (true) {
    const auto left = drain_end - std::chrono::steady_clock::now();
    if (left <= 0ns) break;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec ts{.tv_sec = static_cast<time_t>(ns / 1'000'000'000),
                .tv_nsec = static_cast<long>(ns % 1'000'000'000)};
    const int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) {
      log_->write(log::level::warn, "second signal: skipping the rest of the drain delay");
      break;
    }
  }
  if (grpc_) grpc_->stop();  // every Watch stream: a final NOT_SERVING, then the end
  http_->stop();
  svc_->stop();
  notify_->stop();  // what is queued is delivered (bounded by the notifiers' retries)
  if (history_) history_->flush();
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  log_->write(log::level::info, "stopped", {{"after", ms_text(took)}});
  return 0;
}

int daemon::run() {
  cfg_.http.targets = labels_->catalog();
  if (options_.shard.count > 1) {
    fleet_->set(std::move(options_.fleet));
    cfg_.http.fleet = fleet_;
  }
  notify_->use_groups(labels_->catalog());
  cfg_.http.maintenance = notify_;  // the notifiers' windows, whichever config is current
  cfg_.http.events = events_;
  if (!cfg_.history.path.empty() || !cfg_.history.url.empty()) {
    if (cfg_.history.url.empty()) {
      history_ = std::make_shared<vitals::sqlite_history>(cfg_.history);
    } else {
      // Replicas of a shard share its writer lock: one writes, the others stand by.
      if (cfg_.history.writer_lock.empty()) {
        cfg_.history.writer_lock = options_.shard.count > 1
                                       ? "shard " + std::to_string(options_.shard.index) + "/" +
                                             std::to_string(options_.shard.count)
                                       : std::string{"vitalsd"};
      }
      history_ = std::make_shared<vitals::postgres_history>(cfg_.history);
    }
    cfg_.http.history = history_;
    const auto st = history_->stats();
    log_->write(st.fault.empty() ? log::level::info : log::level::error, "history",
                {{"store", history_->where()},
                 {"standby", st.standby ? "yes" : "no"},
                 {"fault", st.fault.empty() ? std::string{"none"} : st.fault}});
  }
  std::string refusal;
  if (!check_fd_budget(cfg_, &refusal)) throw std::runtime_error(refusal);
  auto notifications = notify_->prepare(cfg_);
  svc_ = make_engine(cfg_, nullptr, notifications);
  notify_->commit(cfg_, std::move(notifications));
  labels_->set(cfg_);
  svc_->start();
  start_server();
  start_grpc_server();
  log_summary("vitalsd started");

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      reload();
      continue;
    }
    log_->write(log::level::info, "signal received", {{"signal", sig == SIGTERM ? "TERM" : "INT"}});
    return shut_down();
  }
}

}  // namespace vitalsd
