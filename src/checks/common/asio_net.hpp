#pragma once
// Asio/Beast glue for the network checks: error classification and a connect that walks the
// addresses of a bounded_resolver. Private to vitals_checks (Boost never reaches public headers).

#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/system/error_code.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"

namespace vitals::checks::detail {

/// refused for connection refused/reset/aborted/unreachable, timeout for timeouts and
/// cancellations (our deadline), dns for resolver errors, tls for SSL errors, protocol for
/// HTTP parse errors and an early end of stream, internal otherwise.
[[nodiscard]] failure_kind kind_from_error(const boost::system::error_code& ec) noexcept;

/// True for a system error out_of_descriptors() (EMFILE, ENFILE, ENOMEM, ENOBUFS).
[[nodiscard]] bool out_of_descriptors(const boost::system::error_code& ec) noexcept;

/// A failed socket operation as a failure: "out of file descriptors (limit N)" when that is the
/// reason, "connection refused (127.0.0.1:80)" for refusals, else "<error> <phase> <peer>".
[[nodiscard]] net_error socket_failure(const boost::system::error_code& ec, std::string_view phase,
                                       std::string_view peer);

/// Short text for an error: lower-cased message ("connection refused", "end of stream").
[[nodiscard]] std::string error_text(const boost::system::error_code& ec);

/// Asio endpoints for resolved addresses.
[[nodiscard]] std::vector<boost::asio::ip::tcp::endpoint> to_endpoints(
    const std::vector<resolved_address>& addresses);

/// Connects `stream` to the first endpoint that accepts, the stream's expiry (set by the caller
/// to the run's deadline) bounding the whole walk. On failure returns the error of the last
/// endpoint tried, with `peer` set to it.
[[nodiscard]] boost::asio::awaitable<boost::system::error_code> connect_any(
    boost::beast::tcp_stream& stream, const std::vector<boost::asio::ip::tcp::endpoint>& endpoints,
    boost::asio::ip::tcp::endpoint& peer);

/// "127.0.0.1:8080", "[::1]:8080".
[[nodiscard]] std::string endpoint_text(const boost::asio::ip::tcp::endpoint& ep);

}  // namespace vitals::checks::detail
