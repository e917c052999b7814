#include "probe/http_status.hpp"

#include "probe/sv.hpp"

namespace vitals::cli {

namespace {

constexpr std::string_view prefix = "HTTP/1.";

// Checks whatever prefix of a status line has arrived, so garbage is rejected after its first
// bytes instead of waiting for a CRLF that may never come.
bool plausible_start(std::string_view s) noexcept {
  const std::size_t n = s.size() < prefix.size() ? s.size() : prefix.size();
  if (sub(s, 0, n) != sub(prefix, 0, n)) return false;
  if (s.size() > prefix.size() && (s[prefix.size()] < '0' || s[prefix.size()] > '9')) return false;
  if (s.size() > prefix.size() + 1 && s[prefix.size() + 1] != ' ') return false;
  for (std::size_t i = prefix.size() + 2; i < s.size() && i < prefix.size() + 5; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

}  // namespace

status_scan scan_status(std::string_view received, int& code, std::size_t& line_end) noexcept {
  constexpr std::size_t max_head = 16 * 1024;
  std::size_t pos = 0;
  for (;;) {
    const std::string_view rest = sub(received, pos);
    const auto eol = rest.find('\n');
    if (eol == std::string_view::npos) {
      if (!plausible_start(rest)) return status_scan::bad;
      return received.size() > max_head ? status_scan::bad : status_scan::need_more;
    }
    std::string_view line = sub(rest, 0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // "HTTP/1.1 200" is the minimum: version, space, three digits.
    if (line.size() < prefix.size() + 5 || !plausible_start(line)) return status_scan::bad;
    if (line.size() > prefix.size() + 5 && line[prefix.size() + 5] != ' ') return status_scan::bad;
    const int value = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (value < 100 || value > 999) return status_scan::bad;
    if (value >= 200 || value == 101) {
      code = value;
      line_end = pos + eol + 1;
      return status_scan::done;
    }
    // Interim response: skip its header block and look for the next status line.
    const auto blank = rest.find("\r\n\r\n");
    const auto blank_lf = rest.find("\n\n");
    std::size_t skip = std::string_view::npos;
    if (blank != std::string_view::npos) skip = blank + 4;
    if (blank_lf != std::string_view::npos &&
        (skip == std::string_view::npos || blank_lf + 2 < skip))
      skip = blank_lf + 2;
    if (skip == std::string_view::npos) {
      return received.size() > max_head ? status_scan::bad : status_scan::need_more;
    }
    pos += skip;
  }
}

}  // namespace vitals::cli
