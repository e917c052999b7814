#include "common/asio_net.hpp"

#include <netinet/in.h>

#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <cctype>
#include <cstring>

#include "base/text.hpp"
#include "common/url.hpp"

namespace vitals::checks::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;

failure_kind kind_from_error(const boost::system::error_code& ec) noexcept {
  if (!ec) return failure_kind::none;
  if (ec == beast::error::timeout || ec == asio::error::operation_aborted ||
      ec == asio::error::timed_out) {
    return failure_kind::timeout;
  }
  const auto& cat = ec.category();
  if (cat == boost::system::system_category() || cat == boost::system::generic_category()) {
    return kind_from_errno(ec.value());
  }
  if (cat == asio::error::get_netdb_category() || cat == asio::error::get_addrinfo_category()) {
    return failure_kind::dns;
  }
  if (cat == asio::error::get_ssl_category() || cat == asio::ssl::error::get_stream_category()) {
    return ec == asio::ssl::error::stream_truncated ? failure_kind::protocol : failure_kind::tls;
  }
  if (cat == beast::http::make_error_code(beast::http::error::end_of_stream).category() ||
      ec == asio::error::eof) {
    return failure_kind::protocol;
  }
  if (cat == asio::error::get_misc_category()) return failure_kind::protocol;
  return failure_kind::internal;
}

bool out_of_descriptors(const boost::system::error_code& ec) noexcept {
  const auto& cat = ec.category();
  return ec &&
         (cat == boost::system::system_category() || cat == boost::system::generic_category()) &&
         out_of_descriptors(ec.value());
}

net_error socket_failure(const boost::system::error_code& ec, std::string_view phase,
                         std::string_view peer) {
  if (out_of_descriptors(ec)) return descriptors_exhausted();
  const auto kind = kind_from_error(ec);
  if (kind == failure_kind::refused) return {kind, error_text(ec) + " (" + std::string(peer) + ")"};
  return {kind, error_text(ec) + " " + std::string(phase) + " " + std::string(peer)};
}

std::string error_text(const boost::system::error_code& ec) {
  return base::lowercase_first(ec.message());
}

std::vector<asio::ip::tcp::endpoint> to_endpoints(const std::vector<resolved_address>& addresses) {
  std::vector<asio::ip::tcp::endpoint> out;
  for (const auto& a : addresses) {
    if (a.family() == AF_INET) {
      sockaddr_in sin{};
      std::memcpy(&sin, &a.storage, sizeof sin);
      asio::ip::address_v4::bytes_type b{};
      std::memcpy(b.data(), &sin.sin_addr, b.size());
      out.emplace_back(asio::ip::address_v4(b), a.port());
    } else if (a.family() == AF_INET6) {
      sockaddr_in6 sin6{};
      std::memcpy(&sin6, &a.storage, sizeof sin6);
      asio::ip::address_v6::bytes_type b{};
      std::memcpy(b.data(), &sin6.sin6_addr, b.size());
      out.emplace_back(asio::ip::address_v6(b, sin6.sin6_scope_id), a.port());
    }
  }
  return out;
}

asio::awaitable<boost::system::error_code> connect_any(
    beast::tcp_stream& stream, const std::vector<asio::ip::tcp::endpoint>& endpoints,
    asio::ip::tcp::endpoint& peer) {
  boost::system::error_code ec = asio::error::host_not_found;
  for (const auto& ep : endpoints) {
    peer = ep;
    ec = {};
    co_await stream.async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) co_return ec;
    // Our deadline, or no descriptor for a socket: the next address would fail the same way.
    if (ec == beast::error::timeout || out_of_descriptors(ec)) co_return ec;
    stream.socket().close();
  }
  co_return ec;
}

std::string endpoint_text(const asio::ip::tcp::endpoint& ep) {
  return host_port(ep.address().to_string(), ep.port());
}

}  // namespace vitals::checks::detail
