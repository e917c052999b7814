#include "tool/url_checks.hpp"

#include <stdexcept>
#include <string>

#include "probe/url.hpp"
#include "vitals/checks/http.hpp"
#include "vitals/checks/memcached.hpp"
#include "vitals/checks/mysql.hpp"
#include "vitals/checks/postgres.hpp"
#include "vitals/checks/redis.hpp"
#include "vitals/checks/tcp.hpp"
#include "vitals/redact.hpp"

namespace vitals::cli {

namespace {

std::string lower(std::string_view s) {
  std::string out{s};
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

checks::tcp_options parse_tcp(std::string_view url, const std::string& shown) {
  // Same authority syntax as http: reuse the probe's parser on an http:// spelling.
  const std::string as_http = "http://" + std::string{url.substr(6)};
  url_parts parts;
  const char* error = nullptr;
  if (!parse_http_url(as_http, parts, error) || !parts.explicit_port) {
    throw std::invalid_argument(shown + ": expected tcp://host:port" +
                                (error != nullptr ? std::string{" ("} + error + ")" : ""));
  }
  return checks::tcp_options{.host = std::string{parts.host}, .port = parts.port};
}

}  // namespace

dependency make_dependency(std::string_view url) {
  dependency d;
  d.shown = redact_url(url);
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    throw std::invalid_argument(d.shown + ": not a URL (expected scheme://...)");
  }
  const std::string scheme = lower(url.substr(0, sep));
  const std::string text{url};
  if (scheme == "tcp") {
    d.type = "tcp";
    d.impl = checks::tcp(parse_tcp(url, d.shown));
  } else if (scheme == "http" || scheme == "https") {
    d.type = "http";
    d.impl = checks::http({.url = text});
  } else if (scheme == "postgres" || scheme == "postgresql") {
    d.type = "postgres";
    d.impl = checks::postgres({.url = text});
  } else if (scheme == "redis" || scheme == "rediss") {
    d.type = "redis";
    d.impl = checks::redis({.url = text});
  } else if (scheme == "mysql" || scheme == "mariadb") {
    d.type = "mysql";
    d.impl = checks::mysql({.url = text});
  } else if (scheme == "memcached") {
    d.type = "memcached";
    d.impl = checks::memcached({.address = text});
  } else {
    throw std::invalid_argument(d.shown + ": unknown scheme '" + scheme +
                                "' (postgres, redis, tcp, http, https, mysql, memcached)");
  }
  return d;
}

}  // namespace vitals::cli
