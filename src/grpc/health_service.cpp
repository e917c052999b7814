// grpc.health.v1.Health on grpc++'s callback API, answered from the engine's latest snapshot.
//
// Check and List read service::current() on the gRPC thread that received them (an atomic load
// and a few lookups; a check never runs there). Watch streams are fed by ONE notifier thread
// that waits for new snapshots (service::wait_for_update) and judges each watched name once per
// snapshot, whatever the number of streams watching it. Each stream holds at most one write in
// flight and one pending status: a slow reader gets the newest status when its write completes,
// never a backlog, and a status equal to the last one written is never written again.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "health_impl.hpp"
#include "http/auth.hpp"
#include "vitals/grpc.hpp"

namespace vitals::grpc {

namespace hv1 = ::grpc::health::v1;
using serving = hv1::HealthCheckResponse::ServingStatus;

namespace detail {

namespace {

constexpr std::string_view liveness_name = "liveness";
constexpr std::string_view readiness_name = "readiness";
constexpr std::string_view startup_name = "startup";

std::optional<probe> fixed_probe(std::string_view name) noexcept {
  if (name.empty() || name == readiness_name) return probe::ready;
  if (name == liveness_name) return probe::live;
  if (name == startup_name) return probe::startup;
  return std::nullopt;
}

bool valid_check_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
  });
}

}  // namespace

names::names(const health_options& options) {
  for (const auto& [alias, to] : options.aliases) {
    if (fixed_probe(alias)) {
      throw std::invalid_argument("vitals::grpc: alias \"" + alias +
                                  "\" is a fixed service name (\"\", liveness, readiness, "
                                  "startup) and cannot be redefined");
    }
    target t;
    if (const auto p = fixed_probe(to)) {
      t = {.kind = target::probe_kind, .which = *p, .check = {}, .alias = true};
    } else if (valid_check_name(to)) {
      t = {.kind = target::check_kind, .which = probe::ready, .check = to, .alias = true};
    } else {
      std::string msg = "vitals::grpc: alias \"" + alias + "\" points at \"";
      msg.append(to).append("\", which is neither liveness, readiness, startup, \"\" nor a ");
      msg.append("check name ([A-Za-z0-9_.-]{1,64})");
      throw std::invalid_argument(msg);
    }
    if (!aliases_.emplace(alias, std::move(t)).second) {
      throw std::invalid_argument("vitals::grpc: alias \"" + alias + "\" is defined twice");
    }
  }
}

target names::resolve(std::string_view name) const {
  if (const auto p = fixed_probe(name)) return {.kind = target::probe_kind, .which = *p};
  if (const auto it = aliases_.find(name); it != aliases_.end()) return it->second;
  return {.kind = target::check_kind, .which = probe::ready, .check = std::string{name}};
}

verdict judge(const snapshot& snap, const target& t, bool shut_down) noexcept {
  switch (t.kind) {
    case target::hidden_kind:
      return verdict::unknown;
    case target::probe_kind:
      // The HTTP endpoints' judgement (render_probe: code_for(probe_status)) with the default
      // codes: pass and warn are 200, fail and unknown 503. Shutdown turns every name down.
      if (shut_down || snap.shutting_down) return verdict::not_serving;
      return is_ok(snap.probe_status(t.which)) ? verdict::serving : verdict::not_serving;
    case target::check_kind:
      break;
  }
  const check_state* c = snap.find(t.check);
  if (c == nullptr) return t.alias ? verdict::not_serving : verdict::unknown;
  if (shut_down || snap.shutting_down) return verdict::not_serving;
  return is_ok(c->reported.status) ? verdict::serving : verdict::not_serving;
}

}  // namespace detail

namespace {

using detail::target;
using detail::verdict;

serving to_wire(verdict v) noexcept {
  switch (v) {
    case verdict::serving:
      return hv1::HealthCheckResponse::SERVING;
    case verdict::not_serving:
      return hv1::HealthCheckResponse::NOT_SERVING;
    case verdict::unknown:
      break;
  }
  return hv1::HealthCheckResponse::SERVICE_UNKNOWN;
}

}  // namespace

class watch_reactor;

