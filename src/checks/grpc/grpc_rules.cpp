// The grpc check's pure rules (grpc_detail.hpp): no gRPC types here, so that the descriptor's
// URL form, linked into every executable, maps no gRPC library.
#include <arpa/inet.h>

#include <array>
#include <cctype>
#include <charconv>
#include <stdexcept>
#include <string>
#include <string_view>

#include "base/grpc_names.hpp"
#include "common/url.hpp"
#include "grpc/grpc_detail.hpp"
#include "vitals/redact.hpp"

namespace vitals::checks::detail {

namespace {

std::invalid_argument bad_address(std::string_view address, std::string_view why) {
  return std::invalid_argument("grpc check: address \"" + mask_userinfo(address) +
                               "\" must be host:port, [ipv6]:port or unix:/path (" +
                               std::string{why} + ")");
}

std::uint16_t parse_port(std::string_view address, std::string_view text) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value == 0 ||
      value > 65535) {
    throw bad_address(address, "port must be 1-65535");
  }
  return static_cast<std::uint16_t>(value);
}

std::string lower(std::string_view s) {
  std::string out{s};
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

void append_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

std::optional<std::uint64_t> read_varint(std::string_view bytes, std::size_t& at) {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (at >= bytes.size()) return std::nullopt;
    const auto b = static_cast<unsigned char>(bytes[at++]);
    v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) return v;
  }
  return std::nullopt;  // longer than 10 bytes
}

// gRPC's UNAVAILABLE texts wrap the cause in its own framing: "failed to connect to all
// addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: Failed to connect to remote host: Connection
// refused". The cause is what a reader needs.
std::string cause_of(std::string_view message) {
  for (std::string_view prefix :
       {"failed to connect to all addresses; last error: ", "failed to connect to all addresses"}) {
    if (message.starts_with(prefix)) message.remove_prefix(prefix.size());
  }
  // A status-code word ("UNKNOWN: ", "UNAVAILABLE: ").
  if (const auto colon = message.find(": ");
      colon != std::string_view::npos && colon > 0 &&
      message.substr(0, colon).find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") ==
          std::string_view::npos) {
    message.remove_prefix(colon + 2);
  }
  // The address gRPC tried ("ipv4:127.0.0.1:1: ", "ipv6:[::1]:1: ", "unix:/p: ").
  for (std::string_view scheme : {"ipv4:", "ipv6:", "unix:"}) {
    if (!message.starts_with(scheme)) continue;
    if (const auto colon = message.find(": "); colon != std::string_view::npos) {
      message.remove_prefix(colon + 2);
    }
    break;
  }
  std::string out{message};
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n' || out.back() == '.')) {
    out.pop_back();
  }
  constexpr std::size_t max_text = 300;
  if (out.size() > max_text) out = out.substr(0, max_text) + "...";
  return out;
}

std::string service_label(std::string_view service) {
  return service.empty() ? std::string{"the server (service \"\")"}
                         : "service \"" + std::string{service} + "\"";
}

}  // namespace

grpc_address parse_grpc_address(std::string_view address) {
  grpc_address a;
  if (address.starts_with("unix:")) {
    std::string_view path = address.substr(5);
    if (path.starts_with("//")) path.remove_prefix(2);  // unix:///run/app.sock
    if (path.empty()) throw bad_address(address, "no socket path");
    a.unix_socket = true;
    a.host = std::string{path};
    a.target = "unix:" + a.host;
    a.shown = a.target;
    return a;
  }
  if (address.find("://") != std::string_view::npos) {
    throw bad_address(address, "not a URL: grpc://host:port/service is vitals wait's form");
  }
  std::string_view host;
  std::string_view port;
  if (address.starts_with('[')) {
    const auto close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      throw bad_address(address, "an IPv6 literal is written [::1]:50051");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos) throw bad_address(address, "no port");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      throw bad_address(address, "an IPv6 literal is written [::1]:50051");
    }
  }
  if (host.empty()) throw bad_address(address, "no host");
  if (host.find_first_of(" \t\r\n/@?#") != std::string_view::npos) {
    throw bad_address(address, "not a host name");
  }
  a.host = std::string{host};
  a.port = parse_port(address, port);
  a.shown = host_port(a.host, a.port);
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, a.host.c_str(), &v4) == 1) {
    a.target = "ipv4:" + a.shown;
  } else if (inet_pton(AF_INET6, a.host.c_str(), &v6) == 1) {
    a.target = "ipv6:" + a.shown;
  } else {
    a.target = "dns:///" + a.shown;
  }
  return a;
}

