#pragma once
// Name resolution with a hard deadline. getaddrinfo() can hang (dead DNS server, NSS module), and
// it cannot be cancelled: so lookups run on one dedicated worker thread per resolver, and a lookup
// still running at the deadline is abandoned, not duplicated. At most one lookup per resolver is
// ever outstanding, so a hung resolver costs one thread, never a growing number.
//
//     bounded_resolver r;                         // one per check instance
//     auto res = r.resolve("db.internal", 5432, ctx.deadline());
//     if (!res) return to_result(*res.error);

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/net.hpp"

namespace vitals::checks::detail {

struct lookup_result {
  std::vector<resolved_address> addresses{};
  std::optional<net_error> error{};
  explicit operator bool() const noexcept { return !error.has_value(); }
};

class bounded_resolver {
 public:
  /// The blocking lookup (getaddrinfo by default). Tests inject one that blocks on purpose.
  /// `family` is AF_UNSPEC, AF_INET or AF_INET6.
  using lookup_fn = std::function<lookup_result(const std::string& host, int family)>;

  explicit bounded_resolver(lookup_fn fn = {});
  ~bounded_resolver();
  bounded_resolver(const bounded_resolver&) = delete;
  bounded_resolver& operator=(const bounded_resolver&) = delete;

  /// Resolves `host` (literals are answered at once, without the worker) and sets `port` on
  /// every address. On timeout the error kind is `timeout`; a lookup abandoned by an earlier
  /// call and still running makes this call wait for it (up to the deadline) before starting.
  [[nodiscard]] lookup_result resolve(const std::string& host, std::uint16_t port,
                                      steady_time deadline, int family = 0);

  /// True while a lookup (possibly abandoned) is running on the worker.
  [[nodiscard]] bool busy() const;

  /// A caller's interest in a lookup started by resolve_async(). Dropping it (or abandon())
  /// tells the worker nobody waits any more: a queued lookup nobody waits for is not started.
  class ticket {
   public:
    void abandon() noexcept { gone_.store(true, std::memory_order_release); }
    [[nodiscard]] bool abandoned() const noexcept { return gone_.load(std::memory_order_acquire); }
    /// True while the lookup waited for is queued behind an earlier one still running.
    [[nodiscard]] bool queued() const noexcept { return queued_.load(std::memory_order_acquire); }

   private:
    friend class bounded_resolver;
    std::atomic<bool> gone_{false};
    std::atomic<bool> queued_{true};
  };
  using callback = std::function<void(lookup_result)>;

  /// Non-blocking resolve: `done` is called once with the answer (port set), from the worker
  /// thread -- or at once, on this thread, for a literal or an empty name. The same rules as
  /// resolve(): one lookup at a time; a request for the name being looked up by a lookup that
  /// started earlier waits for it to end and starts a fresh one (its answer is not reused);
  /// requests for one name while queued share one lookup. `done` is not called for a request
  /// abandoned before its lookup ends. Never throws for a lookup's failure; may throw
  /// std::system_error if the worker thread cannot be created.
  std::shared_ptr<ticket> resolve_async(const std::string& host, std::uint16_t port, int family,
                                        callback done);

  /// getaddrinfo(host, SOCK_STREAM), classified: not found → dns, EAI_AGAIN → dns.
  static lookup_result system_lookup(const std::string& host, int family);

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace vitals::checks::detail
