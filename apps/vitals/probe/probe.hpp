#pragma once

namespace vitals::cli {

/// Exit codes of `vitals probe`. 2 is never used: Docker reserves it ("do not use this exit
/// code"), and Kubernetes exec probes only distinguish zero from non-zero.
enum probe_exit : int {
  healthy = 0,       ///< 2xx
  unhealthy = 1,     ///< any other HTTP status (3xx, 4xx, 5xx)
  timed_out = 3,     ///< no complete status line before --timeout (connect, TLS or response)
  refused = 4,       ///< connection refused, reset or unreachable
  bad_response = 5,  ///< the peer answered, but not with an HTTP/1.x status line
  dns_failure = 6,   ///< the host name did not resolve
  tls_failure = 7,   ///< handshake or certificate failure, or OpenSSL unavailable
  usage_error = 64,  ///< bad command line (EX_USAGE)
  internal = 70,     ///< resource problem on our side (EX_SOFTWARE)
};

/// `vitals probe [options] URL`. `argv[0]` is "probe". Returns the exit code; never throws,
/// never allocates on the heap, never loads OpenSSL unless the URL is https.
///
///     char* args[] = {"probe", "--timeout", "2s", "http://127.0.0.1:8081/readyz"};
///     return vitals::cli::probe_main(4, args);   // 0 when /readyz answers 2xx
int probe_main(int argc, char** argv) noexcept;

}  // namespace vitals::cli
