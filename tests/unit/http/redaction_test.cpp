#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rig.hpp"

namespace {

using vitals_test::rig;

// Canaries: none of these may appear in any response, at any verbosity, to any caller.
constexpr std::string_view token = "tok-CANARY-5b1e";
constexpr std::string_view password = "hunter2-CANARY";
constexpr std::string_view userinfo_pw = "s3cr3t-CANARY";

std::vector<std::string> targets() {
  std::vector<std::string> out;
  for (const char* base : {"/livez", "/readyz", "/startupz"}) {
    out.push_back(base);
    out.push_back(std::string{base} + "?verbose");
    out.push_back(std::string{base} + "?verbose&exclude=nope");
  }
  for (const char* name : {"db", "echo", "loop"}) {
    for (const char* probe : {"/livez/", "/readyz/", "/startupz/"}) {
      out.push_back(probe + std::string{name});
      out.push_back(probe + std::string{name} + "?verbose");
    }
    out.push_back("/health/" + std::string{name});
  }
  out.push_back("/health");
  return out;
}

void expect_clean(const rig& r, const std::string& what) {
  const std::string bearer = "Bearer " + std::string{token};
  for (const auto& t : targets()) {
    for (const std::string& auth : {std::string{}, std::string{"Bearer wrong"}, bearer}) {
      for (const char* method : {"GET", "HEAD"}) {
        const auto res = r.get(t, auth, method);
        std::string all = res.body;
        for (const auto& [n, v] : res.headers) all += n + ": " + v + "\n";
        const auto w = r.serve(t, auth, method);
        all.append(w.head).append(w.body);
        for (std::string_view canary : {token, password, userinfo_pw}) {
          EXPECT_EQ(all.find(canary), std::string::npos)
              << what << " leaks " << canary << " at " << t << " (auth '" << auth.size() << "')";
        }
      }
    }
  }
}

struct canary_rig : rig {
  explicit canary_rig(vitals::http::handler_options o) {
    const std::string pw{password};
    const std::string up{userinfo_pw};
    const std::string tok{token};
    add("db",
        vitals::fail("connect postgres://app:" + up +
                     "@db.internal:5432/orders failed: "
                     "password=" +
                     pw)
            .observe("postgresql://app:" + up + "@db.internal/orders", "dsn")
            .detail("password", pw)
            .detail("url", "redis://:" + up + "@cache:6379"),
        {.probes = vitals::ready | vitals::startup});
    // A check that echoes the Authorization header it was given: only the handler knows this
    // token, so only the handler's own scrubbing can catch it.
    add("echo",
        vitals::warn("upstream said: token " + tok + " rejected")
            .observe("x-" + tok, "")
            .detail("seen", tok),
        {.probes = vitals::ready, .critical = false});
    add("loop", vitals::fail("lag; last caller sent " + tok), {.probes = vitals::live});
    start(std::move(o), {.service_id = "orders", .description = "echo " + tok});
    run();
  }
};

TEST(Redaction, NoCanaryInAnyEndpointWithAuthorizedPolicy) {
  canary_rig r{{.token = std::string{token}}};
  // The authorized caller does see the (scrubbed) outputs, so the test can fail.
  const auto res = r.get("/readyz?verbose", "Bearer " + std::string{token});
  EXPECT_NE(res.body.find("db.internal"), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("upstream said"), std::string::npos) << res.body;
  const auto health = r.get("/health", "Bearer " + std::string{token});
  EXPECT_NE(health.body.find("***"), std::string::npos) << health.body;
  expect_clean(r, "authorized policy");
}

TEST(Redaction, NoCanaryInAnyEndpointWhenEveryoneSeesDetails) {
  canary_rig r{{.token = std::string{token}, .details = vitals::http::detail_policy::everyone}};
  EXPECT_NE(r.get("/health").body.find("upstream said"), std::string::npos);
  expect_clean(r, "everyone policy");
}

}  // namespace
