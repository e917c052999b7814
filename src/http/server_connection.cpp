#include "server_connection.hpp"

#include "openssl_api.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <cstring>
#include <exception>
#include <string_view>
#include <utility>

namespace vitals::http::detail {

namespace {

namespace beast_http = boost::beast::http;

// Fixed error answers: always followed by Date, "Connection: close" and the blank line.
constexpr std::string_view bad_request = "HTTP/1.1 400 Bad Request\r\n";
constexpr std::string_view too_large = "HTTP/1.1 413 Content Too Large\r\n";
constexpr std::string_view uri_too_long = "HTTP/1.1 414 URI Too Long\r\n";
constexpr std::string_view fields_too_large = "HTTP/1.1 431 Request Header Fields Too Large\r\n";
constexpr std::string_view not_implemented = "HTTP/1.1 501 Not Implemented\r\n";
constexpr std::string_view internal_error = "HTTP/1.1 500 Internal Server Error\r\n";
constexpr std::string_view unavailable = "HTTP/1.1 503 Service Unavailable\r\n";

constexpr std::string_view crlf = "\r\n";
constexpr std::string_view connection_close = "Connection: close\r\n";
constexpr std::string_view connection_keep_alive = "Connection: keep-alive\r\n";

// A response that a batch of pipelined probes would not reach; above it the write buffer is
// given back after the batch so one large /health answer does not pin memory forever.
constexpr std::size_t wbuf_keep = std::size_t{16} * 1024;
constexpr std::size_t wbuf_initial = std::size_t{2} * 1024;
// Bytes a closing connection reads and drops before giving up on a clean close.
constexpr std::size_t linger_max = std::size_t{64} * 1024;
// Pooled connections kept per worker for reuse (each holds its buffers).
constexpr std::size_t free_max = 256;
// Events read from the feed per round of a worker's delivery.
constexpr std::size_t stream_batch_max = 512;
// Event deliveries of a worker are at least this far apart (see worker::on_wake()).
constexpr std::chrono::milliseconds stream_coalesce{5};
// The kernel's send buffer of a stream's socket (it doubles it): bounded, so a client that
// stops reading pins a few hundred KiB of kernel memory, not the megabytes autotuning allows,
// and falls behind, to be dropped, soon enough.
constexpr int stream_send_buffer = 128 * 1024;
constexpr std::string_view chunked = "Transfer-Encoding: chunked\r\n";

void append_error(std::string& out, std::string_view status_line, std::string_view body,
                  std::string_view date) {
  out.append(status_line);
  out.append("Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n");
  out.append("Content-Length: ");
  out.append(std::to_string(body.size()));
  out.append(crlf);
  out.append(date);
  out.append(connection_close);
  out.append(crlf);
  out.append(body);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// connection

connection::connection(worker& w)
    : worker_(w),
      shared_(w.shared()),
      socket_(w.io()),
      rbuf_(new char[std::max<std::size_t>(shared_.options.max_header_bytes, 1024)]),
      rcap_(std::max<std::size_t>(shared_.options.max_header_bytes, 1024)) {
  wbuf_.reserve(wbuf_initial);
}

connection::~connection() {
  if (ssl_ != nullptr) openssl_loaded().ssl_free(ssl_);
}

void connection::start(tcp::socket socket, client_slot slot) {
  socket_ = std::move(socket);
  client_ = slot;
  boost::system::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  // Writes are attempted inline first (see advance()); only a full socket buffer goes async.
  socket_.non_blocking(true, ec);
  rbeg_ = rpos_ = rend_ = 0;
  wbuf_.clear();
  lingered_ = 0;
  served_ = 0;
  head_started_ = false;
  need_more_ = false;
  close_after_write_ = false;
  read_posted_ = false;
  handshaking_ = false;
  clock_from_accept_ = false;
  peer_authenticated_ = false;
  streaming_ = stream_chunked_ = stream_detailed_ = false;
  stream_reading_ = stream_writing_ = false;
  stream_last_ = 0;
  parser_.emplace(shared_.options.max_request_line, shared_.options.max_header_bytes);
  if (shared_.tls != nullptr) {
    start_tls();
    return;
  }
  read();
}

void connection::expire() noexcept {
  boost::system::error_code ec;
  socket_.close(ec);
}

admission connection::admission_class() const noexcept {
  // Waiting for a request with nothing of it received and nothing to write. A closed socket
  // (evicted or expired, its completion still pending) is not counted twice; one answered in
  // this very round (its read still queued, its deadline not yet the idle one) is the least
  // idle of all, not a candidate.
  if (!socket_.is_open() || streaming_ || read_posted_ || head_started_ || rend_ != rbeg_ ||
      !wbuf_.empty() || close_after_write_) {
    return admission::busy;
  }
  return served_ == 0 ? admission::silent : admission::idle;
}

void connection::read() {
  read_posted_ = false;
  const auto now = steady::now();
  if (rbeg_ == rend_) {
    // A connection that has not sent a first request yet gets the shorter of the two timeouts:
    // silent connections are the cheapest way to exhaust the connection cap.
    if (!clock_from_accept_) {
      deadline_ = now + (served_ == 0 ? std::min(shared_.options.idle_timeout,
                                                 shared_.options.header_timeout)
                                      : shared_.options.idle_timeout);
    }
  } else if (!head_started_) {
    // Part of the next request is already here: its header clock runs from now.
    head_started_ = true;
    deadline_ = now + shared_.options.header_timeout;
  }
  if (ssl_ != nullptr) {
    tls_read();
    return;
  }
  socket_.async_read_some(
      asio::buffer(rbuf_.get() + rend_, rcap_ - rend_),
      [this](const boost::system::error_code& ec, std::size_t n) { on_read(ec, n); });
}

void connection::read_later() {
  // A client that waits for each answer sends its next request only after receiving this one,
  // so a read attempted right now would nearly always fail with EAGAIN (Asio tries reads
  // speculatively before waiting). Queued behind the other connections that are ready in this
  // round, the read usually finds the next request already there: one recv(2) per request.
  read_posted_ = true;
  asio::post(worker_.io(), [this] { read(); });
}

void connection::on_read(const boost::system::error_code& ec, std::size_t n) {
  if (ec || !socket_.is_open()) {
    release();
    return;
  }
  if (!head_started_) {
    // The header deadline is set once, at the first byte: trickling bytes never extend it.
    head_started_ = true;
    if (!clock_from_accept_) deadline_ = steady::now() + shared_.options.header_timeout;
  }
  clock_from_accept_ = false;
  rend_ += n;
  need_more_ = false;
  advance();
}

void connection::advance() {
  for (;;) {
    const parse_result r = need_more_ ? parse_result::need_more : parse_batch();
    if (streaming_) {
      // Whatever was answered before it goes out with the stream's head; requests pipelined
      // after it are never answered (a stream does not end).
      start_stream();
      return;
    }
    if (wbuf_.empty()) {
      // Nothing to answer yet: make room for the rest of the head and wait for it.
      compact();
      read();
      return;
    }
    // Over TLS the batch is encrypted first and its records are what is sent.
    if (ssl_ != nullptr && !tls_encrypt(wbuf_)) {
      release();
      return;
    }
    const std::string& out = ssl_ != nullptr ? tls_out_ : wbuf_;
    std::size_t sent = 0;
    if (socket_.is_open()) {
      // The common case: the whole batch fits in the socket buffer, so one send(2) completes
      // it and no write operation goes through the reactor.
      boost::system::error_code wec;
      sent = socket_.write_some(asio::buffer(out), wec);
      if (wec && wec != asio::error::would_block && wec != asio::error::try_again) {
        release();
        return;
      }
    }
    if (sent < out.size()) {
      // The client is not reading fast enough: wait for the socket to drain, bounded by the
      // idle timeout, before parsing anything more (bounded pipelining).
      deadline_ = steady::now() + shared_.options.idle_timeout;
      asio::async_write(
          socket_, asio::buffer(out.data() + sent, out.size() - sent),
          [this](const boost::system::error_code& ec, std::size_t) { on_written(ec); });
      return;
    }
    wbuf_.clear();
    tls_out_.clear();
    if (close_after_write_) {
      start_linger();
      return;
    }
    if (r == parse_result::need_more) {
      if (rbeg_ == rend_) {
        read_later();
      } else {
        compact();
        read();
      }
      return;
    }
    // batch_full: more requests may be buffered; answer them now that the batch is out.
  }
}

void connection::on_written(const boost::system::error_code& ec) {
  if (ec || !socket_.is_open()) {
    release();
    return;
  }
  if (wbuf_.capacity() > wbuf_keep) {
    std::string{}.swap(wbuf_);
    wbuf_.reserve(wbuf_initial);
  } else {
    wbuf_.clear();
  }
  if (tls_out_.capacity() > wbuf_keep) {
    std::string{}.swap(tls_out_);
  } else {
    tls_out_.clear();
  }
  if (close_after_write_) {
    start_linger();
    return;
  }
  if (need_more_) {
    compact();
    read();
    return;
  }
  advance();
}

connection::parse_result connection::parse_batch() {
  const auto& opt = shared_.options;
  std::size_t answered = 0;
  while (answered < opt.max_pipelined) {
    if (rpos_ == rend_ && rbeg_ == rend_) {
      need_more_ = true;
      return parse_result::need_more;
    }
    boost::beast::error_code ec;
    const std::size_t used =
        parser_->put(asio::const_buffer(rbuf_.get() + rpos_, rend_ - rpos_), ec);
    rpos_ += used;
    if (ec == beast_http::error::need_more) {
      const std::size_t head = rend_ - rbeg_;
      if (!parser_->request_line_done() && head > opt.max_request_line) {
        refuse(refusal::line_too_long, uri_too_long, "request line too long\n");
        return parse_result::close;
      }
      if (head >= opt.max_header_bytes || head >= rcap_) {
        refuse(refusal::header_too_large, fields_too_large, "request header too large\n");
        return parse_result::close;
      }
      need_more_ = true;
      return parse_result::need_more;
    }
    if (ec == beast_http::error::header_limit) {
      if (parser_->request_line_too_long() || !parser_->request_line_done()) {
        refuse(refusal::line_too_long, uri_too_long, "request line too long\n");
      } else {
        refuse(refusal::header_too_large, fields_too_large, "request header too large\n");
      }
      return parse_result::close;
    }
    if (ec == beast_http::error::body_limit) {
      refuse(refusal::body, too_large, "request bodies are not accepted\n");
      return parse_result::close;
    }
    if (ec) {
      refuse(refusal::malformed, bad_request, "bad request\n");
      return parse_result::close;
    }
    if (!parser_->is_header_done()) {
      // put() consumed a part of the head and wants more; loop to feed it the rest.
      if (rpos_ == rend_) {
        need_more_ = true;
        return parse_result::need_more;
      }
      continue;
    }
    if (refuse_head()) return parse_result::close;
    answer_current();
    ++answered;
    ++served_;
    if (close_after_write_ || streaming_) return parse_result::close;
    next_request();
  }
  return parse_result::batch_full;
}

bool connection::refuse_head() {
  // A complete head. Bodies are refused without being read: their framing can't be trusted
  // to skip them safely, so the connection closes after the answer.
  if (parser_->has_transfer_encoding()) {
    refuse(refusal::body, not_implemented, "request bodies are not accepted\n");
    return true;
  }
  if (const auto length = parser_->content_length(); length && *length > 0) {
    refuse(refusal::body, too_large, "request bodies are not accepted\n");
    return true;
  }
  // RFC 9112 §3.2: an HTTP/1.1 request without Host, or any request with more than one, is a
  // 400 (HTTP/1.0 predates Host and is served without it).
  const unsigned hosts = parser_->host_fields();
  if (hosts > 1 || (hosts == 0 && parser_->version() >= 11)) {
    refuse(refusal::host, bad_request,
           hosts > 1 ? "more than one Host header\n" : "missing Host header\n");
    return true;
  }
  return false;
}

void connection::answer_current() {
  const request_parser& p = *parser_;
  const bool keep_alive = p.keep_alive();
  wire_response w;
  try {
    const serve_extras extras{.last_event_id = p.last_event_id(),
                              .streams = p.method() == "GET" ? &shared_.streams : nullptr};
    w = shared_.serve->serve(p.method(), p.target(), p.authorization(), peer_authenticated_,
                             p.accept(), client_.metrics_only, extras);
  } catch (const std::exception&) {
    // The host must never go down because one answer could not be rendered (e.g. bad_alloc).
    refuse(refusal::internal, internal_error, "internal error\n");
    return;
  }
  if (w.stream) {
    // An event stream: the connection now holds one of the stream places (given back in
    // release()). Its length is unknown, so HTTP/1.1 gets chunks and HTTP/1.0 the end of the
    // connection; either way nothing more is read from this client.
    streaming_ = true;
    stream_chunked_ = p.version() >= 11;
    stream_detailed_ = w.stream_detailed;
    stream_last_ = w.stream_after;
    wbuf_.append(head_without_length(*w.typed));
    wbuf_.append(worker_.date().line());
    wbuf_.append(stream_chunked_ ? chunked : connection_close);
    wbuf_.append(crlf);
    const std::string_view body = w.typed->body;
    if (stream_chunked_) {
      char size[20];
      const auto end = std::to_chars(size, size + sizeof size, body.size(), 16).ptr;
      wbuf_.append(size, end).append(crlf).append(body).append(crlf);
    } else {
      wbuf_.append(body);
    }
    return;
  }
  wbuf_.append(w.head);
  wbuf_.append(worker_.date().line());
  if (!keep_alive) {
    wbuf_.append(connection_close);
    close_after_write_ = true;
  } else if (p.version() == 10) {
    wbuf_.append(connection_keep_alive);
  }
  wbuf_.append(crlf);
  if (p.method() != "HEAD") wbuf_.append(w.body);
}

void connection::refuse(refusal why, std::string_view status_line, std::string_view body) {
  shared_.refusals[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
  append_error(wbuf_, status_line, body, worker_.date().line());
  close_after_write_ = true;
}

void connection::next_request() noexcept {
  rbeg_ = rpos_;
  head_started_ = false;
  parser_.emplace(shared_.options.max_request_line, shared_.options.max_header_bytes);
  if (rbeg_ == rend_) rbeg_ = rpos_ = rend_ = 0;
}

void connection::compact() noexcept {
  if (rbeg_ == 0) return;
  const std::size_t keep = rend_ - rbeg_;
  std::memmove(rbuf_.get(), rbuf_.get() + rbeg_, keep);
  parser_->shift(static_cast<std::ptrdiff_t>(rbeg_));
  rpos_ -= rbeg_;
  rend_ = keep;
  rbeg_ = 0;
}

void connection::start_linger() {
  // Close gracefully: stop sending, then drain what the client still sends for a short while.
  // Closing with unread bytes would make the kernel send a reset that can destroy the answer
  // we just wrote before the client reads it.
  boost::system::error_code ec;
  if (ssl_ != nullptr) {
    // close_notify, best effort: a full socket buffer just means the client sees a TCP close.
    const openssl_api& a = openssl_loaded();
    a.err_clear_error();
    a.shutdown(ssl_);
    a.err_clear_error();
    tls_out_.clear();
    tls_take_output();
    socket_.write_some(asio::buffer(tls_out_), ec);
    tls_out_.clear();
  }
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) {
    release();
    return;
  }
  deadline_ = steady::now() + shared_.linger_timeout;
  socket_.async_read_some(
      asio::buffer(rbuf_.get(), rcap_),
      [this](const boost::system::error_code& rec, std::size_t n) { on_linger_read(rec, n); });
}

void connection::on_linger_read(const boost::system::error_code& ec, std::size_t n) {
  lingered_ += n;
  if (ec || !socket_.is_open() || lingered_ > linger_max) {
    release();
    return;
  }
  socket_.async_read_some(
      asio::buffer(rbuf_.get(), rcap_),
      [this](const boost::system::error_code& rec, std::size_t m) { on_linger_read(rec, m); });
}

void connection::release() noexcept {
  if (streaming_) {
    streaming_ = false;
    worker_.remove_stream(this);
    shared_.streams.give_back();
  }
  if (ssl_ != nullptr) {
    openssl_loaded().ssl_free(ssl_);  // and its two BIOs
    ssl_ = nullptr;
    tls_rbio_ = tls_wbio_ = nullptr;
  }
  boost::system::error_code ec;
  socket_.close(ec);
  worker_.recycle(this);
}

// ---------------------------------------------------------------------------------------------
// connection: TLS

void connection::start_tls() {
  ssl_ = shared_.tls->current()->new_session();
  if (ssl_ == nullptr) {
    release();
    return;
  }
  const openssl_api& a = openssl_loaded();
  tls_rbio_ = a.get_rbio(ssl_);
  tls_wbio_ = a.get_wbio(ssl_);
  tls_out_.clear();
  handshaking_ = true;
  // The handshake counts in the header timeout: the deadline a silent connection gets now
  // covers the handshake and the first request head (slow handshakes are slowloris too).
  deadline_ =
      steady::now() + std::min(shared_.options.idle_timeout, shared_.options.header_timeout);
  tls_handshake();
}

void connection::tls_handshake() {
  const openssl_api& a = openssl_loaded();
  // Every SSL call starts on an empty error queue (per thread): SSL_get_error() reads the
  // queue first, so an entry left by anything else on this thread (a client certificate that
  // failed verification and was let through) would turn a plain "want read" into a failure.
  a.err_clear_error();
  const int r = a.do_handshake(ssl_);
  if (r != 1) {
    const int err = a.get_error(ssl_, r);
    if (err != SSL_ERROR_WANT_READ) {
      tls_fail(err);
      return;
    }
  }
  // Our flight (ServerHello ... Finished, then the session tickets) goes out before we wait.
  if (!tls_flush(&connection::tls_handshake)) return;
  if (r != 1) {
    tls_fill(&connection::tls_handshake);
    return;
  }
  handshaking_ = false;
  clock_from_accept_ = true;
  peer_authenticated_ = a.get_verify_mode(ssl_) != SSL_VERIFY_NONE &&
                        a.get0_peer_certificate(ssl_) != nullptr &&
                        a.get_verify_result(ssl_) == X509_V_OK;
  read();
}

void connection::tls_read() {
  const openssl_api& a = openssl_loaded();
  a.err_clear_error();
  std::size_t got = 0;
  const int r = a.read_ex(ssl_, rbuf_.get() + rend_, rcap_ - rend_, &got);
  if (r == 1) {
    // Usually completed inline, saving a trip through the scheduler; a head trickling in one
    // record at a time would recurse (on_read -> advance -> read -> ...), so past a few levels
    // the completion is posted like any socket read's. Anything OpenSSL wrote meanwhile (a
    // key update) leaves with the next answer or before the next wait.
    worker& w = worker_;  // outlives `this`, which on_read() may release and free
    if (w.inline_reads < 4) {
      ++w.inline_reads;
      on_read({}, got);
      --w.inline_reads;
    } else {
      asio::post(worker_.io(), [this, got] { on_read({}, got); });
    }
    return;
  }
  const int err = a.get_error(ssl_, r);
  if (err != SSL_ERROR_WANT_READ) {
    tls_fail(err);  // close_notify (SSL_ERROR_ZERO_RETURN) included: the client is done
    return;
  }
  if (!tls_flush(&connection::tls_read)) return;
  tls_fill(&connection::tls_read);
}

bool connection::tls_encrypt(std::string_view plain) {
  const openssl_api& a = openssl_loaded();
  a.err_clear_error();
  std::size_t n = 0;
  // Into a memory BIO a write never waits: the whole batch is encrypted at once.
  if (a.write_ex(ssl_, plain.data(), plain.size(), &n) != 1 || n != plain.size()) {
    a.err_clear_error();
    return false;
  }
  tls_take_output();
  return true;
}

void connection::tls_take_output() {
  const openssl_api& a = openssl_loaded();
  for (;;) {
    const auto pending =
        static_cast<std::size_t>(a.bio_ctrl(tls_wbio_, BIO_CTRL_PENDING, 0, nullptr));
    if (pending == 0) return;
    const std::size_t at = tls_out_.size();
    tls_out_.resize(at + pending);
    const int got = a.bio_read(tls_wbio_, tls_out_.data() + at, static_cast<int>(pending));
    tls_out_.resize(at + static_cast<std::size_t>(std::max(got, 0)));
    if (got <= 0) return;
  }
}

bool connection::tls_flush(void (connection::*next)()) {
  tls_take_output();
  if (tls_out_.empty()) return true;
  boost::system::error_code ec;
  const std::size_t sent = socket_.write_some(asio::buffer(tls_out_), ec);
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
    release();
    return false;
  }
  if (sent == tls_out_.size()) {
    tls_out_.clear();
    return true;
  }
  // A client not reading our flight: bounded by the handshake's deadline, else the idle one.
  if (!handshaking_) deadline_ = steady::now() + shared_.options.idle_timeout;
  asio::async_write(socket_, asio::buffer(tls_out_.data() + sent, tls_out_.size() - sent),
                    [this, next](const boost::system::error_code& wec, std::size_t) {
                      if (wec || !socket_.is_open()) {
                        release();
                        return;
                      }
                      tls_out_.clear();
                      (this->*next)();
                    });
  return false;
}

void connection::tls_fill(void (connection::*next)()) {
  if (rend_ == rcap_) {
    // Cannot happen (a head that fills the buffer is refused first); never spin on it.
    release();
    return;
  }
  // The free part of the read buffer holds the ciphertext until the input BIO has copied it;
  // SSL_read then decrypts into the same place.
  socket_.async_read_some(asio::buffer(rbuf_.get() + rend_, rcap_ - rend_),
                          [this, next](const boost::system::error_code& ec, std::size_t n) {
                            if (ec || !socket_.is_open()) {
                              release();
                              return;
                            }
                            const int put = openssl_loaded().bio_write(
                                tls_rbio_, rbuf_.get() + rend_, static_cast<int>(n));
                            if (put != static_cast<int>(n)) {
                              release();
                              return;
                            }
                            (this->*next)();
                          });
}

void connection::tls_fail(int ssl_error) {
  // A protocol failure during the handshake (plain HTTP on the TLS port, no shared version,
  // a refused client certificate) is what the counter is for; a client that hangs up, as TCP
  // health checks of a TLS port do, ends in tls_fill() and is not counted.
  if (handshaking_ && ssl_error == SSL_ERROR_SSL) {
    shared_.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
  }
  // The error queue is per thread: left behind, it would confuse the next connection's calls.
  openssl_loaded().err_clear_error();
  tls_take_output();
  if (!tls_out_.empty()) {
    boost::system::error_code ec;
    socket_.write_some(asio::buffer(tls_out_), ec);  // the alert, best effort
  }
  release();
}

// ---------------------------------------------------------------------------------------------
// connection: event streams

void connection::start_stream() {
  worker_.add_stream(this);
  const auto now = steady::now();
  // No deadline while the stream waits for events (the heartbeats keep it busy); one while a
  // write waits for a client that does not read.
  deadline_ = steady::time_point::max();
  heartbeat_due_ = now + shared_.options.event_heartbeat;
  rbeg_ = rpos_ = rend_ = 0;
  head_started_ = false;
  need_more_ = false;
  boost::system::error_code ec;
  socket_.set_option(asio::socket_base::send_buffer_size(stream_send_buffer), ec);
  stream_reading_ = true;
  // Whatever the client sends from now on is read and dropped; the end of it (or an error) is
  // the client going away.
  socket_.async_read_some(
      asio::buffer(rbuf_.get(), rcap_),
      [this](const boost::system::error_code& ec, std::size_t) { on_stream_read(ec); });
  std::string first;
  first.swap(wbuf_);
  if (ssl_ != nullptr) {
    tls_out_.clear();
    if (!tls_encrypt(first)) {
      expire();
      return;
    }
    stream_send(tls_out_);
  } else {
    stream_send(first);
  }
}

void connection::stream_push(std::string_view text) {
  if (!socket_.is_open() || text.empty()) return;
  heartbeat_due_ = steady::now() + shared_.options.event_heartbeat;
  std::string_view plain = text;
  if (stream_chunked_) {
    char size[20];
    const auto end = std::to_chars(size, size + sizeof size, text.size(), 16).ptr;
    frame_.clear();
    frame_.append(size, end).append(crlf).append(text).append(crlf);
    plain = frame_;
  }
  if (ssl_ != nullptr) {
    tls_out_.clear();
    if (!tls_encrypt(plain)) {
      expire();
      return;
    }
    stream_send(tls_out_);
    return;
  }
  stream_send(plain);
}

void connection::stream_send(std::string_view wire) {
  // Never called while a write is in progress (see stream_batch()): a stream holds one write's
  // bytes at most, however far behind its client is.
  boost::system::error_code ec;
  const std::size_t sent = socket_.write_some(asio::buffer(wire), ec);
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
    expire();
    return;
  }
  if (sent == wire.size()) return;
  wbuf_.assign(wire.substr(sent));
  stream_writing_ = true;
  deadline_ = steady::now() + shared_.options.idle_timeout;
  asio::async_write(
      socket_, asio::buffer(wbuf_),
      [this](const boost::system::error_code& wec, std::size_t) { on_stream_written(wec); });
}

void connection::on_stream_written(const boost::system::error_code& ec) {
  stream_writing_ = false;
  if (ec || !socket_.is_open()) {
    expire();
    if (!stream_reading_) release();
    return;
  }
  deadline_ = steady::time_point::max();
  if (wbuf_.capacity() > wbuf_keep) {
    std::string{}.swap(wbuf_);
  } else {
    wbuf_.clear();
  }
  stream_catch_up();
}

void connection::stream_catch_up() {
  // The events published while the client was taking the last write, read from the feed at
  // this stream's own position (they were not kept for it anywhere else).
  const event_feed& feed = *shared_.serve->events();
  while (socket_.is_open() && !stream_writing_) {
    const event_feed::page page = feed.since(stream_last_, stream_batch_max);
    if (page.missed) {
      // Further behind than the feed keeps: a slow consumer, dropped rather than buffered.
      // Its client reconnects with Last-Event-ID and is told what it missed.
      shared_.streams_dropped.fetch_add(1, std::memory_order_relaxed);
      expire();
      return;
    }
    if (page.events.empty()) return;
    event_batch& batch = worker_.scratch();
    shared_.serve->render_events(batch, page.events);
    const std::string_view text = batch.after(stream_last_, stream_detailed_);
    stream_last_ = page.last_id;
    stream_push(text);
    if (!page.more) return;
  }
}

void connection::on_stream_read(const boost::system::error_code& ec) {
  if (!ec && socket_.is_open()) {
    socket_.async_read_some(
        asio::buffer(rbuf_.get(), rcap_),
        [this](const boost::system::error_code& rec, std::size_t) { on_stream_read(rec); });
    return;
  }
  stream_reading_ = false;
  expire();
  if (!stream_writing_) release();
}

void connection::stream_batch(const event_batch& batch, std::size_t keep) {
  if (!socket_.is_open()) return;  // closed, its completions not run yet
  if (stream_writing_) {
    // Its client is still taking an earlier write: it catches up from the feed when that is
    // done, unless it is now further behind than the feed keeps.
    if (!batch.ids.empty() && batch.ids.back() > stream_last_ + keep) {
      shared_.streams_dropped.fetch_add(1, std::memory_order_relaxed);
      expire();
    }
    return;
  }
  const std::string_view text = batch.after(stream_last_, stream_detailed_);
  if (!batch.ids.empty()) stream_last_ = std::max(stream_last_, batch.ids.back());
  stream_push(text);
}

void connection::stream_missed(std::uint64_t last_id) {
  // A stream that is writing finds out itself when it catches up (and is dropped then).
  if (stream_writing_ || last_id <= stream_last_) return;
  stream_last_ = last_id;
  std::string text;
  append_ready_frame(text, last_id, true);
  stream_push(text);
}

void connection::stream_tick(steady::time_point now) {
  if (!stream_writing_ && now >= heartbeat_due_) stream_push(heartbeat_frame);
}

// ---------------------------------------------------------------------------------------------
// worker

worker::worker(server_shared& shared)
    : shared_(shared),
      // One thread per io_context: Asio may drop the scheduler's and the reactor's per-socket
      // locking. Scheduler and registration locks stay, since other threads post to us.
      io_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO),
      sweep_timer_(io_),
      deliver_timer_(io_) {
  if (const event_feed* feed = shared_.serve->events()) {
    stream_cursor_ = feed->last_id();
    events_ = feed->subscribe([this] { wake(); });
  }
}

