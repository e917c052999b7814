#pragma once
// Private to the built-in server: one I/O thread (worker) and the connections it owns.
//
// Each worker runs its own io_context on one thread, so a connection is only ever touched by
// that thread and needs no lock. A connection always has exactly one asynchronous operation in
// flight (a read or a write) between handlers; closing its socket completes that operation
// with an error, and that completion is the single place where the connection is released.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "handler_impl.hpp"
#include "server_date.hpp"
#include "server_parser.hpp"
#include "vitals/http/server.hpp"

namespace vitals::http::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

/// What every worker reads; owned by server::impl, immutable while serving except `open`.
struct server_shared {
  server_options options;
  const handler_impl* serve = nullptr;
  /// Connections open across all workers (the cap is checked against it).
  std::atomic<std::size_t> open{0};
  /// Derived from `options` once.
  std::chrono::milliseconds linger_timeout{};
  std::chrono::milliseconds sweep_period{};
};

class worker;

class connection {
 public:
  explicit connection(worker& w);
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Takes a freshly accepted socket (already on this worker's io_context) and starts reading.
  void start(tcp::socket socket);
  /// Closes the socket; the pending operation completes with an error and releases `this`.
  void expire() noexcept;
  [[nodiscard]] steady::time_point deadline() const noexcept { return deadline_; }

  // Intrusive list of the worker's open connections (O(1) unlink, no allocation).
  connection* prev = nullptr;
  connection* next = nullptr;

 private:
  enum class parse_result : std::uint8_t { need_more, batch_full, close };

  void read();
  void read_later();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  /// Parses and answers what is buffered, writes, and loops until it must wait for the network.
  void advance();
  parse_result parse_batch();
  void answer_current();
  void refuse(std::string_view status_line, std::string_view body);
  void on_written(const boost::system::error_code& ec);
  void next_request() noexcept;
  void compact() noexcept;
  void start_linger();
  void on_linger_read(const boost::system::error_code& ec, std::size_t n);
  void release() noexcept;

  worker& worker_;
  server_shared& shared_;
  tcp::socket socket_;
  std::unique_ptr<char[]> rbuf_;
  std::size_t rcap_;
  std::size_t rbeg_ = 0;  // start of the current request
  std::size_t rpos_ = 0;  // what the parser has consumed
  std::size_t rend_ = 0;  // end of received bytes
  std::string wbuf_{};
  std::optional<request_parser> parser_{};
  steady::time_point deadline_{};
  std::size_t lingered_ = 0;
  std::uint64_t served_ = 0;
  bool head_started_ = false;
  bool need_more_ = false;
  bool close_after_write_ = false;
};

class worker {
 public:
  explicit worker(server_shared& shared);
  ~worker();
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  /// Adopts an accepted socket. Must run on this worker's thread.
  void adopt(tcp::socket socket);
  /// Answers 503 and closes (connection cap reached). Must run on this worker's thread.
  void refuse_busy(tcp::socket socket);
  void run_thread();
  void stop_and_join();

  asio::io_context& io() noexcept { return io_; }
  server_shared& shared() noexcept { return shared_; }
  date_cache& date() noexcept { return date_; }
  /// Called by a connection once its socket is closed and no operation is pending.
  void recycle(connection* c) noexcept;

 private:
  void arm_sweep();
  void sweep() noexcept;

  server_shared& shared_;
  // Declared first so it is destroyed last: sockets and timers refer to it.
  asio::io_context io_;
  asio::steady_timer sweep_timer_;
  date_cache date_{};
  connection* head_ = nullptr;
  std::vector<std::unique_ptr<connection>> free_{};
  std::thread thread_{};
};

}  // namespace vitals::http::detail