/// Everything the gRPC handlers and the streams share. Owned jointly by health_service and by
/// every open stream (a stream may end after the health_service object is gone).
class health_service::impl : public hv1::Health::CallbackService,
                             public std::enable_shared_from_this<impl> {
 public:
  impl(std::shared_ptr<vitals::service> svc, health_options options)
      : options_(std::move(options)), names_(options_), svc_(std::move(svc)) {
    if (!svc_) throw std::invalid_argument("vitals::grpc::health_service: null service");
  }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() override = default;

  void start_notifier() {
    notifier_ = std::thread([self = this] { self->notify_loop(); });
  }
  void stop_notifier() {
    stop_.store(true, std::memory_order_release);
    if (notifier_.joinable()) notifier_.join();
  }

  ::grpc::ServerUnaryReactor* Check(::grpc::CallbackServerContext* ctx,
                                    const hv1::HealthCheckRequest* req,
                                    hv1::HealthCheckResponse* resp) override;
  ::grpc::ServerUnaryReactor* List(::grpc::CallbackServerContext* ctx,
                                   const hv1::HealthListRequest* req,
                                   hv1::HealthListResponse* resp) override;
  ::grpc::ServerWriteReactor<hv1::HealthCheckResponse>* Watch(
      ::grpc::CallbackServerContext* ctx, const hv1::HealthCheckRequest* req) override;

  void shutdown();
  void rebind(std::shared_ptr<vitals::service> svc);
  [[nodiscard]] std::shared_ptr<vitals::service> source() const {
    std::lock_guard lk(source_mu_);
    return svc_;
  }
  [[nodiscard]] std::size_t open_streams() const noexcept {
    return streams_.load(std::memory_order_relaxed);
  }

  // For watch_reactor.
  void attach(watch_reactor* r, const std::string& name, const target& t);
  void detach(watch_reactor* r, const std::string& name, target::kind_t kind);
  [[nodiscard]] bool is_shut_down() const noexcept {
    return shut_down_.load(std::memory_order_acquire);
  }

 private:
  // Streams watching one name, with the name's last judged status. Keyed by (name, hidden):
  // an unauthorized watcher of a check name never shares the authorized watchers' answers.
  struct group {
    target what;
    verdict last = verdict::unknown;
    std::unordered_set<watch_reactor*> streams;
  };
  using group_key = std::pair<std::string, bool>;

  [[nodiscard]] bool authorized(const ::grpc::CallbackServerContext& ctx) const;
  [[nodiscard]] target resolve(const ::grpc::CallbackServerContext& ctx,
                               std::string_view name) const {
    // Probe names, "" and aliases never need the token: ask for it only for check names.
    const bool open = options_.token.empty() && !options_.client_certificate_authorizes;
    target t = names_.resolve(name);
    if (t.kind == target::check_kind && !t.alias && !open && !authorized(ctx)) {
      t = {.kind = target::hidden_kind};
    }
    return t;
  }
  static void ask_for(const vitals::service& svc, const target& t) {
    // As the HTTP responders do: on-demand checks whose TTL expired run in the background.
    if (t.kind == target::probe_kind) svc.request(probe_set{t.which});
    if (t.kind == target::check_kind) static_cast<void>(svc.request(t.check));
  }
  void notify_loop();
  void judge_groups_locked(const snapshot& snap);

  health_options options_;
  detail::names names_;
  mutable std::mutex source_mu_;  // guards svc_ (swapped by rebind)
  std::shared_ptr<vitals::service> svc_;
  std::atomic<bool> shut_down_{false};
  std::atomic<std::size_t> streams_{0};

  std::mutex hub_mu_;  // guards groups_; held while offering a status to streams
  std::map<group_key, group> groups_;

  std::atomic<bool> stop_{false};
  std::thread notifier_;
};

/// One Watch stream. Lives from Watch() until grpc++ calls OnDone (then deletes itself).
/// State changes happen under mu_; grpc++ calls (StartWrite, Finish) are made after releasing
/// it, so a reaction that grpc++ runs at once can never deadlock on it.
class watch_reactor final : public ::grpc::ServerWriteReactor<hv1::HealthCheckResponse> {
 public:
  watch_reactor(std::shared_ptr<health_service::impl> owner, std::string name, const target& what)
      : owner_(std::move(owner)), name_(std::move(name)), kind_(what.kind) {
    owner_->attach(this, name_, what);
  }

  /// The newest status of the watched name: written now if no write is in flight and it differs
  /// from the last one written, else kept (replacing any older pending one).
  void offer(verdict v) {
    {
      std::lock_guard lk(mu_);
      if (finishing_) return;
      pending_ = v;
      if (writing_) return;
      if (!take_pending_locked()) return;
    }
    StartWrite(&out_);
  }

