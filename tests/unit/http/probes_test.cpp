#include <gtest/gtest.h>

#include <string>

#include "rig.hpp"

namespace {

using vitals_test::header_of;
using vitals_test::rig;

constexpr std::string_view token = "tok-probes-42";
const std::string bearer = "Bearer " + std::string{token};

TEST(Probes, AllPassingIsOkWithProbeHeaders) {
  rig r;
  r.add("api", vitals::pass());
  r.add("db", vitals::pass());
  r.start();
  r.run();
  for (const char* target : {"/livez", "/readyz", "/startupz"}) {
    const auto res = r.get(target);
    EXPECT_EQ(res.status, 200) << target;
    EXPECT_EQ(res.body, "ok") << target;
    EXPECT_EQ(res.content_length, 2U);
    EXPECT_EQ(header_of(res, "Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(header_of(res, "Cache-Control"), "no-store");
    EXPECT_EQ(header_of(res, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(header_of(res, "Content-Length"), "");  // the framework adds it
  }
}

TEST(Probes, ProbeWithoutChecksPasses) {
  rig r;
  r.add("db", vitals::fail("down"), {.probes = vitals::ready});
  r.start();
  r.run();
  EXPECT_EQ(r.get("/livez").status, 200);
  EXPECT_EQ(r.get("/livez?verbose").body, "livez check passed\n");
  EXPECT_EQ(r.get("/readyz").status, 503);
}

// probes: [] is a monitored target: listed in /health and /metrics, in no probe, and not a part
// of this service's own status.
TEST(Probes, AMonitoredTargetInNoProbeMovesNoProbeAndNotTheTopLevel) {
  rig r;
  r.add("db", vitals::pass());
  r.add("remote", vitals::fail("connection refused", vitals::failure_kind::refused),
        {.probes = vitals::probe_set{}});
  r.start();
  r.run();
  for (const char* target : {"/livez", "/readyz", "/startupz"}) {
    EXPECT_EQ(r.get(target).status, 200) << target;
    EXPECT_EQ(r.get(std::string{target} + "?verbose").body.find("remote"), std::string::npos);
  }
  const auto health = r.get("/health");
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_TRUE(health.body.starts_with(R"({"status":"pass")")) << health.body;
  EXPECT_NE(health.body.find(R"("remote")"), std::string::npos) << health.body;
  EXPECT_EQ(r.get("/health/remote").status, 503);
}

TEST(Probes, FailureListsFailingChecksLikeTheApiserver) {
  rig r;
  r.add("api", vitals::pass());
  r.add("postgres", vitals::fail("password authentication failed"));
  r.start({.token = std::string{token}});
  r.run();
  const auto res = r.get("/readyz");
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.body, "[-]postgres failed: reason withheld\nreadyz check failed\n");
  EXPECT_EQ(res.content_length, res.body.size());
  EXPECT_EQ(r.get("/readyz", bearer).body,
            "[-]postgres failed: password authentication failed\nreadyz check failed\n");
}

TEST(Probes, UnknownBeforeFirstRunIsNotReady) {
  rig r;
  r.add("db", vitals::pass());
  r.start({.token = std::string{token}});
  // No run yet: the check's state is unknown.
  const auto res = r.get("/readyz?verbose");
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.body, "[-]db failed: reason withheld\nreadyz check failed\n");
  EXPECT_EQ(r.get("/readyz", bearer).body, "[-]db failed: not checked yet\nreadyz check failed\n");
  r.run();
  EXPECT_EQ(r.get("/readyz").status, 200);
}

TEST(Probes, UnknownBeforeFirstRunDoesNotFailLiveness) {
  // Liveness never fails because the process is young; readiness and startup do until their
  // first results.
  rig r;
  r.add("loop", vitals::pass(), {.probes = vitals::live | vitals::ready | vitals::startup});
  r.start();
  EXPECT_EQ(r.get("/livez").status, 200);
  EXPECT_EQ(r.get("/livez").body, "ok");
  EXPECT_EQ(r.get("/livez?verbose").body, "[+]loop ok (not checked yet)\nlivez check passed\n");
  EXPECT_EQ(r.get("/livez/loop").status, 200);
  EXPECT_EQ(r.get("/readyz").status, 503);
  EXPECT_EQ(r.get("/startupz").status, 503);
  r.run();
  for (const char* t : {"/livez", "/readyz", "/startupz"}) EXPECT_EQ(r.get(t).status, 200) << t;
}

TEST(Probes, VerboseSpellings) {
  rig r;
  r.add("api", vitals::pass());
  r.add("db", vitals::fail("down"));
  r.start();
  r.run();
  const std::string expected = "[+]api ok\n[-]db failed: reason withheld\nreadyz check failed\n";
  for (const char* t : {"/readyz?verbose", "/readyz?verbose=1", "/readyz?verbose=true",
                        "/readyz?verbose=", "/readyz?x=1&verbose", "/readyz?%76erbose"}) {
    EXPECT_EQ(r.get(t).body, expected) << t;
  }
  const std::string terse = "[-]db failed: reason withheld\nreadyz check failed\n";
  for (const char* t :
       {"/readyz", "/readyz?", "/readyz?verbose=false", "/readyz?verbose=0", "/readyz?verbosely"}) {
    EXPECT_EQ(r.get(t).body, terse) << t;
  }
}

TEST(Probes, VerbosePassingListsEveryCheck) {
  rig r;
  r.add("api", vitals::pass());
  r.add("db", vitals::pass());
  r.add("local", vitals::pass(), {.probes = vitals::live});
  r.start();
  r.run();
  const auto res = r.get("/readyz?verbose");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "[+]api ok\n[+]db ok\nreadyz check passed\n");
  EXPECT_EQ(r.get("/livez?verbose").body, "[+]local ok\nlivez check passed\n");
}

TEST(Probes, ExcludeIsRepeatableAndIgnoresUnknownNames) {
  rig r;
  r.add("api", vitals::pass());
  r.add("db", vitals::fail("down"));
  r.add("cache", vitals::fail("down"));
  r.start();
  r.run();
  EXPECT_EQ(r.get("/readyz?exclude=db").status, 503);
  const auto both = r.get("/readyz?exclude=db&exclude=cache");
  EXPECT_EQ(both.status, 200);
  EXPECT_EQ(both.body, "ok");
  EXPECT_EQ(r.get("/readyz?exclude=%64b&exclude=cach%65").status, 200);
  EXPECT_EQ(r.get("/readyz?exclude=db&exclude=cache&verbose").body,
            "[+]api ok\n[+]db excluded: ok\n[+]cache excluded: ok\nreadyz check passed\n");
  // Unknown names are ignored (not an error), and said so in verbose output.
  const auto unknown = r.get("/readyz?exclude=db&exclude=cache&exclude=nope&verbose");
  EXPECT_EQ(unknown.status, 200);
  EXPECT_EQ(unknown.body,
            "[+]api ok\n[+]db excluded: ok\n[+]cache excluded: ok\n"
            "warn: some health checks cannot be excluded: no matches for \"nope\"\n"
            "readyz check passed\n");
  EXPECT_EQ(r.get("/readyz?exclude=db&exclude=cache&exclude=nope").body, "ok");
  // Names that cannot be check names are not echoed back.
  const auto hostile = r.get("/readyz?verbose&exclude=db&exclude=cache&exclude=%3Cscript%3E");
  EXPECT_EQ(hostile.body,
            "[+]api ok\n[+]db excluded: ok\n[+]cache excluded: ok\nreadyz check passed\n");
}

TEST(Probes, OneCheckByPath) {
  rig r;
  r.add("api", vitals::pass());
  r.add("db", vitals::fail("down"));
  r.add("local", vitals::pass(), {.probes = vitals::live | vitals::ready});
  r.start({.token = std::string{token}});
  r.run();
  const auto ok = r.get("/readyz/api");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "ok");
  EXPECT_EQ(r.get("/readyz/api?verbose").body, "[+]api ok\nreadyz/api check passed\n");
  const auto bad = r.get("/readyz/db");
  EXPECT_EQ(bad.status, 503);
  EXPECT_EQ(bad.body, "[-]db failed: reason withheld\nreadyz/db check failed\n");
  EXPECT_EQ(r.get("/readyz/db", bearer).body, "[-]db failed: down\nreadyz/db check failed\n");
  EXPECT_EQ(r.get("/readyz/%64b").status, 503);  // percent-decoded
  EXPECT_EQ(r.get("/livez/local").status, 200);
  // A check that exists but is not in that probe, and a check that does not exist: 404.
  for (const char* t :
       {"/livez/db", "/startupz/local", "/readyz/nope", "/readyz/", "/readyz/db/x"}) {
    const auto res = r.get(t);
    EXPECT_EQ(res.status, 404) << t;
    EXPECT_EQ(res.body, "404 page not found\n") << t;
  }
}

TEST(Probes, NonCriticalFailureWarnsButStaysUp) {
  rig r;
  r.add("api", vitals::pass());
  r.add("cache", vitals::fail("redis down"), {.critical = false});
  r.add("queue", vitals::warn("backlog 12000"));
  r.start({.token = std::string{token}});
  r.run();
  const auto res = r.get("/readyz");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "ok");
  EXPECT_EQ(r.get("/readyz?verbose").body,
            "[+]api ok\n[+]cache ok (warn: reason withheld)\n[+]queue ok (warn: reason withheld)\n"
            "readyz check passed\n");
  EXPECT_EQ(r.get("/readyz?verbose", bearer).body,
            "[+]api ok\n[+]cache ok (warn: redis down)\n[+]queue ok (warn: backlog 12000)\n"
            "readyz check passed\n");
  // Asked for by name, the non-critical check answers for itself.
  EXPECT_EQ(r.get("/readyz/cache").status, 503);
  EXPECT_EQ(r.get("/readyz/queue").status, 200);
}

