// The udp check type: its keys, URL scheme, locality (listed in src/checks/types.def).
#include <string_view>
#include <utility>

#include "common/url.hpp"
#include "schema/check_type.hpp"
#include "vitals/checks/udp.hpp"

namespace vitals::checks {

schema::check_type describe_udp() {
  using o = checks::udp_options;
  schema::type_builder<o> b{"udp",
                            "A UDP datagram, optionally expecting a reply substring; an ICMP "
                            "port-unreachable fails as refused."};
  b.key("host", &o::host, "Host name or IP literal.", {.required = true});
  b.key("port", &o::port, "Port.", {.required = true, .min = 1.0, .max = 65535.0});
  b.key("send", &o::send, "The datagram sent (may be empty).");
  b.key("expect", &o::expect, "Must appear in the first reply (empty = no reply expected).");
  b.key("icmp_wait", &o::icmp_wait,
        "Without expect: how long to listen for a port-unreachable after sending.");
  return {.spec = b.build([](o opts) { return checks::udp(std::move(opts)); }),
          .schemes = {"udp"},
          .from_url = [](std::string_view url) {
            auto [host, port] = detail::host_port_of(url, "udp");
            return checks::udp({.host = std::move(host), .port = port});
          }};
}

}  // namespace vitals::checks
