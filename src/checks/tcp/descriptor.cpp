// The tcp check type: its keys, URL schemes, locality (listed in src/checks/types.def).
#include <string_view>
#include <utility>

#include "common/url.hpp"
#include "schema/check_type.hpp"
#include "vitals/checks/tcp.hpp"

namespace vitals::checks {

schema::check_type describe_tcp() {
  using o = checks::tcp_options;
  schema::type_builder<o> b{"tcp",
                            "A TCP connect, optionally send bytes and expect a reply substring."};
  b.key("host", &o::host, "Host name or IP literal.", {.required = true});
  b.key("port", &o::port, "Port.", {.required = true, .min = 1.0, .max = 65535.0});
  b.key("send", &o::send, "Sent right after connecting.");
  b.key("expect", &o::expect, "Must appear in the first bytes read.");
  b.key("max_read_bytes", &o::max_read_bytes, "Bytes read at most.", {.min = 1.0});
  return {.spec = b.build([](o opts) { return checks::tcp(std::move(opts)); }),
          .schemes = {"tcp"},
          .from_url = [](std::string_view url) {
            auto [host, port] = detail::host_port_of(url, "tcp");
            return checks::tcp({.host = std::move(host), .port = port});
          }};
}

}  // namespace vitals::checks
