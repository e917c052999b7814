#pragma once
// The one event loop of the network checks (tcp, http, tls, dns): a process-wide Asio
// io_context with one I/O thread, started on first use. A check on it holds only its own
// sockets -- no epoll, eventfd or timerfd of its own -- so one check costs at most one
// descriptor per connection, and an idle check none. One thread also serialises every handler:
// the state a check keeps between runs is only touched on the loop, without locks.
//
//     asio::co_spawn(detail::io_loop(), run_coroutine(...), completion);
//
// Private to vitals_checks (Boost never reaches public headers).

#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/net.hpp"
#include "common/resolver.hpp"
#include "vitals/check.hpp"
#include "vitals/checks/descriptors.hpp"

namespace vitals::checks::detail {

/// The shared loop, started on first call (and again in a forked child, which inherits no
/// thread). Throws boost::system::system_error when the process is out of descriptors for the
/// loop itself; callers turn that into a result (see start_on_loop).
[[nodiscard]] boost::asio::io_context& io_loop();

/// Registers `fn` to run on the I/O thread when it ends (at exit): e.g. OpenSSL's per-thread
/// cleanup, from the checks that use OpenSSL on the loop (the loop itself links no library).
/// Call it *after* initialising that library: the loop is then stopped and joined at exit before
/// the library's own atexit cleanup runs (atexit is last in, first out), so no handler runs, and
/// no thread state is orphaned, on a library that has been torn down. Idempotent per function.
void at_loop_thread_exit(void (*fn)());

/// True when called on the loop's I/O thread.
[[nodiscard]] bool on_io_loop() noexcept;

/// Runs `body` (a coroutine returning vitals::result) on the loop and hands its result to
/// `done`, exactly once: an exception out of the coroutine, or a loop that cannot be started,
/// becomes `fail/internal` ("out of file descriptors (limit N)" when that is the reason).
void start_on_loop(boost::asio::awaitable<vitals::result> body, async_check::completion done);

/// Waits on the loop for a signal from elsewhere, up to a deadline: `notify()` (from any
/// thread) wakes the waiter; without it `wait()` returns false at the deadline. One waiter.
///
///     auto ev = std::make_shared<loop_event>(deadline);
///     start_work([ev] { ev->notify(); });
///     if (!co_await ev->wait()) { /* deadline */ }
class loop_event {
 public:
  explicit loop_event(steady_time deadline);
  ~loop_event();
  loop_event(const loop_event&) = delete;
  loop_event& operator=(const loop_event&) = delete;
  /// Safe from any thread, any number of times.
  void notify();
  /// True if notified (before or during the wait), false at the deadline.
  [[nodiscard]] boost::asio::awaitable<bool> wait();
  /// Moves the deadline (loop thread only, not while waiting).
  void reset(steady_time deadline);

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

/// Resolves `host` from a coroutine on the loop without blocking it: literals at once, names on
/// `resolver`'s worker (one lookup at a time, as resolve()). nullopt at the deadline (the lookup
/// is abandoned, not duplicated by the next run).
[[nodiscard]] boost::asio::awaitable<std::optional<lookup_result>> resolve_on_loop(
    bounded_resolver& resolver, std::string host, std::uint16_t port, steady_time deadline,
    int family = 0);

/// The skeleton of every check that runs on the loop (tcp, tls, udp, dns, http): start() hands
/// one run of `Derived::evaluate(const context&, steady_time started)` — an awaitable<result>
/// — to the loop, keeping the check alive until the run ends (a reload may drop it meanwhile).
/// Runs never overlap (the engine's guarantee); a direct caller that tries is told so.
///
///     class tcp_check final : public detail::loop_check<tcp_check> {
///       friend loop_check;
///       asio::awaitable<result> evaluate(const context& ctx, steady_time started);
///     };
template <class Derived>
class loop_check : public vitals::async_check,
                   public checks::descriptor_user,
                   public std::enable_shared_from_this<Derived> {
 public:
  void start(std::shared_ptr<const context> ctx, completion done) final {
    const auto started = std::chrono::steady_clock::now();
    start_on_loop(run_on_loop(this->shared_from_this(), std::move(ctx), started), std::move(done));
  }

 private:
  static boost::asio::awaitable<vitals::result> run_on_loop(std::shared_ptr<Derived> self,
                                                            std::shared_ptr<const context> ctx,
                                                            steady_time started) {
    loop_check& base = *self;
    if (base.busy_) {
      co_return vitals::fail("previous run still in progress", failure_kind::internal);
    }
    base.busy_ = true;
    struct release {
      bool& busy;
      ~release() { busy = false; }
    } guard{base.busy_};
    co_return co_await self->evaluate(*ctx, started);
  }

  bool busy_ = false;  // loop thread only
};

}  // namespace vitals::checks::detail
