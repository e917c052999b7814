#include "common/resolver.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

namespace vitals::checks::detail {

struct bounded_resolver::state {
  lookup_fn fn;
  std::mutex mutex;
  std::condition_variable changed;
  std::thread worker;
  bool stop = false;
  bool has_job = false;
  bool busy = false;
  std::string host;
  int family = AF_UNSPEC;
  std::uint64_t job_id = 0;
  std::uint64_t done_id = 0;
  lookup_result result;

  static void run(const std::shared_ptr<state>& self) {
    std::unique_lock lock(self->mutex);
    while (true) {
      self->changed.wait(lock, [&] { return self->stop || self->has_job; });
      if (self->stop) return;
      self->has_job = false;
      self->busy = true;
      const std::string host = self->host;
      const int family = self->family;
      const std::uint64_t id = self->job_id;
      lock.unlock();
      lookup_result r;
      try {
        r = self->fn(host, family);
      } catch (const std::exception& e) {
        r.error = net_error{failure_kind::internal, std::string("resolver: ") + e.what()};
      } catch (...) {
        r.error = net_error{failure_kind::internal, "resolver: unknown exception"};
      }
      lock.lock();
      self->busy = false;
      self->result = std::move(r);
      self->done_id = id;
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
  return state_->busy || state_->has_job;
}

lookup_result bounded_resolver::resolve(const std::string& host, std::uint16_t port,
                                        steady_time deadline, int family) {
  lookup_result out;
  if (auto literal = numeric_address(host, port)) {
    out.addresses.push_back(*literal);
    return out;
  }
  if (host.empty()) {
    out.error = net_error{failure_kind::dns, "empty host name"};
    return out;
  }
  const auto started = std::chrono::steady_clock::now();
  const auto timed_out = [&](std::string_view extra) {
    return net_error{failure_kind::timeout,
                     "timed out after " +
                         format_duration(std::chrono::steady_clock::now() - started) +
                         " resolving \"" + host + "\"" + std::string(extra)};
  };

  std::unique_lock lock(state_->mutex);
  if (!state_->worker.joinable()) {
    state_->worker = std::thread([self = state_] { state::run(self); });
  }
  if (!state_->changed.wait_until(lock, deadline,
                                  [&] { return !state_->busy && !state_->has_job; })) {
    out.error = timed_out(" (an earlier lookup is still running)");
    return out;
  }
  const std::uint64_t id = ++state_->job_id;
  state_->host = host;
  state_->family = family;
  state_->has_job = true;
  state_->changed.notify_all();
  if (!state_->changed.wait_until(lock, deadline, [&] { return state_->done_id == id; })) {
    out.error = timed_out("");
    return out;
  }
  out = std::move(state_->result);
  state_->result = {};
  for (auto& a : out.addresses) a.set_port(port);
  if (!out.error && out.addresses.empty()) {
    out.error = net_error{failure_kind::dns, "no address for \"" + host + "\""};
  }
  return out;
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
