#pragma once

#include <cstddef>
#include <string_view>

namespace vitals::cli {

/// Result of scanning the start of an HTTP/1.x response.
enum class status_scan {
  need_more,  ///< the final status line is not complete yet: read more
  done,       ///< `code` holds the final status (interim 1xx responses skipped)
  bad,        ///< not an HTTP/1.x response (or a head larger than the limit)
};

/// Finds the final status code in the bytes received so far. Only the status line is
/// validated (`HTTP/1.x SP 3DIGIT [SP reason] CRLF`); interim `1xx` responses (e.g. 103 Early
/// Hints) are skipped up to their blank line. Headers and body of the final response are not
/// needed to judge health, so they are not parsed.
///
///     int code; std::size_t line_end;
///     scan_status("HTTP/1.1 503 Service Unavailable\r\n", code, line_end) == status_scan::done
[[nodiscard]] status_scan scan_status(std::string_view received, int& code,
                                      std::size_t& line_end) noexcept;

}  // namespace vitals::cli
