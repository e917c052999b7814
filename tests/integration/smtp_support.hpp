#pragma once
// The SMTP server of scripts/test-servers.sh (aiosmtpd) as the smtp check and email notifier
// tests see it: its listeners, credentials and CA from the environment, and what it delivered.

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "db_support.hpp"

namespace vitals::test {

struct smtp_server {
  std::string starttls, smtps, plain, noauth;  ///< URLs of the four listeners
  std::string user, password, ca, maildir;
  pid_t pid = 0;
};

inline smtp_server smtp_from_env(std::string starttls) {
  return {.starttls = std::move(starttls),
          .smtps = env_or_empty("VITALS_TEST_SMTP_SMTPS"),
          .plain = env_or_empty("VITALS_TEST_SMTP_PLAIN"),
          .noauth = env_or_empty("VITALS_TEST_SMTP_NOAUTH"),
          .user = env_or_empty("VITALS_TEST_SMTP_USER"),
          .password = env_or_empty("VITALS_TEST_SMTP_PASSWORD"),
          .ca = env_or_empty("VITALS_TEST_SMTP_CA"),
          .maildir = env_or_empty("VITALS_TEST_SMTP_MAILDIR"),
          .pid = static_cast<pid_t>(std::stol("0" + env_or_empty("VITALS_TEST_SMTP_PID")))};
}

/// `VITALS_SMTP_SERVER(s);` declares `const smtp_server s`, or skips / fails like
/// VITALS_SERVER_ENV when the servers are not there.
#define VITALS_SMTP_SERVER(s)                               \
  VITALS_SERVER_ENV(s##_url_, "VITALS_TEST_SMTP_STARTTLS"); \
  const ::vitals::test::smtp_server s = ::vitals::test::smtp_from_env(s##_url_)

/// A recipient no other test (or run) uses: "<local>-<pid>-<ns>@example.test".
inline std::string unique_address(const std::string& local) {
  return local + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) +
         "@example.test";
}

/// The messages delivered to `rcpt`, in arrival order (each file: the server's X-Test-* lines,
/// then the message).
inline std::vector<std::string> delivered_to(const std::string& maildir, const std::string& rcpt) {
  std::vector<std::pair<std::string, std::string>> found;
  for (const auto& f : std::filesystem::directory_iterator(maildir + "/new")) {
    std::ifstream in(f.path(), std::ios::binary);
    std::string text{std::istreambuf_iterator<char>(in), {}};
    if (text.find("X-Test-Envelope-To: " + rcpt + "\r\n") != std::string::npos) {
      found.emplace_back(f.path().filename().string(), std::move(text));
    }
  }
  std::sort(found.begin(), found.end());  // names start with the arrival time (ns)
  std::vector<std::string> out;
  out.reserve(found.size());
  for (auto& [name, text] : found) out.push_back(std::move(text));
  return out;
}

}  // namespace vitals::test
