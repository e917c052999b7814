// The `grpc` row: vitalsd's grpc.health.v1 server (vitals::grpc, docs/endpoints/grpc.md) on its
// own port. Read here into daemon_config::grpc; vitalsd hands it to the server.
#include <charconv>
#include <optional>
#include <string>
#include <string_view>

#include "config/sections.hpp"

namespace vitals::config::detail {
namespace {

void tls_path(section_builder<grpc_config>& b, std::string name, std::string grpc_config::*member,
              std::string doc) {
  b.custom(std::move(name), value_kind::string, std::move(doc),
           [member](grpc_config& o, const value& v) { assign(o.*member, v); });
}

const section_spec& grpc_tls_section() {
  static const section_spec s = [] {
    section_builder<grpc_config> b{"tls", "TLS on the gRPC port (both files, or neither)."};
    tls_path(b, "cert_file", &grpc_config::cert_file,
             "PEM certificate chain, the server's certificate first.");
    tls_path(b, "key_file", &grpc_config::key_file, "PEM private key of cert_file.");
    tls_path(b, "client_ca_file", &grpc_config::client_ca_file,
             "PEM CA bundle: every client must present a certificate it verifies (mTLS).");
    return b.section();
  }();
  return s;
}

const section_spec& grpc_section() {
  static const section_spec s = [] {
    section_builder<grpc_config> b{
        "grpc",
        "The grpc.health.v1 server (Check, Watch, List) on its own port, answering from the "
        "engine like the HTTP probes (docs/endpoints/grpc.md). Its token is auth.token."};
    b.custom("listen", value_kind::string,
             "\"address:port\" of the gRPC port, e.g. \"0.0.0.0:9090\"; absent: no gRPC server.",
             [](grpc_config& o, const value& v) { assign(o.listen, v); });
    b.key("aliases", &grpc_config::aliases,
          "Extra service names: name -> \"\" (the service), liveness, readiness, startup or a "
          "check's name, e.g. {my.pkg.Orders: readiness}.");
    b.key("list_limit", &grpc_config::list_limit,
          "List answers RESOURCE_EXHAUSTED when there are more names than this.",
          {.min = 1.0, .max = 100000.0});
    return b.section();
  }();
  return s;
}

// "host:port" or "[v6]:port" with a port in range (0 = any free port).
bool valid_listen(std::string_view v) {
  std::string_view host;
  std::string_view port;
  if (!v.empty() && v.front() == '[') {
    const auto close = v.find(']');
    if (close == std::string_view::npos || close + 1 >= v.size() || v[close + 1] != ':') {
      return false;
    }
    host = v.substr(1, close - 1);
    port = v.substr(close + 2);
  } else {
    const auto colon = v.rfind(':');
    if (colon == std::string_view::npos || v.find(':') != colon) return false;
    host = v.substr(0, colon);
    port = v.substr(colon + 1);
  }
  unsigned n = 0;
  const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  return !host.empty() && !port.empty() && ec == std::errc{} && p == port.data() + port.size() &&
         n <= 65535;
}

std::optional<key_problem> grpc_keys_agree(const document& d) {
  const grpc_config& g = d.cfg.grpc;
  if (!g.listen.empty() && !valid_listen(g.listen)) {
    return key_problem{.key = "listen",
                       .message =
                           "expected \"address:port\", e.g. \"0.0.0.0:9090\" or "
                           "\"[::1]:9090\" (got \"" +
                           g.listen + "\")"};
  }
  const bool any_tls = !g.cert_file.empty() || !g.key_file.empty() || !g.client_ca_file.empty();
  if (g.listen.empty() && (any_tls || !g.aliases.empty())) {
    return key_problem{.key = "listen", .message = "grpc needs listen to turn the server on"};
  }
  if (g.cert_file.empty() != g.key_file.empty()) {
    return key_problem{.key = "tls",
                       .message = "tls.cert_file and tls.key_file go together (one is missing)"};
  }
  if (!g.client_ca_file.empty() && g.cert_file.empty()) {
    return key_problem{.key = "tls", .message = "tls.client_ca_file needs tls.cert_file"};
  }
  for (const auto& [name, target] : g.aliases) {
    bool taken = name.empty() || name == "liveness" || name == "readiness" || name == "startup";
    for (const auto& c : d.cfg.checks) taken = taken || c.name == name;
    if (taken) {
      return key_problem{
          .key = "aliases",
          .message = "alias \"" + name + "\" is already a service name (\"\", a probe or a check)"};
    }
    if (target.empty() || target == "liveness" || target == "readiness" || target == "startup") {
      continue;
    }
    bool known = false;
    for (const auto& c : d.cfg.checks) known = known || c.name == target;
    if (!known) {
      std::string message = "alias \"";
      message += name;
      message += "\" names \"";
      message += target;
      message += "\": neither \"\", liveness, readiness, startup nor a check";
      return key_problem{.key = "aliases", .message = std::move(message)};
    }
  }
  return std::nullopt;
}

}  // namespace

top_level_key grpc_key() {
  return {.name = "grpc",
          .doc = grpc_section().doc,
          .section = &grpc_section(),
          .children = {{"tls", &grpc_tls_section()}},
          .bind = [](document& d) -> void* { return &d.cfg.grpc; },
          .rule = grpc_keys_agree};
}

}  // namespace vitals::config::detail