TEST(Probes, StatusCodesAreConfigurable) {
  rig r;
  r.add("db", vitals::fail("down"));
  r.add("queue", vitals::warn("slow"));
  r.start({.codes = {.pass = 200, .warn = 299, .fail = 500, .unknown = 502}});
  r.run();
  EXPECT_EQ(r.get("/readyz").status, 500);
  EXPECT_EQ(r.get("/readyz?exclude=db").status, 299);
  EXPECT_EQ(r.get("/readyz?exclude=db&exclude=queue").status, 200);
  EXPECT_EQ(r.serve("/readyz").head.substr(0, 34), "HTTP/1.1 500 Internal Server Error");
}

TEST(Probes, InvalidStatusCodesAreRejected) {
  rig r;
  r.add("db", vitals::pass());
  r.start();
  EXPECT_THROW(vitals::http::handler(r.svc(), {.codes = {.fail = 99}}), std::invalid_argument);
  EXPECT_THROW(vitals::http::handler(r.svc(), {.codes = {.warn = 600}}), std::invalid_argument);
}

TEST(Probes, UnknownCodeUsedBeforeFirstRun) {
  rig r;
  r.add("db", vitals::pass());
  r.start({.codes = {.unknown = 500}});
  EXPECT_EQ(r.get("/readyz").status, 500);
}