  /// The last word: NOT_SERVING (unless it was the last status written), then status OK.
  void finish_serving() {
    bool write = false;
    {
      std::lock_guard lk(mu_);
      if (finishing_ || closing_) return;
      closing_ = true;
      if (writing_) return;  // OnWriteDone says the last word
      finishing_ = true;
      write = set_final_locked();
    }
    if (write) {
      StartWriteAndFinish(&out_, ::grpc::WriteOptions{}, ::grpc::Status::OK);
    } else {
      Finish(::grpc::Status::OK);
    }
  }

  void OnWriteDone(bool ok) override {
    enum class next : std::uint8_t { nothing, write, final_write, finish, cancel } act{};
    {
      std::lock_guard lk(mu_);
      writing_ = false;
      if (finishing_) return;
      if (!ok || cancelled_) {
        finishing_ = true;
        act = next::cancel;
      } else if (closing_) {
        finishing_ = true;
        act = set_final_locked() ? next::final_write : next::finish;
      } else {
        act = take_pending_locked() ? next::write : next::nothing;
      }
    }
    switch (act) {
      case next::write:
        StartWrite(&out_);
        break;
      case next::final_write:
        StartWriteAndFinish(&out_, ::grpc::WriteOptions{}, ::grpc::Status::OK);
        break;
      case next::finish:
        Finish(::grpc::Status::OK);
        break;
      case next::cancel:
        Finish(::grpc::Status::CANCELLED);
        break;
      case next::nothing:
        break;
    }
  }

  void OnCancel() override {
    {
      std::lock_guard lk(mu_);
      cancelled_ = true;
      if (finishing_ || writing_) return;  // a write in flight completes (not ok) and finishes
      finishing_ = true;
    }
    Finish(::grpc::Status::CANCELLED);
  }

  void OnDone() override {
    owner_->detach(this, name_, kind_);
    delete this;  // NOLINT(cppcoreguidelines-owning-memory): grpc++'s reactor contract
  }

 private:
  ~watch_reactor() override = default;

  // Moves the pending status to the output buffer if it is news; true if a write must start.
  bool take_pending_locked() {
    if (!pending_ || pending_ == last_sent_) {
      pending_.reset();
      return false;
    }
    last_sent_ = pending_;
    pending_.reset();
    out_.set_status(to_wire(*last_sent_));
    writing_ = true;
    return true;
  }
  // The final NOT_SERVING; false if it was already the last status written.
  bool set_final_locked() {
    pending_.reset();
    if (last_sent_ == verdict::not_serving) return false;
    last_sent_ = verdict::not_serving;
    out_.set_status(hv1::HealthCheckResponse::NOT_SERVING);
    writing_ = true;
    return true;
  }

  std::shared_ptr<health_service::impl> owner_;
  std::string name_;
  target::kind_t kind_;
  std::mutex mu_;
  hv1::HealthCheckResponse out_;  // the one buffer of the one write in flight
  std::optional<verdict> pending_;
  std::optional<verdict> last_sent_;
  bool writing_ = false;
  bool closing_ = false;    // the final NOT_SERVING is due (shutdown)
  bool finishing_ = false;  // Finish (or StartWriteAndFinish) was called or is being called
  bool cancelled_ = false;
};

/// A Watch refused at once (over health_options::max_watch_streams).
class refused_watch final : public ::grpc::ServerWriteReactor<hv1::HealthCheckResponse> {
 public:
  explicit refused_watch(const ::grpc::Status& why) { Finish(why); }
  void OnDone() override { delete this; }  // NOLINT(cppcoreguidelines-owning-memory)

 private:
  ~refused_watch() override = default;
};

bool health_service::impl::authorized(const ::grpc::CallbackServerContext& ctx) const {
  if (options_.client_certificate_authorizes) {
    const std::shared_ptr<const ::grpc::AuthContext> auth = ctx.auth_context();
    if (auth && auth->IsPeerAuthenticated()) return true;
  }
  const auto& md = ctx.client_metadata();
  const auto [from, to] = md.equal_range("authorization");
  for (auto it = from; it != to; ++it) {
    const std::string_view value{it->second.data(), it->second.size()};
    if (http::detail::bearer_matches(value, options_.token)) return true;
  }
  return false;
}

