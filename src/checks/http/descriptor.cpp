// The http check type: its keys, URL schemes, locality (listed in src/checks/types.def).
#include "schema/check_type.hpp"
#include "vitals/checks/http.hpp"

namespace vitals::checks {

schema::check_type describe_http() {
  using o = checks::http_options;
  schema::type_builder<o> b{"http", "An HTTP(S) request whose status, body or JSON must match."};
  b.key("url", &o::url, "http:// or https:// URL.", {.secret = true, .required = true});
  b.key("method", &o::method, "Request method (no body).");
  b.key("headers", &o::headers, "Extra request headers (credential values are never shown).");
  b.key("expected_status", &o::expected_status, "Accepted codes and ranges, e.g. 200-299,301.");
  b.key("body_contains", &o::body_contains, "The body must contain this text.");
  b.key("body_regex", &o::body_regex, "The body must match this ECMAScript regex.");
  b.key("json_pointer", &o::json_pointer, "RFC 6901 pointer into a JSON body, e.g. /status.");
  b.key("json_equals", &o::json_equals, "Expected value at json_pointer (JSON or plain text).");
  b.key("latency_budget", &o::latency_budget, "Slower than this → warn (0 = no budget).");
  b.key("max_redirects", &o::max_redirects, "Same-host redirects followed.",
        {.min = 0.0, .max = 20.0});
  b.key("max_body_bytes", &o::max_body_bytes, "Response bytes read at most.", {.min = 1.0});
  b.key("ca_file", &o::ca_file, "PEM CAs to trust instead of the system ones.");
  b.key("client_cert", &o::client_cert, "PEM client certificate (chain).");
  b.key("client_key", &o::client_key, "PEM client private key.");
  b.key("insecure", &o::insecure, "Skip certificate and hostname verification (testing only).");
  b.key("keep_alive", &o::keep_alive,
        "Reuse one connection between runs when the server allows it.");
  return {.spec = b.build([](o opts) { return checks::http(std::move(opts)); }),
          .schemes = {"http", "https"},
          .from_url = [](std::string_view url) { return checks::http({.url = std::string{url}}); }};
}

}  // namespace vitals::checks
