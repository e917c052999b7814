#include "notify_hub.hpp"

#include "base/cron.hpp"

#include <stdexcept>

#include "http/metrics.hpp"

namespace vitalsd {
namespace {

namespace vn = vitals::notify;
using vitals::config::notifier_config;

std::shared_ptr<vn::notifier> make_channel(const notifier_config& n) {
  if (n.type == "command") return vn::make_command_notifier({.argv = n.command});
  if (n.type == "email") {
    return vn::make_email_notifier({.url = n.url,
                                    .username = n.username,
                                    .password = n.password,
                                    .tls = n.tls,
                                    .ca_file = n.ca_file,
                                    .from = n.from,
                                    .to = n.to});
  }
  const vn::http_format f = n.type == "slack"       ? vn::http_format::slack
                            : n.type == "teams"     ? vn::http_format::teams
                            : n.type == "pagerduty" ? vn::http_format::pagerduty
                                                    : vn::http_format::webhook;
  return vn::make_http_notifier(
      {.format = f, .url = n.url, .routing_key = n.routing_key, .ca_file = n.ca_file});
}

vn::notifier_spec make_spec(const notifier_config& n) {
  vn::notifier_spec s{.name = n.name, .channel = make_channel(n), .link = n.link};
  s.route.checks = n.checks;
  s.route.groups = n.groups;
  s.route.group_by_target_group = n.group_by == "group";
  for (const auto& p : n.probes) {
    s.route.probes.push_back(p == "live"    ? vitals::probe::live
                             : p == "ready" ? vitals::probe::ready
                                            : vitals::probe::startup);
  }
  s.route.critical_only = n.severity == "critical";
  s.route.for_duration = n.for_duration;
  s.route.repeat_every = n.repeat_every;
  s.route.send_on_resolved = n.send_on_resolved;
  s.route.group_wait = n.group_wait;
  s.route.rate_limit = static_cast<std::uint32_t>(n.rate_limit);
  s.route.rate_window = n.rate_window;
  for (const auto& w : n.maintenance) {
    if (const auto m = vitals::config::parse_maintenance(w)) {  // validated by the loader
      s.route.maintenance.push_back(
          {.start = m->start, .end = m->end, .every = m->every, .length = m->length});
    }
  }
  s.delivery.timeout = n.timeout;
  s.delivery.retries = static_cast<std::uint32_t>(n.retries);
  s.delivery.backoff = n.backoff;
  s.delivery.queue = static_cast<std::size_t>(n.queue);
  return s;
}

}  // namespace

notify_hub::~notify_hub() { stop(); }

std::shared_ptr<vn::dispatcher> notify_hub::prepare(const vitals::config::daemon_config& cfg) {
  std::lock_guard lk(mu_);
  const auto same_info = [&](const vitals::service_info& a) {
    return a.service_id == cfg.info.service_id && a.version == cfg.info.version;
  };
  if (current_ && cfg.notify == settings_ && cfg.notify_state == state_file_ && same_info(info_)) {
    return current_;
  }
  if (cfg.notify.empty()) return nullptr;
  vn::dispatcher_options o{.info = cfg.info, .state_file = cfg.notify_state};
  if (catalog_) {
    // Read at each transition: the catalog is that of the running configuration, also after a
    // reload that kept this dispatcher.
    o.group_of = [catalog = catalog_](std::string_view check) {
      const auto entries = catalog->get();
      const auto it = entries->find(std::string{check});
      return it == entries->end() ? std::string{} : it->second.group;
    };
  }
  for (const auto& n : cfg.notify) o.notifiers.push_back(make_spec(n));
  if (current_) o.seed = current_->announced();
  auto logger = log_;
  o.log = [logger](std::string_view notifier, std::string_view what) {
    // Already redacted by the dispatcher (URLs and keys of every notifier).
    logger->write(log::level::warn, "notification",
                  {{"notifier", std::string(notifier)}, {"error", std::string(what)}});
  };
  return std::make_shared<vn::dispatcher>(std::move(o));
}

void notify_hub::commit(const vitals::config::daemon_config& cfg,
                        std::shared_ptr<vn::dispatcher> next) {
  std::shared_ptr<vn::dispatcher> previous;
  {
    std::lock_guard lk(mu_);
    if (next != current_) {
      previous = std::exchange(current_, std::move(next));
      settings_ = cfg.notify;
      state_file_ = cfg.notify_state;
      info_ = cfg.info;
    }
    next = current_;
  }
  if (previous) previous->stop();
  // A check that is gone (removed by this reload, or while vitalsd was down) never recovers:
  // its announced failure is closed now, not left open forever.
  if (next) {
    std::vector<std::string> names;
    names.reserve(cfg.checks.size());
    for (const auto& c : cfg.checks) names.push_back(c.name);
    next->keep_only(names);
  }
}

void notify_hub::write_metrics(vitals::http::detail::metrics_writer& w) const {
  using vitals::http::detail::metric_type;
  std::vector<vn::notifier_stats> stats;
  {
    std::lock_guard lk(mu_);
    if (current_) stats = current_->stats();
  }
  const auto label = [](const std::string& name) {
    std::string l = "notifier=\"";
    vitals::http::detail::append_label_value(l, name);
    return l + "\"";
  };
  w.family("vitals_notifier_sent", metric_type::counter,
           "Notification delivery attempts by result (ok: delivered, error: failed attempt).");
  for (const auto& s : stats) {
    w.sample(label(s.name), R"(result="ok")", static_cast<double>(s.sent_ok));
    w.sample(label(s.name), R"(result="error")", static_cast<double>(s.sent_error));
  }
  w.family("vitals_notifier_dropped", metric_type::counter,
           "Notifications lost: queue full, retries exhausted, rate limited.");
  for (const auto& s : stats) w.sample(label(s.name), s.dropped);
  w.family("vitals_notifier_queue_length", metric_type::gauge,
           "Notifications waiting for delivery.");
  for (const auto& s : stats) {
    w.sample(label(s.name), static_cast<std::uint64_t>(s.queue_length));
  }
}

std::vector<vitals::http::maintenance_info> notify_hub::windows(
    std::chrono::system_clock::time_point now) const {
  std::vector<vitals::http::maintenance_info> out;
  std::lock_guard lk(mu_);
  for (const auto& n : settings_) {
    for (const auto& text : n.maintenance) {
      const auto m = vitals::config::parse_maintenance(text);  // validated by the loader
      if (!m) continue;
      vitals::http::maintenance_info w{.notifier = n.name, .window = text};
      if (m->every.empty()) {
        w.start = m->start;
        w.end = m->end;
        w.active = now >= m->start && now < m->end;
      } else if (const auto schedule = vitals::base::cron_schedule::parse(m->every)) {
        const auto began = schedule->latest_at_or_before(now, m->length);
        if (began && now < *began + m->length) {
          w.active = true;
          w.start = *began;
          w.end = *began + m->length;
        }
      }
      out.push_back(std::move(w));
    }
  }
  return out;
}

void notify_hub::stop() {
  std::shared_ptr<vn::dispatcher> d;
  {
    std::lock_guard lk(mu_);
    d = current_;
  }
  if (d) {
    d->flush();
    d->stop();
  }
}

}  // namespace vitalsd
