// `vitals wait` against the real servers of scripts/test-servers.sh (compiled once per server;
// VITALS_CLI_SUITE names the suite so that test names stay unique). Skipped when the variable
// is absent, unless VITALS_REQUIRE_SERVERS=1 (then it fails).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "run_process.hpp"

namespace vitals::cli::testing {
namespace {

using namespace std::chrono_literals;

std::string server_url() {
  const char* v = std::getenv(VITALS_CLI_SERVER_ENV);
  if (v == nullptr || *v == '\0') return {};
  std::string url = v;
  if (url.find("://") == std::string::npos) url = VITALS_CLI_SERVER_SCHEME "://" + url;
  return url;
}

bool require_servers() {
  const char* v = std::getenv("VITALS_REQUIRE_SERVERS");
  return v != nullptr && std::string{v} == "1";
}

std::string password_of(const std::string& url) {
  const auto scheme = url.find("://");
  const auto at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos) return {};
  const auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return {};
  return url.substr(colon + 1, at - colon - 1);
}

TEST(VITALS_CLI_SUITE, up_server_passes_at_once_and_secrets_stay_hidden) {
  const std::string url = server_url();
  if (url.empty()) {
    if (require_servers()) FAIL() << VITALS_CLI_SERVER_ENV " is not set";
    GTEST_SKIP() << VITALS_CLI_SERVER_ENV " not set (scripts/test-servers.sh start)";
  }
  const auto r = run_process({VITALS_CLI_BIN, "wait", "--timeout", "15s", url}, 30s,
                             {"VITALS_TOOL=" VITALS_CLI_TOOL_BIN});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(r.elapsed, 10s);
  const std::string pw = password_of(url);
  if (pw.size() >= 3) {
    EXPECT_EQ(r.err.find(pw), std::string::npos);
    EXPECT_EQ(r.out.find(pw), std::string::npos);
  }
}

#ifdef VITALS_CLI_SERVER_HAS_PASSWORD
TEST(VITALS_CLI_SUITE, wrong_password_is_reported_not_hidden_behind_a_timeout) {
  const std::string url = server_url();
  if (url.empty()) {
    if (require_servers()) FAIL() << VITALS_CLI_SERVER_ENV " is not set";
    GTEST_SKIP() << VITALS_CLI_SERVER_ENV " not set";
  }
  const std::string pw = password_of(url);
  if (pw.empty()) GTEST_SKIP() << "server URL has no password";
  std::string bad = url;
  bad.replace(bad.find(pw), pw.size(), "wrong-password-xyz");
  const auto r = run_process({VITALS_CLI_BIN, "wait", "--timeout", "2s", bad}, 30s,
                             {"VITALS_TOOL=" VITALS_CLI_TOOL_BIN});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("auth"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("wrong-password-xyz"), std::string::npos) << r.err;
}
#endif

}  // namespace
}  // namespace vitals::cli::testing
