#include "common/resolver.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

namespace vitals::checks::detail {

namespace {

struct waiter {
  std::shared_ptr<bounded_resolver::ticket> ticket;
  std::uint16_t port = 0;
  bounded_resolver::callback done;
};

struct job {
  std::string host;
  int family = AF_UNSPEC;
  std::vector<waiter> waiters;
};

}  // namespace

struct bounded_resolver::state {
  lookup_fn fn;
  std::mutex mutex;
  std::condition_variable changed;
  std::thread worker;
  bool stop = false;
  bool busy = false;
  // At most two: the one running and the one queued behind it (same name: requests share it).
  std::deque<job> queue;

  static void set_queued(job& j, bool q) {
    for (auto& w : j.waiters) w.ticket->queued_.store(q, std::memory_order_release);
  }

  static void run(const std::shared_ptr<state>& self) {
    std::unique_lock lock(self->mutex);
    while (true) {
      self->changed.wait(lock, [&] { return self->stop || !self->queue.empty(); });
      if (self->stop) return;
      job j = std::move(self->queue.front());
      self->queue.pop_front();
      std::erase_if(j.waiters, [](const waiter& w) { return w.ticket->abandoned(); });
      if (j.waiters.empty()) continue;  // nobody waits for it any more: not worth a lookup
      set_queued(j, false);
      self->busy = true;
      lock.unlock();
      lookup_result r;
      try {
        r = self->fn(j.host, j.family);
      } catch (const std::exception& e) {
        r.error = net_error{failure_kind::internal, std::string("resolver: ") + e.what()};
      } catch (...) {
        r.error = net_error{failure_kind::internal, "resolver: unknown exception"};
      }
      if (!r.error && r.addresses.empty()) {
        r.error = net_error{failure_kind::dns, "no address for \"" + j.host + "\""};
      }
      for (auto& w : j.waiters) {
        if (w.ticket->abandoned()) continue;
        lookup_result mine = r;
        for (auto& a : mine.addresses) a.set_port(w.port);
        try {
          w.done(std::move(mine));
        } catch (...) {
          // A waiter's own failure is its business; the other waiters still get the answer.
        }
      }
      lock.lock();
      self->busy = false;
      self->changed.notify_all();
    }
  }
};

bounded_resolver::bounded_resolver(lookup_fn fn) : state_(std::make_shared<state>()) {
  state_->fn = fn ? std::move(fn) : lookup_fn{&bounded_resolver::system_lookup};
}

bounded_resolver::~bounded_resolver() {
  std::unique_lock lock(state_->mutex);
  state_->stop = true;
  state_->changed.notify_all();
  if (!state_->worker.joinable()) return;
  if (state_->busy) {
    // Stuck in a lookup that cannot be cancelled: the thread owns a reference to the state and
    // exits on its own when the lookup returns. Joining here would hang the caller.
    state_->worker.detach();
    return;
  }
  lock.unlock();
  state_->worker.join();
}

bool bounded_resolver::busy() const {
  std::lock_guard lock(state_->mutex);
  return state_->busy || !state_->queue.empty();
}

std::shared_ptr<bounded_resolver::ticket> bounded_resolver::resolve_async(const std::string& host,
                                                                          std::uint16_t port,
                                                                          int family,
                                                                          callback done) {
  auto t = std::make_shared<ticket>();
  lookup_result now;
  if (auto literal = numeric_address(host, port)) {
    now.addresses.push_back(*literal);
  } else if (host.empty()) {
    now.error = net_error{failure_kind::dns, "empty host name"};
  } else {
    std::lock_guard lock(state_->mutex);
    if (!state_->worker.joinable()) {
      state_->worker = std::thread([self = state_] { state::run(self); });
    }
    waiter w{.ticket = t, .port = port, .done = std::move(done)};
    // The lookup running now started before this request: its answer may predate it, so join
    // only a queued one (shared by every request made while it waits).
    auto& q = state_->queue;
    if (!q.empty() && q.back().host == host && q.back().family == family) {
      q.back().waiters.push_back(std::move(w));
    } else {
      if (!q.empty()) {
        // Another name queued behind the running lookup (a resolver serves one name in
        // practice): the newest request wins; the older ones are told so.
        for (auto& old : q.back().waiters) {
          if (old.ticket->abandoned()) continue;
          lookup_result r;
          r.error = net_error{failure_kind::internal, "resolver: request superseded"};
          old.done(std::move(r));
        }
        q.pop_back();
      }
      q.push_back(job{.host = host, .family = family, .waiters = {}});
      q.back().waiters.push_back(std::move(w));
    }
    state_->changed.notify_all();
    return t;
  }
  t->queued_.store(false, std::memory_order_release);
  done(std::move(now));
  return t;
}

lookup_result bounded_resolver::resolve(const std::string& host, std::uint16_t port,
                                        steady_time deadline, int family) {
  struct shared {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<lookup_result> value;
  };
  auto s = std::make_shared<shared>();
  const auto started = std::chrono::steady_clock::now();
  auto t = resolve_async(host, port, family, [s](lookup_result r) {
    std::lock_guard lk(s->mu);
    s->value = std::move(r);
    s->cv.notify_all();
  });
  std::unique_lock lk(s->mu);
  if (!s->cv.wait_until(lk, deadline, [&] { return s->value.has_value(); })) {
    const bool behind = t->queued();
    t->abandon();
    lookup_result out;
    out.error = net_error{
        failure_kind::timeout,
        "timed out after " + format_duration(std::chrono::steady_clock::now() - started) +
            " resolving \"" + host + "\"" +
            (behind ? std::string(" (an earlier lookup is still running)") : std::string{})};
    return out;
  }
  return std::move(*s->value);
}

lookup_result bounded_resolver::system_lookup(const std::string& host, int family) {
  lookup_result out;
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    const int err = errno;
    // getaddrinfo needs a socket to ask a DNS server: out of descriptors is ours, not DNS's.
    if (rc == EAI_MEMORY || (rc == EAI_SYSTEM && out_of_descriptors(err))) {
      out.error = descriptors_exhausted();
      return out;
    }
    // glibc may word a lookup it could not even start (no descriptor for /etc/hosts or for
    // the socket to the server) as "name unknown" or "try again": ask the kernel directly.
    if (const int probe = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); probe >= 0) {
      ::close(probe);
    } else if (out_of_descriptors(errno)) {
      out.error = descriptors_exhausted();
      return out;
    }
    std::string why = rc == EAI_SYSTEM ? errno_text(err) : ::gai_strerror(rc);
    out.error = net_error{kind_from_gai(rc), "could not resolve \"" + host + "\": " + why};
    return out;
  }
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    resolved_address a;
    std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.length = ai->ai_addrlen;
    bool duplicate = false;
    for (const auto& b : out.addresses) {
      duplicate =
          duplicate || (b.length == a.length && std::memcmp(&b.storage, &a.storage, a.length) == 0);
    }
    if (!duplicate) out.addresses.push_back(a);
  }
  ::freeaddrinfo(list);
  return out;
}

}  // namespace vitals::checks::detail