::grpc::ServerUnaryReactor* health_service::impl::Check(::grpc::CallbackServerContext* ctx,
                                                        const hv1::HealthCheckRequest* req,
                                                        hv1::HealthCheckResponse* resp) {
  ::grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  const target t = resolve(*ctx, req->service());
  const std::shared_ptr<vitals::service> svc = source();
  ask_for(*svc, t);
  const verdict v = detail::judge(*svc->current(), t, is_shut_down());
  if (v == verdict::unknown) {
    r->Finish(::grpc::Status(::grpc::StatusCode::NOT_FOUND, "unknown service"));
  } else {
    resp->set_status(to_wire(v));
    r->Finish(::grpc::Status::OK);
  }
  return r;
}

::grpc::ServerUnaryReactor* health_service::impl::List(::grpc::CallbackServerContext* ctx,
                                                       const hv1::HealthListRequest* /*req*/,
                                                       hv1::HealthListResponse* resp) {
  ::grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  const std::shared_ptr<vitals::service> svc = source();
  svc->request(vitals::live | vitals::ready | vitals::startup);
  const std::shared_ptr<const snapshot> snap = svc->current();
  const bool shut = is_shut_down();
  const bool show_checks =
      (options_.token.empty() && !options_.client_certificate_authorizes) || authorized(*ctx);
  const std::size_t fixed = 4 + names_.aliases().size();
  const std::size_t checks = show_checks ? snap->checks.size() : 0;
  // Check names equal to a fixed name or an alias are listed once: at most `fixed` fewer.
  if (checks > options_.list_limit + fixed) {
    r->Finish(::grpc::Status(::grpc::StatusCode::RESOURCE_EXHAUSTED,
                             "more services than the list limit (" +
                                 std::to_string(options_.list_limit) +
                                 "): ask for each one with Check"));
    return r;
  }
  auto& out = *resp->mutable_statuses();
  const auto put = [&](const std::string& name, const target& t) {
    const verdict v = detail::judge(*snap, t, shut);
    if (v == verdict::unknown) return;
    hv1::HealthCheckResponse s;
    s.set_status(to_wire(v));
    out.insert({name, s});
  };
  for (const std::string_view n : {"", "liveness", "readiness", "startup"}) {
    const std::string name{n};
    put(name, names_.resolve(name));
  }
  for (const auto& [alias, t] : names_.aliases()) put(alias, t);
  if (show_checks) {
    for (const check_state& c : snap->checks) {
      if (out.contains(c.name)) continue;  // a fixed name or an alias wins
      put(c.name, {.kind = target::check_kind, .which = probe::ready, .check = c.name});
      if (out.size() > options_.list_limit) break;
    }
  }
  if (out.size() > options_.list_limit) {
    resp->Clear();
    r->Finish(::grpc::Status(::grpc::StatusCode::RESOURCE_EXHAUSTED,
                             "more services than the list limit (" +
                                 std::to_string(options_.list_limit) +
                                 "): ask for each one with Check"));
    return r;
  }
  r->Finish(::grpc::Status::OK);
  return r;
}

::grpc::ServerWriteReactor<hv1::HealthCheckResponse>* health_service::impl::Watch(
    ::grpc::CallbackServerContext* ctx, const hv1::HealthCheckRequest* req) {
  // A hard limit: each stream holds gRPC's per-call state (~15 KiB), so a flood of Watch calls
  // must not be able to take the process's memory.
  if (streams_.fetch_add(1, std::memory_order_relaxed) >= options_.max_watch_streams) {
    streams_.fetch_sub(1, std::memory_order_relaxed);
    return new refused_watch(::grpc::Status(
        ::grpc::StatusCode::RESOURCE_EXHAUSTED,
        "too many Watch streams (" + std::to_string(options_.max_watch_streams) + ")"));
  }
  const target t = resolve(*ctx, req->service());
  ask_for(*source(), t);
  auto* r = new watch_reactor(shared_from_this(), req->service(), t);
  if (is_shut_down()) r->finish_serving();
  return r;
}

void health_service::impl::attach(watch_reactor* r, const std::string& name, const target& t) {
  std::lock_guard lk(hub_mu_);
  auto [it, fresh] = groups_.try_emplace(group_key{name, t.kind == target::hidden_kind});
  group& g = it->second;
  if (fresh) g.what = t;
  g.streams.insert(r);
  // The status now, judged from the latest snapshot under the hub lock: the notifier judges the
  // same or a newer snapshot next, so this stream never misses a change nor goes back in time.
  const verdict now = detail::judge(*source()->current(), g.what, is_shut_down());
  if (fresh) g.last = now;
  r->offer(now);
}

