#pragma once
// Private to the built-in server: one I/O thread (worker) and the connections it owns.
//
// Each worker runs its own io_context on one thread, so a connection is only ever touched by
// that thread and needs no lock. A connection always has exactly one asynchronous operation in
// flight (a read or a write) between handlers; closing its socket completes that operation
// with an error, and that completion is the single place where the connection is released.
//
// An event stream (/api/v1/events) is the one exception: it keeps a read in flight for as long
// as it lives (to notice at once that the client went away) and, while the client's socket
// buffer is full, a write too; it is released when the last of the two completes.

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "event_stream.hpp"
#include "handler_impl.hpp"
#include "server_date.hpp"
#include "server_parser.hpp"
#include "server_tls.hpp"
#include "vitals/http/server.hpp"

namespace vitals::http::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

/// A client address as max_connections_per_client counts it (IPv6, IPv4 mapped).
using client_key = std::array<unsigned char, 16>;

/// A connection's place in the per-client count; `counted` is false when the limit is off.
struct client_slot {
  client_key key{};
  bool counted = false;
  /// Accepted on the metrics listener: only /metrics is served, to anyone.
  bool metrics_only = false;
};

/// What every worker reads; owned by server::impl, immutable while serving except the counters.
/// Why the server refused a request before it reached the handler (counted per kind).
enum class refusal : std::uint8_t {
  malformed,         ///< 400: not an HTTP/1.x request head
  line_too_long,     ///< 414: request line over max_request_line
  header_too_large,  ///< 431: head over max_header_bytes
  body,              ///< 413 / 501: a request with a body
  host,              ///< 400: HTTP/1.1 without Host, or several Host fields
  internal,          ///< 500: the answer could not be produced (e.g. out of memory)
};
inline constexpr std::size_t refusal_kinds = 6;

struct server_shared {
  server_options options;
  const handler_impl* serve = nullptr;
  /// Connections open across all workers (the cap is checked against it).
  std::atomic<std::size_t> open{0};
  std::atomic<std::uint64_t> evicted_idle{0};
  std::atomic<std::uint64_t> evicted_silent{0};
  std::atomic<std::uint64_t> refused_busy{0};
  std::atomic<std::uint64_t> refused_per_client{0};
  std::atomic<std::uint64_t> tls_handshake_failures{0};
  /// Places for event streams (cap: options.max_event_streams).
  stream_slots streams{};
  std::atomic<std::uint64_t> streams_dropped{0};
  std::array<std::atomic<std::uint64_t>, refusal_kinds> refusals{};
  /// HTTPS: the certificate in use and its reload; null for plain HTTP.
  tls_state* tls = nullptr;
  /// Derived from `options` once.
  std::chrono::milliseconds linger_timeout{};
  std::chrono::milliseconds sweep_period{};

  /// Takes one of the max_connections places if one is free.
  [[nodiscard]] bool try_reserve() noexcept {
    std::size_t n = open.load(std::memory_order_relaxed);
    while (n < options.max_connections) {
      if (open.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) return true;
    }
    return false;
  }
  /// Counts a new connection of `key` unless the client is at its limit (only when the limit
  /// is on: accept time only, never per request).
  [[nodiscard]] bool take_client(const client_key& key) {
    const std::lock_guard lock{clients_mutex};
    std::size_t& n = clients[key];
    if (n >= options.max_connections_per_client) return false;
    ++n;
    return true;
  }
  void give_back(const client_slot& slot) noexcept {
    if (!slot.counted) return;
    const std::lock_guard lock{clients_mutex};
    const auto it = clients.find(slot.key);
    if (it != clients.end() && --it->second == 0) clients.erase(it);
  }

  std::mutex clients_mutex{};
  std::map<client_key, std::size_t> clients{};
};

/// Who may be closed to make room at the cap (see worker::make_room()).
enum class admission : std::uint8_t { busy, idle, silent };

class worker;

