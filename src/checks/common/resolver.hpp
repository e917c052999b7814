#pragma once
// Name resolution with a hard deadline. getaddrinfo() can hang (dead DNS server, NSS module), and
// it cannot be cancelled: so lookups run on one dedicated worker thread per resolver, and a lookup
// still running at the deadline is abandoned, not duplicated. At most one lookup per resolver is
// ever outstanding, so a hung resolver costs one thread, never a growing number.
//
//     bounded_resolver r;                         // one per check instance
//     auto res = r.resolve("db.internal", 5432, ctx.deadline());
//     if (!res) return to_result(*res.error);

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

  /// getaddrinfo(host, SOCK_STREAM), classified: not found → dns, EAI_AGAIN → dns.
  static lookup_result system_lookup(const std::string& host, int family);

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace vitals::checks::detail
