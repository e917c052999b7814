#pragma once
// Seam for tests: a DNS check whose blocking lookup is injected (e.g. one that hangs on purpose).

#include <memory>

#include "common/resolver.hpp"
#include "vitals/checks/dns.hpp"

namespace vitals::checks::detail {

/// vitals::checks::dns with `lookup` in place of getaddrinfo.
[[nodiscard]] std::shared_ptr<vitals::check> make_dns_check(dns_options options,
                                                            bounded_resolver::lookup_fn lookup);

}  // namespace vitals::checks::detail