class connection {
 public:
  explicit connection(worker& w);
  /// Frees the TLS session of a connection still open when its worker is destroyed.
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Takes a freshly accepted socket (already on this worker's io_context) and starts reading.
  void start(tcp::socket socket, client_slot slot);
  /// Closes the socket; the pending operation completes with an error and releases `this`.
  void expire() noexcept;
  [[nodiscard]] steady::time_point deadline() const noexcept { return deadline_; }
  /// Idle between requests, silent since accepted (no byte ever), or busy: mid-request,
  /// writing, closing. Only idle and silent connections may be closed to make room.
  [[nodiscard]] admission admission_class() const noexcept;
  [[nodiscard]] const client_slot& client() const noexcept { return client_; }

  // Event streams (streaming() true), on the worker's thread. Sending never releases the
  // connection: a failure closes the socket and the pending read's completion releases it.
  [[nodiscard]] bool streaming() const noexcept { return streaming_; }
  [[nodiscard]] bool open() const noexcept { return socket_.is_open(); }
  /// Sends what of `batch` this stream does not have yet; a stream still writing catches up
  /// later, or is dropped if it is now more than `keep` events (the feed's capacity) behind.
  void stream_batch(const event_batch& batch, std::size_t keep);
  /// Events were lost before they reached this worker: a `ready` frame saying so.
  void stream_missed(std::uint64_t last_id);
  /// A heartbeat if the stream has been quiet for the heartbeat period.
  void stream_tick(steady::time_point now);

  // Intrusive list of the worker's open connections (O(1) unlink, no allocation).
  connection* prev = nullptr;
  connection* next = nullptr;

 private:
  enum class parse_result : std::uint8_t { need_more, batch_full, close };

  void read();
  void read_later();
  // TLS (ssl_ set). OpenSSL reads and writes two memory BIOs; the bytes go through the same
  // Asio socket operations as plain HTTP (speculative reads, inline writes, one operation in
  // flight), so TLS adds no system call per request and OpenSSL never touches the descriptor.
  void start_tls();
  void tls_handshake();
  /// SSL_read into the read buffer; plaintext goes to on_read(), "want more" to tls_fill().
  void tls_read();
  /// Encrypts wbuf_ onto tls_out_; false if OpenSSL refuses (the connection is then broken).
  bool tls_encrypt(std::string_view plain);
  /// Moves what OpenSSL wrote (records, handshake flights, tickets, alerts) onto tls_out_.
  void tls_take_output();
  /// Sends tls_out_: true if it all went out at once; otherwise false, and either an async
  /// write is pending that calls `next` when done or the connection was released.
  bool tls_flush(void (connection::*next)());
  /// Reads ciphertext from the socket into the input BIO, then calls `next`.
  void tls_fill(void (connection::*next)());
  /// After a failed SSL call: counts a handshake refused for a protocol reason, sends the
  /// alert OpenSSL wrote if the socket takes it at once, and releases.
  void tls_fail(int ssl_error);
  void on_read(const boost::system::error_code& ec, std::size_t n);
  /// Parses and answers what is buffered, writes, and loops until it must wait for the network.
  void advance();
  parse_result parse_batch();
  /// Refuses a complete head the server does not serve (a body, Host missing); true if so.
  [[nodiscard]] bool refuse_head();
  void answer_current();
  void refuse(refusal why, std::string_view status_line, std::string_view body);
  void on_written(const boost::system::error_code& ec);
  void next_request() noexcept;
  void compact() noexcept;
  void start_linger();
  void on_linger_read(const boost::system::error_code& ec, std::size_t n);
  void release() noexcept;
  /// The head and first events are in wbuf_: registers with the worker and sends them.
  void start_stream();
  /// Sends `text` as the stream's next bytes (a chunk of it in HTTP/1.1).
  void stream_push(std::string_view text);
  /// Sends bytes ready for the wire (encrypted if TLS): inline if the socket takes them, else
  /// one asynchronous write (stream_writing_) during which the stream takes no events.
  void stream_send(std::string_view wire);
  /// After a write: what was published meanwhile, from the feed at this stream's position.
  void stream_catch_up();
  void on_stream_read(const boost::system::error_code& ec);
  void on_stream_written(const boost::system::error_code& ec);

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
  ssl_st* ssl_ = nullptr;
  bio_st* tls_rbio_ = nullptr;  // owned by ssl_: ciphertext received, not yet decrypted
  bio_st* tls_wbio_ = nullptr;  // owned by ssl_: ciphertext OpenSSL wrote, not yet taken
  std::string tls_out_{};       // ciphertext to send
  steady::time_point deadline_{};
  client_slot client_{};
  std::size_t lingered_ = 0;
  std::uint64_t served_ = 0;
  bool head_started_ = false;
  bool need_more_ = false;
  bool close_after_write_ = false;
  bool read_posted_ = false;  // read_later() queued a read that has not started yet
  bool handshaking_ = false;
  // TLS: the first request head is due by the deadline set at accept (handshake included).
  bool clock_from_accept_ = false;
  // TLS: the client presented a certificate that verified against client_ca_file.
  bool peer_authenticated_ = false;
  // Event stream state. A stream that is not writing has every event up to its worker's
  // cursor (stream_last_ >= it); one that is writing catches up from the feed afterwards.
  bool streaming_ = false;
  bool stream_chunked_ = false;    // HTTP/1.1: chunked; HTTP/1.0: until the connection closes
  bool stream_detailed_ = false;   // the caller may see outputs
  bool stream_reading_ = false;    // the read that notices a client going away is in flight
  bool stream_writing_ = false;    // wbuf_ is being written
  std::uint64_t stream_last_ = 0;  // the newest event id sent
  steady::time_point heartbeat_due_{};
  std::string frame_{};  // scratch for a chunk
};

class worker {
 public:
  explicit worker(server_shared& shared);
  ~worker();
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  /// Adopts an accepted socket that holds a place under the cap. Must run on this worker's
  /// thread.
  void adopt(tcp::socket socket, client_slot slot);
  /// At the cap: closes this worker's connection cheapest to lose (the longest-idle keep-alive
  /// one, else the oldest silent one) and takes its place under the cap for the caller; false
  /// if every connection here is busy. Scans this worker's connections: accept time at the
  /// cap only. Must run on this worker's thread.
  [[nodiscard]] bool make_room() noexcept;
  /// Answers 503 and closes (connection cap reached, or the client's limit). Must run on this
  /// worker's thread.
  void refuse_busy(tcp::socket socket, const client_slot& slot);
  void run_thread();
  void stop_and_join();

