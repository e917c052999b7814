#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tool/commands.hpp"
#include "tool/output.hpp"
#include "tool/url_checks.hpp"

namespace vitals::cli {

namespace {

using clock_type = std::chrono::steady_clock;

struct dep_state {
  dependency dep;
  status state = status::unknown;
  failure_kind kind = failure_kind::none;
  std::string output{};
  int attempts = 0;
  bool in_flight = false;  // an attempt is running
  bool up = false;
  clock_type::duration up_after{};
  std::uint64_t version = 0;  // bumped on every change of (state, kind)
};

struct shared {
  std::mutex mu;
  std::condition_variable changed;
  std::vector<dep_state> deps;
  bool stop = false;
};

std::string reason(const dep_state& d) {
  // Its first attempt was still running at the overall timeout (a peer that accepts and never
  // answers): that is a timeout, not "not tried".
  if (d.attempts == 0) {
    return d.in_flight ? "fail/timeout: no answer to the first attempt" : "not tried yet";
  }
  std::string s{to_string(d.state)};
  if (d.kind != failure_kind::none) s += "/" + std::string{to_string(d.kind)};
  if (!d.output.empty()) s += ": " + d.output;
  return s;
}

void poll_dependency(shared& sh, std::size_t i, const wait_args& args,
                     clock_type::time_point started, clock_type::time_point give_up) {
  auto backoff = args.initial_backoff;
  std::shared_ptr<vitals::check> impl;
  std::string name;
  {
    std::lock_guard lk(sh.mu);
    impl = sh.deps[i].dep.impl;
    name = sh.deps[i].dep.shown;
  }
  for (;;) {
    const auto now = clock_type::now();
    const auto deadline = std::min(now + args.attempt_timeout, give_up);
    {
      std::lock_guard lk(sh.mu);
      sh.deps[i].in_flight = true;
    }
    result r;
    try {
      r = impl->run(context{name, deadline, std::make_shared<std::atomic<bool>>(false)});
    } catch (const std::exception& e) {
      r = fail(e.what(), failure_kind::internal);
    }
    if (r.status == status::fail && r.kind == failure_kind::none) r.kind = failure_kind::assertion;
    std::unique_lock lk(sh.mu);
    auto& d = sh.deps[i];
    d.in_flight = false;
    ++d.attempts;
    const bool differs = d.state != r.status || d.kind != r.kind || d.attempts == 1;
    d.state = r.status;
    d.kind = r.kind;
    d.output = r.output;
    if (is_ok(r.status)) {
      d.up = true;
      d.up_after = clock_type::now() - started;
    }
    if (differs || d.up) ++d.version;
    sh.changed.notify_all();
    if (d.up || sh.stop) return;
    // Exponential backoff, capped, never past the overall deadline.
    sh.changed.wait_until(lk, std::min(clock_type::now() + backoff, give_up),
                          [&] { return sh.stop; });
    if (sh.stop || clock_type::now() >= give_up) return;
    backoff = std::min(backoff * 2, args.max_backoff);
  }
}

// Logs and CI: one line per state change, never one per attempt; a terminal: one status line.
void report_progress(const shared& sh, bool quiet, bool tty, clock_type::time_point started,
                     std::size_t up, std::vector<std::uint64_t>& seen) {
  if (!quiet && !tty) {
    for (std::size_t i = 0; i < sh.deps.size(); ++i) {
      const auto& d = sh.deps[i];
      if (d.version == seen[i]) continue;
      seen[i] = d.version;
      if (d.up) {
        std::fprintf(stderr, "vitals wait: %s: up after %s (%d attempt%s)\n", d.dep.shown.c_str(),
                     short_duration(d.up_after).c_str(), d.attempts, d.attempts == 1 ? "" : "s");
      } else {
        std::fprintf(stderr, "vitals wait: %s: %s\n", d.dep.shown.c_str(), reason(d).c_str());
      }
    }
  } else if (tty) {
    const double secs = std::chrono::duration<double>(clock_type::now() - started).count();
    std::string line;
    for (const auto& d : sh.deps) {
      if (d.up) continue;
      line = d.dep.shown + " " + reason(d) + " (attempt " + std::to_string(d.attempts) + ")";
      break;
    }
    if (line.size() > 100) line = line.substr(0, 97) + "...";
    std::fprintf(stderr, "\r\033[K[%.1fs] %zu/%zu up%s%s", secs, up, sh.deps.size(),
                 line.empty() ? "" : "; waiting for ", line.c_str());
  }
}

}  // namespace

int run_wait(const wait_args& args) {
  if (args.urls.empty()) {
    std::fprintf(stderr, "vitals wait: give at least one dependency URL\n");
    return bad_usage;
  }
  shared sh;
  for (const auto& url : args.urls) {
    try {
      sh.deps.push_back(dep_state{.dep = make_dependency(url)});
    } catch (const std::exception& e) {
      std::fprintf(stderr, "vitals wait: %s\n", e.what());
      return bad_usage;
    }
  }
  const bool tty = !args.quiet && isatty(STDERR_FILENO) == 1;
  const auto started = clock_type::now();
  const auto give_up = started + args.timeout;
  std::vector<std::thread> workers;
  for (std::size_t i = 0; i < sh.deps.size(); ++i) {
    workers.emplace_back(poll_dependency, std::ref(sh), i, std::cref(args), started, give_up);
  }

  std::vector<std::uint64_t> seen(sh.deps.size(), 0);
  std::unique_lock lk(sh.mu);
  for (;;) {
    const std::size_t up = static_cast<std::size_t>(
        std::count_if(sh.deps.begin(), sh.deps.end(), [](const dep_state& d) { return d.up; }));
    report_progress(sh, args.quiet, tty, started, up, seen);
    if (up == sh.deps.size()) {
      if (tty) std::fprintf(stderr, "\r\033[K");
      if (!args.quiet) {
        std::fprintf(stderr, "vitals wait: all %zu dependenc%s up after %s\n", sh.deps.size(),
                     sh.deps.size() == 1 ? "y" : "ies",
                     short_duration(clock_type::now() - started).c_str());
      }
      lk.unlock();
      for (auto& t : workers) t.join();
      return ok;
    }
    if (clock_type::now() >= give_up) {
      // Attempts end by give_up too: a moment for them to tell how, rather than "not tried".
      sh.changed.wait_until(lk, give_up + std::chrono::milliseconds{250}, [&] {
        return std::none_of(sh.deps.begin(), sh.deps.end(),
                            [](const dep_state& d) { return d.in_flight; });
      });
      sh.stop = true;
      sh.changed.notify_all();
      if (tty) std::fprintf(stderr, "\r\033[K");
      std::fprintf(stderr, "vitals wait: timeout after %s: %zu of %zu dependencies not up\n",
                   short_duration(args.timeout).c_str(), sh.deps.size() - up, sh.deps.size());
      for (const auto& d : sh.deps) {
        if (!d.up) {
          std::fprintf(stderr, "  %s: %s (%d attempt%s)\n", d.dep.shown.c_str(), reason(d).c_str(),
                       d.attempts, d.attempts == 1 ? "" : "s");
        }
      }
      std::fflush(stderr);
      std::fflush(stdout);
      // A check stuck past its deadline must not hold the exit: leave without joining.
      std::_Exit(not_ok);
    }
    sh.changed.wait_until(
        lk, std::min(clock_type::now() + std::chrono::milliseconds{tty ? 100 : 1000}, give_up));
  }
}

}  // namespace vitals::cli
