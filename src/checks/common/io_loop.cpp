#include "common/io_loop.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

namespace vitals::checks::detail {

namespace asio = boost::asio;

namespace {

struct loop {
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::thread thread;
  std::thread::id id;
  pid_t owner = ::getpid();
};

std::mutex loop_mutex;
// Never destroyed: sockets of checks that outlive static destruction (a check held by a static,
// a detached run) must never see their io_context go away. At exit the thread is stopped and
// joined (stop_at_exit), so no handler runs while the rest of the process is torn down.
loop* the_loop = nullptr;
std::atomic<std::thread::id> loop_thread_id{};
// Run by the I/O thread as it ends (under loop_mutex when registered; read once at the end).
std::vector<void (*)()> thread_exit_hooks;

void stop_at_exit() {
  std::unique_lock lock(loop_mutex);
  if (the_loop == nullptr || the_loop->owner != ::getpid() || !the_loop->thread.joinable()) return;
  the_loop->work.reset();
  the_loop->ioc.stop();
  if (the_loop->thread.get_id() == std::this_thread::get_id()) {
    the_loop->thread.detach();  // exit() called from a handler: nothing left to wait for
  } else {
    lock.unlock();  // the thread takes it for its exit hooks
    the_loop->thread.join();
  }
}

loop& started_loop() {
  std::lock_guard lock(loop_mutex);
  // A forked child inherits the loop's memory but not its thread: it gets a loop of its own
  // (the parent's is left as it is; its descriptors are the parent's business).
  if (the_loop != nullptr && the_loop->owner == ::getpid()) return *the_loop;
  auto fresh = std::make_unique<loop>();  // throws system_error when out of descriptors
  // Signals belong to the host's threads (vitalsd waits for them with sigwait): the I/O
  // thread takes none.
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  try {
    fresh->thread = std::thread([l = fresh.get()] {
      loop_thread_id.store(std::this_thread::get_id(), std::memory_order_release);
      for (;;) {
        try {
          l->ioc.run();
          break;
        } catch (...) {
          // A handler must not end the loop of every check; ours never throw.
        }
      }
      std::vector<void (*)()> hooks;
      {
        std::lock_guard lock(loop_mutex);
        hooks = thread_exit_hooks;
      }
      for (auto* fn : hooks) fn();
    });
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  static const bool registered = [] {
    std::atexit(stop_at_exit);
    return true;
  }();
  (void)registered;
  the_loop = fresh.release();
  return *the_loop;
}

result failure_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& se) {
    if (se.code().category() == boost::system::system_category() &&
        out_of_descriptors(se.code().value())) {
      return to_result(descriptors_exhausted());
    }
    return vitals::fail(se.what(), failure_kind::internal);
  } catch (const std::system_error& se) {
    if (se.code().category() == std::system_category() && out_of_descriptors(se.code().value())) {
      return to_result(descriptors_exhausted());
    }
    return vitals::fail(se.what(), failure_kind::internal);
  } catch (const std::bad_alloc&) {
    return to_result(descriptors_exhausted());
  } catch (const std::exception& ex) {
    return vitals::fail(ex.what(), failure_kind::internal);
  } catch (...) {
    return vitals::fail("unknown exception", failure_kind::internal);
  }
}

}  // namespace

asio::io_context& io_loop() { return started_loop().ioc; }

void at_loop_thread_exit(void (*fn)()) {
  std::lock_guard lock(loop_mutex);
  if (std::find(thread_exit_hooks.begin(), thread_exit_hooks.end(), fn) ==
      thread_exit_hooks.end()) {
    thread_exit_hooks.push_back(fn);
    // Again, now: after the at-exit cleanup of the library `fn` belongs to (initialised by the
    // caller), so the loop is joined before that cleanup runs. stop_at_exit is idempotent.
    std::atexit(stop_at_exit);
  }
}

bool on_io_loop() noexcept {
  return loop_thread_id.load(std::memory_order_acquire) == std::this_thread::get_id();
}

void start_on_loop(asio::awaitable<vitals::result> body, async_check::completion done) {
  auto once = std::make_shared<async_check::completion>(std::move(done));
  const auto finish = [once](result r) {
    if (!*once) return;
    auto d = std::move(*once);
    *once = nullptr;
    d(std::move(r));
  };
  try {
    asio::co_spawn(io_loop(), std::move(body), [finish](const std::exception_ptr& e, result r) {
      finish(e ? failure_of(e) : std::move(r));
    });
  } catch (...) {
    finish(failure_of(std::current_exception()));
  }
}

struct loop_event::impl {
  explicit impl(steady_time deadline) : timer(io_loop()) { timer.expires_at(deadline); }
  asio::steady_timer timer;
  bool notified = false;  // loop thread only
};

loop_event::loop_event(steady_time deadline) : impl_(std::make_shared<impl>(deadline)) {}

loop_event::~loop_event() = default;

void loop_event::notify() {
  asio::post(impl_->timer.get_executor(), [i = impl_] {
    i->notified = true;
    i->timer.cancel();
  });
}

asio::awaitable<bool> loop_event::wait() {
  auto i = impl_;
  if (i->notified) co_return true;
  boost::system::error_code ec;
  co_await i->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return i->notified;
}

void loop_event::reset(steady_time deadline) {
  impl_->notified = false;
  impl_->timer.expires_at(deadline);
}

asio::awaitable<std::optional<lookup_result>> resolve_on_loop(bounded_resolver& resolver,
                                                              std::string host, std::uint16_t port,
                                                              steady_time deadline, int family) {
  if (auto literal = numeric_address(host, port)) {
    lookup_result r;
    r.addresses.push_back(*literal);
    co_return r;
  }
  auto ev = std::make_shared<loop_event>(deadline);
  auto box = std::make_shared<std::optional<lookup_result>>();
  auto& ioc = io_loop();
  auto ticket = resolver.resolve_async(host, port, family, [ev, box, &ioc](lookup_result r) {
    // From the worker thread: the answer is handed over on the loop, where `box` is read.
    asio::post(ioc, [ev, box, r = std::move(r)]() mutable {
      *box = std::move(r);
      ev->notify();
    });
  });
  (void)co_await ev->wait();
  if (!*box) {
    ticket->abandon();
    co_return std::nullopt;
  }
  co_return std::move(*box);
}

}  // namespace vitals::checks::detail
