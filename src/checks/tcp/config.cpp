// YAML keys of the tcp check (compiled into vitals::config, registered by the generated list).
#include "config/schema.hpp"
#include "vitals/checks/tcp.hpp"

namespace vitals::config::detail {

void register_tcp(type_registry& types) {
  using o = checks::tcp_options;
  type_builder<o> b{"tcp", "A TCP connect, optionally send bytes and expect a reply substring."};
  b.key("host", &o::host, "Host name or IP literal.", {.required = true});
  b.key("port", &o::port, "Port.", {.required = true, .min = 1.0, .max = 65535.0});
  b.key("send", &o::send, "Sent right after connecting.");
  b.key("expect", &o::expect, "Must appear in the first bytes read.");
  b.key("max_read_bytes", &o::max_read_bytes, "Bytes read at most.", {.min = 1.0});
  types.add(b.build([](o opts) { return checks::tcp(std::move(opts)); }));
}

}  // namespace vitals::config::detail
