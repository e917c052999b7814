#pragma once
// Base of the checks that keep one connection to a server between runs (postgres, mysql,
// memcached, redis). The policy lives here once, as the final run(); an implementation only
// says how to try once and whether it holds a connection — it cannot forget the hard part.

#include <chrono>
#include <mutex>
#include <string>

#include "vitals/check.hpp"
#include "vitals/redact.hpp"

namespace vitals::checks::detail {

class connection_check : public vitals::check {
 public:
  using steady_time = std::chrono::steady_clock::time_point;

  /// One run: at most one at a time; one try, and a second on a fresh connection when a kept
  /// connection turned out to be dead (`refused`: a restart, an idle timeout, a killed session
  /// say nothing about the server now); failures scrubbed of every secret; on pass, the
  /// latency in ms and the `address` detail are added to what attempt() returned.
  result run(const context& ctx) final;

 protected:
  /// One try, bounded by `deadline`. On pass, return vitals::pass() with the type's details
  /// (server_version, ...); on failure, drop the connection and return the classified failure.
  virtual result attempt(steady_time deadline, steady_time start) = 0;
  /// True while a connection from an earlier run is kept.
  [[nodiscard]] virtual bool connected() const = 0;
  /// Called after every run, success or not (e.g. close when connections are not kept).
  virtual void after_run() {}

  /// Scrubs failures: add every password and the full URL / conninfo.
  vitals::redactor redactor_;
  /// "host:port" (or socket path) shown in details and messages; never carries credentials.
  std::string where_;

 private:
  std::mutex mu_;
};

}  // namespace vitals::checks::detail
