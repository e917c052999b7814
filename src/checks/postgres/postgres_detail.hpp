#pragma once
// Pure pieces of the postgres check, exposed for unit tests. Private.

#include <string>
#include <string_view>

#include "vitals/status.hpp"

namespace vitals::checks::detail {

/// A classified libpq failure: kind plus a short, single-line text.
struct pg_failure {
  failure_kind kind = failure_kind::protocol;
  std::string text;
};

/// Classifies a connection-phase message of libpq (PQerrorMessage), e.g.
/// `connection to server at "127.0.0.1", port 5432 failed: FATAL:  password authentication
/// failed for user "app"` → {auth, `password authentication failed for user "app"`}.
/// `where` ("127.0.0.1:5432") is used to word refusals: "connection refused (127.0.0.1:5432)".
[[nodiscard]] pg_failure classify_pg_connect_error(std::string_view message,
                                                   std::string_view where);

/// The kind of a query failure from its SQLSTATE: class 28 → auth, class 08 and 57P01-57P03
/// (shutdown, cannot connect now) → refused, anything else → assertion.
[[nodiscard]] failure_kind kind_of_sqlstate(std::string_view sqlstate) noexcept;

}  // namespace vitals::checks::detail