  asio::io_context& io() noexcept { return io_; }
  server_shared& shared() noexcept { return shared_; }
  date_cache& date() noexcept { return date_; }
  /// Called by a connection once its socket is closed and no operation is pending.
  void recycle(connection* c) noexcept;
  /// TLS reads completed inline on this thread's stack right now (bounds the recursion).
  unsigned inline_reads = 0;

  /// A connection became an event stream / stopped being one.
  void add_stream(connection* c);
  void remove_stream(connection* c) noexcept;
  /// Scratch for a stream catching up on its own (this thread only).
  [[nodiscard]] event_batch& scratch() noexcept { return scratch_; }

 private:
  void arm_sweep();
  void sweep() noexcept;
  /// Called on the publishing thread: schedules deliver() once.
  void wake() noexcept;
  /// On this thread after wake(): deliver() now, or at the end of the coalescing gap.
  void on_wake();
  /// Sends the events new since stream_cursor_ to every stream of this worker.
  void deliver();

  server_shared& shared_;
  // Declared first so it is destroyed last: sockets and timers refer to it.
  asio::io_context io_;
  asio::steady_timer sweep_timer_;
  date_cache date_{};
  connection* head_ = nullptr;
  std::vector<std::unique_ptr<connection>> free_{};
  std::vector<connection*> streams_{};
  std::uint64_t stream_cursor_ = 0;
  event_batch batch_{};
  event_batch scratch_{};
  std::atomic<bool> wake_posted_{false};
  asio::steady_timer deliver_timer_;
  steady::time_point last_delivery_{};
  bool deliver_armed_ = false;
  std::thread thread_{};
  // Last: unsubscribed first when the worker is destroyed, so no wake can reach a dead worker.
  event_feed::subscription events_{};
};

}  // namespace vitals::http::detail