TEST(Probes, StartupLatchesOnceEveryStartupCheckPassed) {
  rig r;
  r.add("migrations", vitals::fail("pending"), {.probes = vitals::startup | vitals::ready});
  r.start({.token = std::string{token}});
  r.run();
  EXPECT_EQ(r.get("/startupz").status, 503);
  EXPECT_EQ(r.get("/startupz").body,
            "[-]migrations failed: reason withheld\nstartupz check failed\n");
  r.at("migrations").set(vitals::pass());
  r.run();
  EXPECT_EQ(r.get("/startupz").status, 200);
  r.at("migrations").set(vitals::fail("lock lost"));
  r.run();
  ASSERT_EQ(r.svc().current()->find("migrations")->reported.status, vitals::status::fail);
  // Latched: still 200, and the verbose line agrees with the code.
  const auto res = r.get("/startupz?verbose", bearer);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "[+]migrations ok (warn: lock lost)\nstartupz check passed\n");
  EXPECT_EQ(r.get("/startupz/migrations").status, 200);
  EXPECT_EQ(r.get("/readyz").status, 503);
}

TEST(Probes, ShutdownFailsReadinessAtOnceButNotLiveness) {
  rig r;
  r.add("db", vitals::pass());
  r.add("loop", vitals::pass(), {.probes = vitals::live});
  r.start({.token = std::string{token}});
  r.run();
  EXPECT_EQ(r.get("/readyz").status, 200);
  r.svc().begin_shutdown();
  const auto res = r.get("/readyz");
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.body, "[-]shutdown failed: reason withheld\nreadyz check failed\n");
  EXPECT_EQ(r.get("/readyz?verbose", bearer).body,
            "[+]db ok\n[-]shutdown failed: process is shutting down\nreadyz check failed\n");
  EXPECT_EQ(r.get("/livez").status, 200);
  EXPECT_EQ(r.get("/livez").body, "ok");
}