grpc_options grpc_options_from_url(std::string_view text) {
  const url u = parse_url(text);  // throws with the userinfo masked
  const auto bad = [&](std::string_view why) {
    return std::invalid_argument("grpc: invalid URL \"" + u.redacted() + "\": " + std::string{why} +
                                 " (grpc://host:port[/service], grpcs:// for TLS)");
  };
  if (u.scheme != "grpc" && u.scheme != "grpcs") throw bad("scheme must be grpc:// or grpcs://");
  if (u.host.empty()) throw bad("no host");
  if (!u.user.empty() || u.has_password) {
    throw bad("no credentials in the URL (send them as metadata in a configuration)");
  }
  if (!u.query.empty() || !u.fragment.empty()) throw bad("no query or fragment");
  const bool tls = u.scheme == "grpcs";
  const std::uint16_t port = u.port_or(tls ? 443 : 0);
  if (port == 0) throw bad("no port");
  grpc_options o;
  o.address = host_port(u.host, port);
  o.tls = tls;
  std::string_view path = u.path;
  if (path.starts_with('/')) path.remove_prefix(1);
  o.service = percent_decode(path);
  return o;
}

bool is_credential_metadata(std::string_view key) noexcept {
  const std::string k = lower(key);
  return k == "authorization" || k == "proxy-authorization" || k == "cookie" ||
         vitals::redactor::is_secret_key(k);
}

std::vector<std::pair<std::string, std::string>> normalized_metadata(
    const std::vector<std::pair<std::string, std::string>>& metadata) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(metadata.size());
  for (const auto& [name, value] : metadata) {
    std::string key = lower(name);
    const auto bad = [&](std::string_view why) {
      return std::invalid_argument("grpc check: metadata key \"" + key + "\": " + std::string{why});
    };
    if (key.empty()) throw bad("empty");
    if (key.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.") != std::string::npos) {
      throw bad("keys are [a-z0-9-_.]");
    }
    if (key.starts_with("grpc-")) throw bad("grpc-* keys are reserved for gRPC itself");
    if (key == "te" || key == "content-type" || key == "user-agent" || key == "host") {
      throw bad("set by gRPC itself");
    }
    if (!key.ends_with("-bin")) {
      for (const char c : value) {
        if (c < 0x20 || c > 0x7E)
          throw bad("values are printable ASCII (binary values: -bin keys)");
      }
    }
    out.emplace_back(std::move(key), value);
  }
  return out;
}

std::string encode_health_request(std::string_view service) {
  std::string out;
  if (service.empty()) return out;
  out += '\x0A';  // field 1, wire type 2 (length-delimited)
  append_varint(out, service.size());
  out += service;
  return out;
}

std::optional<std::int64_t> decode_health_response(std::string_view bytes) {
  std::int64_t status = 0;
  std::size_t at = 0;
  while (at < bytes.size()) {
    const auto tag = read_varint(bytes, at);
    if (!tag || (*tag >> 3) == 0) return std::nullopt;
    const auto field = *tag >> 3;
    // Field 1 with another wire type than varint is skipped as an unknown field, as protobuf
    // reads it.
    switch (*tag & 7) {
      case 0: {
        const auto v = read_varint(bytes, at);
        if (!v) return std::nullopt;
        // An enum is an int32: negative values travel as 10-byte varints.
        if (field == 1) status = static_cast<std::int32_t>(static_cast<std::uint32_t>(*v));
        break;
      }
      case 1:
        if (bytes.size() - at < 8) return std::nullopt;
        at += 8;
        break;
      case 2: {
        const auto len = read_varint(bytes, at);
        if (!len || *len > bytes.size() - at) return std::nullopt;
        at += static_cast<std::size_t>(*len);
        break;
      }
      case 5:
        if (bytes.size() - at < 4) return std::nullopt;
        at += 4;
        break;
      default:  // groups (3, 4) are not proto3; 6 and 7 do not exist
        return std::nullopt;
    }
  }
  return status;
}

std::string serving_status_name(std::int64_t status) {
  const char* name = base::grpc_serving_status_name(status);
  return name != nullptr ? std::string{name} : "status " + std::to_string(status);
}

std::string grpc_code_name(int code) {
  const char* name = base::grpc_status_code_name(code);
  return name != nullptr ? std::string{name} : "CODE " + std::to_string(code);
}

