#include "vitals/checks/memcached.hpp"

#include <charconv>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include "common/connection_check.hpp"
#include "common/net.hpp"
#include "common/resolver.hpp"
#include "common/url.hpp"
#include "memcached/memcached_detail.hpp"

namespace vitals::checks {
namespace detail {

memcached_address parse_memcached_address(std::string_view text) {
  const std::string original = mask_userinfo(text);
  auto bad = [&](const std::string& why) {
    return std::invalid_argument("memcached: invalid address \"" + original + "\": " + why);
  };
  if (text.starts_with("memcached://")) text.remove_prefix(12);
  while (!text.empty() && text.back() == '/') text.remove_suffix(1);
  if (text.empty()) throw bad("empty (expected host:port)");
  memcached_address a;
  std::string_view port_text;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) throw bad("missing ']'");
    a.host = std::string(text.substr(1, close - 1));
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') throw bad("expected ':' after ']'");
      port_text = rest.substr(1);
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon) {
      throw bad("IPv6 addresses need brackets: [::1]:11211");
    }
    a.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) port_text = text.substr(colon + 1);
  }
  if (a.host.empty()) throw bad("empty host");
  if (a.host.find_first_of("/@ ") != std::string::npos) throw bad("unexpected character in host");
  if (!port_text.empty() || text.back() == ':') {
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
    if (ec != std::errc{} || p != port_text.data() + port_text.size() || v == 0 || v > 65535) {
      throw bad("port must be 1-65535");
    }
    a.port = static_cast<std::uint16_t>(v);
  }
  return a;
}

std::optional<std::string> parse_version_line(std::string_view line) {
  constexpr std::string_view prefix = "VERSION ";
  if (!line.starts_with(prefix) || line.size() == prefix.size()) return std::nullopt;
  const auto v = line.substr(prefix.size());
  for (const char c : v) {
    if (c < 0x21 || c > 0x7e) return std::nullopt;
  }
  return std::string(v);
}

std::string printable_excerpt(std::string_view bytes, std::size_t max) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (const char ch : bytes) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += ch;
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

}  // namespace detail

namespace {

using namespace std::chrono_literals;
using detail::net_error;
using detail::steady_time;

// Why the text protocol on our own socket rather than libmemcached: `version` is one line each
// way, libmemcached would add a dependency, its own connection pool and timeouts in whole
// milliseconds per operation rather than one absolute deadline per run, and it hides the errno
// we classify failures with.
class memcached_check final : public detail::connection_check {
 public:
  explicit memcached_check(detail::memcached_address a) : address_(std::move(a)) {
    where_ = detail::host_port(address_.host, address_.port);
  }

  check_traits traits() const override {
    return {.type = "memcached",
            .component_type = "datastore",
            .measurement = "responseTime",
            .dependency = true,
            .secrets = {}};
  }

 private:
  void drop(bool /*abandoned*/) noexcept override {
    fd_.reset();
    buffer_.clear();
  }
  using connection_check::failed;
  result failed(net_error e) { return failed(e.kind, std::move(e.message)); }

  [[nodiscard]] bool connected() const override { return fd_.valid(); }

  result attempt(steady_time deadline, steady_time start) override {
    if (!fd_.valid()) {
      doing("connecting to " + where_);
      auto c = detail::connect_tcp(resolver_, address_.host, address_.port, deadline, start);
      if (!c) return failed(std::move(c.error));
      fd_ = std::move(c.fd);
      buffer_.clear();
    }
    doing("sending to " + where_);
    if (auto e = detail::send_all(fd_.get(), "version\r\n", deadline)) {
      if (e->kind == failure_kind::timeout) return abandon(deadline, start, "sending to");
      return failed({e->kind, e->message + " (" + where_ + ")"});
    }
    // One reply line; anything longer than this is not a memcached answer to `version`.
    constexpr std::size_t max_line = 256;
    for (;;) {
      if (const auto eol = buffer_.find("\r\n"); eol != std::string::npos) {
        const std::string line = buffer_.substr(0, eol);
        buffer_.erase(0, eol + 2);
        if (auto v = detail::parse_version_line(line)) {
          if (!buffer_.empty()) return failed({failure_kind::protocol, "unexpected extra data"});
          return vitals::pass().detail("server_version", std::move(*v));
        }
        return failed({failure_kind::protocol, "unexpected reply to version from " + where_ +
                                                   ": \"" + detail::printable_excerpt(line) +
                                                   "\""});
      }
      // A peer that does not start with "VERSION " (and no full line yet) is not answering
      // `version`: say so now rather than wait for a line end that may never come.
      constexpr std::string_view expected = "VERSION ";
      const bool on_track =
          expected.starts_with(std::string_view(buffer_).substr(0, expected.size()));
      if (!on_track || buffer_.size() > max_line) {
        return failed({failure_kind::protocol, "unexpected reply to version from " + where_ +
                                                   ": \"" + detail::printable_excerpt(buffer_) +
                                                   "\""});
      }
      char buf[512];
      doing("waiting for a reply from " + where_);
      const auto r = detail::recv_some(fd_.get(), buf, sizeof buf, deadline);
      if (r.error) {
        if (r.error->kind == failure_kind::timeout) {
          return abandon(deadline, start, "waiting for a reply from");
        }
        return failed({r.error->kind, r.error->message + " (" + where_ + ")"});
      }
      if (r.bytes == 0) {
        // Closed before a full line: a server that hangs up at once is refusing us; one that
        // sent part of something else is not speaking memcached.
        if (buffer_.empty()) {
          return failed({failure_kind::refused, "connection closed by server (" + where_ + ")"});
        }
        return failed({failure_kind::protocol, "connection closed mid-reply by " + where_ + ": \"" +
                                                   detail::printable_excerpt(buffer_) + "\""});
      }
      buffer_.append(buf, r.bytes);
    }
  }

  detail::memcached_address address_;
  detail::bounded_resolver resolver_;
  detail::socket_fd fd_;
  std::string buffer_;
};

}  // namespace

std::shared_ptr<vitals::check> memcached(memcached_options options) {
  return std::make_shared<memcached_check>(detail::parse_memcached_address(options.address));
}

}  // namespace vitals::checks