TEST(Probes, BodiesStayUnderOneKibWithManyFailingChecks) {
  rig r;
  for (int i = 0; i < 100; ++i) {
    char name[40];
    std::snprintf(name, sizeof name, "dependency-number-%03d", i);
    r.add(name, vitals::fail(std::string(300, 'x') + " the reason"));
  }
  r.start({.token = std::string{token}});
  r.run();
  for (const char* t : {"/readyz", "/readyz?verbose", "/readyz?verbose&exclude=nope"}) {
    for (const std::string& auth : {std::string{}, bearer}) {
      const auto res = r.get(t, auth);
      EXPECT_EQ(res.status, 503);
      EXPECT_LT(res.body.size(), 1024U) << t;
      EXPECT_TRUE(res.body.ends_with("readyz check failed\n")) << res.body;
      // Every line is whole; the lines that did not fit are counted, none silently dropped.
      std::size_t listed = 0;
      std::size_t more = 0;
      std::size_t pos = 0;
      while (pos < res.body.size()) {
        const std::size_t eol = res.body.find('\n', pos);
        ASSERT_NE(eol, std::string::npos);
        const std::string line = res.body.substr(pos, eol - pos);
        if (line.starts_with("[-]dependency-number-")) {
          ++listed;
        } else if (line.starts_with("... ")) {
          ASSERT_TRUE(line.ends_with(" more"));
          more = std::stoul(line.substr(4));
        }
        pos = eol + 1;
      }
      EXPECT_GT(listed, 0U);
      EXPECT_GT(more, 0U);
      // With an unmatched exclusion the cut lines also include its "warn:" line.
      const std::size_t warn_lines = std::string_view{t}.find("nope") != std::string_view::npos;
      EXPECT_EQ(listed + more, 100U + warn_lines) << t << auth;
    }
  }
  // Long outputs are cut on the line itself, which never grows past a bounded size.
  const auto one = r.get("/readyz/dependency-number-007", bearer);
  EXPECT_LT(one.body.size(), 300U);
  EXPECT_NE(one.body.find("x..."), std::string::npos);
}

TEST(Probes, OutputWithNewlinesStaysOnOneLine) {
  rig r;
  r.add("db", vitals::fail("line one\nline two\r\n[+]fake ok"));
  r.start({.token = std::string{token}});
  r.run();
  EXPECT_EQ(r.get("/readyz", bearer).body,
            "[-]db failed: line one line two  [+]fake ok\nreadyz check failed\n");
}

}  // namespace