result classify_health_call(const grpc_outcome& call, const grpc_address& where,
                            std::string_view service, std::string_view timed_out) {
  const std::string& at = where.shown;
  const std::string cause = cause_of(call.message);
  const auto with_cause = [&](std::string text) {
    if (!cause.empty()) text += ": " + cause;
    return text;
  };
  switch (call.code) {
    case 0: {  // OK
      const auto status = decode_health_response(call.response);
      if (!status) {
        return fail("not a grpc.health.v1.HealthCheckResponse from " + at, failure_kind::protocol);
      }
      const std::string name = serving_status_name(*status);
      if (*status == 1) {
        return pass()
            .detail("address", at)
            .detail("service", std::string{service})
            .detail("status", name);
      }
      if (*status == 3) {
        return fail(service_label(service) + " not found on " + at + " (SERVICE_UNKNOWN)",
                    failure_kind::assertion)
            .detail("status", name);
      }
      if (*status == 0 || *status == 2) {
        return fail(service_label(service) + " is " + name + " (" + at + ")",
                    failure_kind::assertion)
            .detail("status", name);
      }
      return fail("unexpected serving " + name + " from " + at, failure_kind::protocol);
    }
    case 4:  // DEADLINE_EXCEEDED
      return fail(std::string{timed_out}, failure_kind::timeout);
    case 5:  // NOT_FOUND: the protocol's answer for a service the server does not know
      return fail(service_label(service) + " not found on " + at + " (NOT_FOUND)",
                  failure_kind::assertion)
          .detail("status", "NOT_FOUND");
    case 12:  // UNIMPLEMENTED
      return fail(at + " has no health service (grpc.health.v1.Health/Check is UNIMPLEMENTED)",
                  failure_kind::protocol);
    case 7:   // PERMISSION_DENIED
    case 16:  // UNAUTHENTICATED
      return fail(with_cause(grpc_code_name(call.code) + " from " + at), failure_kind::auth);
    case 14: {  // UNAVAILABLE: gRPC's word for every way of not getting through
      const std::string m = lower(call.message);
      if (contains(m, "ssl") || contains(m, "tls") || contains(m, "handshake") ||
          contains(m, "certificate") || contains(m, "alpn")) {
        // "Ssl handshake failed: SSL_ERROR_SSL: error:0A000086:SSL routines::certificate
        // verify failed": OpenSSL's reason is the part after "routines::".
        std::string reason = cause;
        if (const auto r = reason.rfind("routines::"); r != std::string::npos) {
          reason = reason.substr(r + 10);
        }
        return fail("TLS handshake with " + at + " failed" + (reason.empty() ? "" : ": " + reason),
                    failure_kind::tls);
      }
      if (contains(m, "dns resolution failed") || contains(m, "name or service not known") ||
          contains(m, "could not resolve") || contains(m, "domain name not found") ||
          contains(m, "resolution failed")) {
        // "DNS resolution failed for h:1: C-ares status is not ARES_SUCCESS qtype=AAAA
        // name=h is_balancer=0: Domain name not found": the resolver's verdict is the last part.
        std::string reason = cause;
        if (const auto r = reason.rfind(": "); r != std::string::npos)
          reason = reason.substr(r + 2);
        return fail(
            "could not resolve \"" + where.host + "\"" + (reason.empty() ? "" : ": " + reason),
            failure_kind::dns);
      }
      if (contains(m, "connection refused")) {
        return fail("connection refused (" + at + ")", failure_kind::refused);
      }
      const bool dropped = contains(m, "socket closed") || contains(m, "connection reset") ||
                           contains(m, "end of tcp stream") || contains(m, "connection closed");
      if (dropped && !call.was_connected && call.tls) {
        // TLS 1.3 completes the client's side of the handshake before the server has judged
        // the client certificate: a server that refuses it drops the new connection.
        return fail(
            with_cause("TLS connection to " + at + " dropped by the server after the handshake" +
                       (call.client_cert ? " (was the client certificate rejected?)"
                                         : " (does it require a client certificate? set "
                                           "client_cert and client_key)")),
            failure_kind::tls);
      }
      if (dropped && !call.was_connected) {
        return fail(with_cause("connection to " + at +
                               " closed before any HTTP/2 answer (a TLS port? set tls: true)"),
                    failure_kind::refused);
      }
      return fail(with_cause("unavailable (" + at + ")"), failure_kind::refused);
    }
    default:
      return fail(with_cause(grpc_code_name(call.code) + " from " + at), failure_kind::protocol);
  }
}

}  // namespace vitals::checks::detail
