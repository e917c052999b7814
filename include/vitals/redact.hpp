#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vitals {

/// Removes secrets from text before it reaches any output (bodies, logs, metrics, CLI).
/// Two layers: exact secrets registered by checks (passwords, tokens, whole connection strings),
/// and patterns that are always scrubbed: URL userinfo (`postgres://user:pw@host` →
/// `postgres://user:***@host`), `password=...`-style key/value pairs, and `Bearer` tokens.
///
///     vitals::redactor r; r.add_secret("hunter2");
///     r.scrub("auth failed for hunter2") == "auth failed for ***";
class redactor {
 public:
  /// Secrets shorter than 3 characters are ignored (they would mask ordinary text).
  void add_secret(std::string secret);
  [[nodiscard]] std::string scrub(std::string_view text) const;
  /// True if a detail key names a secret (password, passwd, secret, token, key, auth, ...):
  /// its value is masked whole.
  [[nodiscard]] static bool is_secret_key(std::string_view key) noexcept;
  [[nodiscard]] const std::vector<std::string>& secrets() const noexcept { return secrets_; }

 private:
  std::vector<std::string> secrets_{};
  std::vector<std::string> encoded_{};  // percent-encoded form of each secret ("" if the same)
};

/// Pattern-only scrubbing (no registered secrets): URL userinfo, key=value passwords, bearer.
[[nodiscard]] std::string scrub_patterns(std::string_view text);

/// `scheme://user:password@host/...` → `scheme://user:***@host/...`; other text unchanged.
[[nodiscard]] std::string redact_url(std::string_view url);

}  // namespace vitals
