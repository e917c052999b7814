#pragma once
// Helpers for the network check tests: an in-process HTTP/HTTPS server on 127.0.0.1:0 (Asio +
// OpenSSL, own thread), a raw listener that answers garbage, a child-process server that can be
// frozen with SIGSTOP, and process-level counters (threads, sockets).

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pki.hpp"
#include "vitals/check.hpp"

namespace vitals::testkit {

struct request_info {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  ///< lower-cased names
  bool client_cert = false;                    ///< a verified client certificate was presented
  std::string body{};                          ///< the request body (notifiers POST JSON)
};

struct response_spec {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body = "ok";
  std::chrono::milliseconds delay{0};
};

struct server_tls {
  credential cert;
  /// Non-empty: require a client certificate signed by this CA.
  std::string client_ca_file{};
};

class test_server {
 public:
  using handler = std::function<response_spec(const request_info&)>;
  /// Plain HTTP, or HTTPS when `tls` is given. `garbage`: if non-empty, every connection gets
  /// these bytes and is closed, whatever it sends.
  explicit test_server(handler h, std::optional<server_tls> tls = std::nullopt,
                       std::string garbage = {});
  ~test_server();
  test_server(const test_server&) = delete;
  test_server& operator=(const test_server&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept;
  [[nodiscard]] std::size_t requests() const noexcept;
  /// Connections accepted so far.
  [[nodiscard]] std::size_t connections() const noexcept;
  /// On: HTTP/1.1 persistent connections (several requests each) instead of one request then
  /// `Connection: close`. A response whose spec sets a `Connection: close` header still ends it.
  void set_keep_alive(bool on) noexcept;
  /// Closes every connection waiting for its next request (its last response written), as a
  /// server's idle timeout does; returns how many were closed.
  std::size_t close_idle();
  [[nodiscard]] std::string url(const std::string& path = "/") const;
  /// Stops accepting and closes the listener (the port then refuses).
  void stop();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

/// A plain HTTP server in a child process (fork) answering "200 ok" to every request, that the
/// test can freeze (SIGSTOP) and thaw (SIGCONT). The child dies with the test process.
class child_server {
 public:
  child_server();
  ~child_server();  // SIGKILL + waitpid of our own child, by PID
  child_server(const child_server&) = delete;
  child_server& operator=(const child_server&) = delete;
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  void freeze();
  void thaw();

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

/// A port on 127.0.0.1 with nothing listening (bound then closed).
[[nodiscard]] std::uint16_t closed_port();

/// Threads of this process (/proc/self/task).
[[nodiscard]] std::size_t thread_count();
/// Sockets held by this process (/proc/self/fd entries pointing to socket:[...]).
[[nodiscard]] std::size_t socket_count();

/// One check run with a fresh context whose deadline is now + timeout.
[[nodiscard]] vitals::result run_once(vitals::check& c, std::chrono::milliseconds timeout);

/// Every text of a result (output, details, observed string) joined, for secret scans.
[[nodiscard]] std::string all_text(const vitals::result& r);

/// GET over a plain socket; returns the status code (0 on failure) and the elapsed time.
struct get_result {
  int status = 0;
  std::string body;
  std::chrono::microseconds elapsed{0};
};
[[nodiscard]] get_result http_get(std::uint16_t port, const std::string& target,
                                  const std::string& extra_headers = {});

}  // namespace vitals::testkit
