#include "vitals/status.hpp"

namespace vitals {

std::string_view to_string(status s) noexcept {
  switch (s) {
    case status::pass:
      return "pass";
    case status::warn:
      return "warn";
    case status::fail:
      return "fail";
    case status::unknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view to_string(failure_kind k) noexcept {
  switch (k) {
    case failure_kind::none:
      return "none";
    case failure_kind::timeout:
      return "timeout";
    case failure_kind::refused:
      return "refused";
    case failure_kind::dns:
      return "dns";
    case failure_kind::tls:
      return "tls";
    case failure_kind::auth:
      return "auth";
    case failure_kind::protocol:
      return "protocol";
    case failure_kind::assertion:
      return "assertion";
    case failure_kind::internal:
      return "internal";
    case failure_kind::stale:
      return "stale";
  }
  return "internal";
}

std::string_view to_string(probe p) noexcept {
  switch (p) {
    case probe::live:
      return "live";
    case probe::ready:
      return "ready";
    case probe::startup:
      return "startup";
  }
  return "ready";
}

}  // namespace vitals