void health_service::impl::detach(watch_reactor* r, const std::string& name, target::kind_t kind) {
  {
    std::lock_guard lk(hub_mu_);
    const auto it = groups_.find(group_key{name, kind == target::hidden_kind});
    if (it != groups_.end()) {
      it->second.streams.erase(r);
      if (it->second.streams.empty()) groups_.erase(it);
    }
  }
  streams_.fetch_sub(1, std::memory_order_relaxed);
}

void health_service::impl::judge_groups_locked(const snapshot& snap) {
  const bool shut = is_shut_down();
  for (auto& [key, g] : groups_) {
    const verdict v = detail::judge(snap, g.what, shut);
    if (v == g.last) continue;
    g.last = v;
    for (watch_reactor* s : g.streams) s->offer(v);
  }
}

void health_service::impl::notify_loop() {
  using namespace std::chrono_literals;
  std::uint64_t seen = 0;
  const vitals::service* seen_source = nullptr;
  auto last_ask = std::chrono::steady_clock::time_point{};
  while (!stop_.load(std::memory_order_acquire)) {
    // Wakes at every publication; the timeout bounds how long stop() waits for this thread,
    // how late a rebind is noticed, and lets current() re-judge a snapshot whose results went
    // stale with nobody asking.
    const std::shared_ptr<vitals::service> svc = source();
    if (svc.get() != seen_source) {
      seen_source = svc.get();  // another engine: its generations are its own
      seen = 0;
    }
    static_cast<void>(svc->wait_for_update(seen, 50ms));
    const std::shared_ptr<const snapshot> snap = svc->current();
    std::lock_guard lk(hub_mu_);
    if (source() != svc) continue;  // rebound meanwhile: rebind() judged the new engine
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ask >= 1s) {
      // Watched on-demand checks are asked for, as a poller of the HTTP endpoint would.
      last_ask = now;
      for (const auto& [key, g] : groups_) ask_for(*svc, g.what);
    }
    if (snap->generation == seen) continue;
    seen = snap->generation;
    judge_groups_locked(*snap);
  }
}

void health_service::impl::shutdown() {
  if (shut_down_.exchange(true, std::memory_order_acq_rel)) return;
  std::lock_guard lk(hub_mu_);
  for (auto& [key, g] : groups_) {
    g.last = verdict::not_serving;
    for (watch_reactor* s : g.streams) s->finish_serving();
  }
}

void health_service::impl::rebind(std::shared_ptr<vitals::service> svc) {
  if (!svc) throw std::invalid_argument("vitals::grpc::health_service::rebind: null service");
  // Swapped under the hub lock, where the notifier checks its engine is still the one bound
  // before it judges: no stream is ever sent a status of the engine it left.
  std::shared_ptr<vitals::service> previous;  // released after the locks: it may be the last
  std::lock_guard hub(hub_mu_);
  const std::shared_ptr<const snapshot> snap = svc->current();
  {
    std::lock_guard lk(source_mu_);
    previous = std::exchange(svc_, std::move(svc));
  }
  // Open streams go on at once on the new engine: only names whose status differs are sent.
  judge_groups_locked(*snap);
}

namespace {
// A non-owning pointer to a service the caller keeps alive.
std::shared_ptr<vitals::service> unowned(vitals::service& svc) {
  return {std::shared_ptr<vitals::service>{}, &svc};
}
}  // namespace

health_service::health_service(vitals::service& svc, health_options options)
    : health_service(unowned(svc), std::move(options)) {}

health_service::health_service(std::shared_ptr<vitals::service> svc, health_options options)
    : impl_(std::make_shared<impl>(std::move(svc), std::move(options))) {
  impl_->start_notifier();
}

void health_service::rebind(std::shared_ptr<vitals::service> svc) { impl_->rebind(std::move(svc)); }

void health_service::rebind(vitals::service& svc) { impl_->rebind(unowned(svc)); }

health_service::~health_service() {
  impl_->shutdown();
  impl_->stop_notifier();
}

::grpc::Service* health_service::grpc_service() noexcept { return impl_.get(); }

void health_service::shutdown() { impl_->shutdown(); }

std::size_t health_service::open_streams() const noexcept { return impl_->open_streams(); }

}  // namespace vitals::grpc