worker::~worker() {
  events_ = {};  // no wake from here on
  while (head_ != nullptr) {
    connection* c = head_;
    head_ = c->next;
    delete c;
  }
  free_.clear();
}

void worker::adopt(tcp::socket socket, client_slot slot) {
  connection* c = nullptr;
  if (!free_.empty()) {
    c = free_.back().release();
    free_.pop_back();
  } else {
    c = new connection(*this);
  }
  c->prev = nullptr;
  c->next = head_;
  if (head_ != nullptr) head_->prev = c;
  head_ = c;
  c->start(std::move(socket), slot);
}

bool worker::make_room() noexcept {
  // Both deadlines order their class: an idle connection's is "idle since + idle timeout", a
  // silent one's "accepted at + its timeout", the same timeout for every member of a class.
  connection* idle = nullptr;
  connection* silent = nullptr;
  for (connection* c = head_; c != nullptr; c = c->next) {
    switch (c->admission_class()) {
      case admission::idle:
        if (idle == nullptr || c->deadline() < idle->deadline()) idle = c;
        break;
      case admission::silent:
        if (silent == nullptr || c->deadline() < silent->deadline()) silent = c;
        break;
      case admission::busy:
        break;
    }
  }
  connection* victim = idle != nullptr ? idle : silent;
  if (victim == nullptr) return false;
  (idle != nullptr ? shared_.evicted_idle : shared_.evicted_silent)
      .fetch_add(1, std::memory_order_relaxed);
  // Its socket closes now; its pending read completes with an error and releases it (one place
  // under the cap less). The new connection counts from now: the count exceeds the cap only
  // until those completions run, the descriptors never.
  victim->expire();
  shared_.open.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void worker::refuse_busy(tcp::socket socket, const client_slot& slot) {
  shared_.give_back(slot);
  boost::system::error_code ec;
  if (shared_.tls != nullptr) {
    // A 503 over TLS would cost a handshake per refused connection: just close.
    socket.close(ec);
    return;
  }
  socket.non_blocking(true, ec);
  std::string answer;
  append_error(answer, unavailable, "too many connections\n", date_.line());
  // Best effort: the socket buffer of a fresh connection always has room for this; what the
  // client already sent is dropped so the close is a FIN rather than a reset if possible.
  socket.write_some(asio::buffer(answer), ec);
  char sink[1024];
  socket.read_some(asio::buffer(sink), ec);
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

void worker::recycle(connection* c) noexcept {
  if (c->prev != nullptr) {
    c->prev->next = c->next;
  } else {
    head_ = c->next;
  }
  if (c->next != nullptr) c->next->prev = c->prev;
  c->prev = c->next = nullptr;
  shared_.give_back(c->client());
  shared_.open.fetch_sub(1, std::memory_order_relaxed);
  if (free_.size() < free_max) {
    free_.emplace_back(c);
  } else {
    delete c;
  }
}

void worker::add_stream(connection* c) { streams_.push_back(c); }

void worker::remove_stream(connection* c) noexcept {
  if (const auto it = std::find(streams_.begin(), streams_.end(), c); it != streams_.end()) {
    *it = streams_.back();
    streams_.pop_back();
  }
}

void worker::wake() noexcept {
  // Many events in a row cost one trip through this worker's queue.
  if (wake_posted_.exchange(true, std::memory_order_acq_rel)) return;
  try {
    asio::post(io_, [this] {
      wake_posted_.store(false, std::memory_order_release);
      on_wake();
    });
  } catch (const std::exception&) {
    wake_posted_.store(false, std::memory_order_release);  // out of memory: the next event
  }
}

void worker::on_wake() {
  // The first event after a quiet spell goes out at once; a burst is sent in rounds at most
  // stream_coalesce apart, each with everything published meanwhile: one write per stream
  // per round instead of one per event.
  if (deliver_armed_) return;
  const auto now = steady::now();
  if (now - last_delivery_ >= stream_coalesce) {
    deliver();
    return;
  }
  deliver_armed_ = true;
  deliver_timer_.expires_at(last_delivery_ + stream_coalesce);
  deliver_timer_.async_wait([this](const boost::system::error_code& ec) {
    deliver_armed_ = false;
    if (!ec) deliver();
  });
}

void worker::deliver() {
  last_delivery_ = steady::now();
  const event_feed& feed = *shared_.serve->events();
  if (streams_.empty()) {
    stream_cursor_ = feed.last_id();
    return;
  }
  const event_feed::page page = feed.since(stream_cursor_, stream_batch_max);
  if (page.missed) {
    // This worker fell more than the feed's capacity behind (it cannot, short of a stall of
    // its thread): every stream is told to refetch.
    for (connection* c : streams_) c->stream_missed(page.last_id);
    stream_cursor_ = page.last_id;
    return;
  }
  if (page.events.empty()) return;
  // Rendered once for every stream of the worker; each sends what it does not have yet.
  shared_.serve->render_events(batch_, page.events);
  for (connection* c : streams_) c->stream_batch(batch_, feed.capacity());
  stream_cursor_ = page.last_id;
  if (page.more) asio::post(io_, [this] { deliver(); });  // after what else is ready here
}

void worker::run_thread() {
  arm_sweep();
  thread_ = std::thread([this] {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception&) {
        // Handlers do not throw by design; if one ever does, keep serving the others.
      }
    }
  });
}

void worker::stop_and_join() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void worker::arm_sweep() {
  sweep_timer_.expires_after(shared_.sweep_period);
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    sweep();
    arm_sweep();
  });
}

void worker::sweep() noexcept {
  // One coarse timer per thread instead of one timer operation per request: a timer per
  // request costs a heap operation and a cancel on every probe, while deadlines here only need
  // sweep-period precision. Expired connections are closed; their pending operation completes
  // with an error and releases them.
  const auto now = steady::now();
  for (connection* c = head_; c != nullptr; c = c->next) {
    if (c->deadline() > now) continue;
    // A stream's only deadline is that of a write its client does not take.
    if (c->streaming() && c->open())
      shared_.streams_dropped.fetch_add(1, std::memory_order_relaxed);
    c->expire();
  }
  for (connection* c : streams_) c->stream_tick(now);
}

}  // namespace vitals::http::detail
