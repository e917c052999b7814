#pragma once
// Private to the built-in server: a request-head parser on top of Beast's basic_parser that keeps
// only what the server needs, as views into the connection's read buffer. Nothing is copied and
// nothing is allocated: the views stay valid while the head sits in the buffer, and the
// connection shifts them when it compacts the buffer (see shift()).

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vitals::http::detail {

class request_parser final : public boost::beast::http::basic_parser<true> {
 public:
  using error_code = boost::beast::error_code;

  /// `max_request_line` bounds "METHOD SP target SP HTTP/1.1 CRLF"; `max_header_bytes` the whole
  /// head. Beast applies its header limit per call to put(), so the connection enforces the
  /// cumulative limit; we still set it so a single oversized put fails early.
  request_parser(std::size_t max_request_line, std::size_t max_header_bytes)
      : max_request_line_(max_request_line) {
    header_limit(static_cast<std::uint32_t>(max_header_bytes));
    // Stop at the end of the head: bodies are refused, never read.
    eager(false);
  }

  [[nodiscard]] std::string_view method() const noexcept { return method_; }
  [[nodiscard]] std::string_view target() const noexcept { return target_; }
  [[nodiscard]] std::string_view authorization() const noexcept { return authorization_; }
  [[nodiscard]] std::string_view accept() const noexcept { return accept_; }
  /// The Last-Event-ID header of an event stream request ("" if absent).
  [[nodiscard]] std::string_view last_event_id() const noexcept { return last_event_id_; }
  [[nodiscard]] int version() const noexcept { return version_; }
  [[nodiscard]] bool request_line_done() const noexcept { return version_ != 0; }
  [[nodiscard]] bool request_line_too_long() const noexcept { return line_too_long_; }
  /// Any Transfer-Encoding at all (Beast only flags a final "chunked").
  [[nodiscard]] bool has_transfer_encoding() const noexcept { return transfer_encoding_; }
  /// How many Host fields the head has (RFC 9112 §3.2: exactly one in HTTP/1.1).
  [[nodiscard]] unsigned host_fields() const noexcept { return hosts_; }

  /// The buffer holding the head moved `delta` bytes towards its start.
  void shift(std::ptrdiff_t delta) noexcept {
    shift(method_, delta);
    shift(target_, delta);
    shift(authorization_, delta);
    shift(accept_, delta);
    shift(last_event_id_, delta);
  }

 private:
  static void shift(std::string_view& v, std::ptrdiff_t delta) noexcept {
    if (!v.empty()) v = std::string_view{v.data() - delta, v.size()};
  }

  void on_request_impl(boost::beast::http::verb, std::string_view method_str,
                       std::string_view target, int version, error_code& ec) override {
    // " HTTP/1.1\r\n" follows the target.
    constexpr std::size_t tail = 11;
    const auto line =
        static_cast<std::size_t>(target.data() + target.size() - method_str.data()) + tail;
    if (line > max_request_line_) {
      line_too_long_ = true;
      ec = boost::beast::http::error::header_limit;
      return;
    }
    method_ = method_str;
    target_ = target;
    version_ = version;
  }

  void on_response_impl(int, std::string_view, int, error_code&) override {}

  void on_field_impl(boost::beast::http::field name, std::string_view name_string,
                     std::string_view value, error_code&) override {
    using boost::beast::http::field;
    if (name == field::authorization) {
      authorization_ = value;
    } else if (name == field::accept) {
      if (accept_.empty()) accept_ = value;
    } else if (name == field::transfer_encoding) {
      transfer_encoding_ = true;
    } else if (name == field::host) {
      ++hosts_;
    } else if (name == field::unknown && is_last_event_id(name_string)) {
      last_event_id_ = value;
    }
  }

  // Beast knows no Last-Event-ID (WHATWG HTML, not an RFC field): compared here, ASCII
  // case-insensitively.
  static bool is_last_event_id(std::string_view n) noexcept {
    constexpr std::string_view want = "last-event-id";
    if (n.size() != want.size()) return false;
    for (std::size_t i = 0; i < n.size(); ++i) {
      const char c = n[i] >= 'A' && n[i] <= 'Z' ? static_cast<char>(n[i] - 'A' + 'a') : n[i];
      if (c != want[i]) return false;
    }
    return true;
  }

  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(std::string_view body, error_code&) override { return body.size(); }
  void on_chunk_header_impl(std::uint64_t, std::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, std::string_view body, error_code&) override {
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  std::size_t max_request_line_;
  std::string_view method_{};
  std::string_view target_{};
  std::string_view authorization_{};
  std::string_view accept_{};
  std::string_view last_event_id_{};
  int version_ = 0;
  unsigned hosts_ = 0;
  bool line_too_long_ = false;
  bool transfer_encoding_ = false;
};

}  // namespace vitals::http::detail
