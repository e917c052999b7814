// /metrics through the handler: the series of every check and probe from the engine's own
// counters, both exposition formats, who may scrape, requests counted by endpoint and code, and
// no output or secret in any series.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "metrics.hpp"
#include "rig.hpp"

namespace {

using namespace std::chrono_literals;
using vitals_test::header_of;
namespace detail = vitals::http::detail;

constexpr std::string_view token = "Bearer s3cret-token";

vitals::http::response scrape(const vitals_test::rig& r, std::string_view accept = {},
                              std::string_view auth = token, std::string_view method = "GET") {
  std::vector<vitals::http::header> headers;
  if (!auth.empty()) headers.push_back({"Authorization", auth});
  if (!accept.empty()) headers.push_back({"Accept", accept});
  return r.handler().handle({.method = method, .target = "/metrics", .headers = headers});
}

bool has_line(const std::string& body, std::string_view line) {
  return body.find("\n" + std::string{line} + "\n") != std::string::npos ||
         body.rfind(std::string{line} + "\n", 0) == 0;
}

struct metrics_rig : vitals_test::rig {
  explicit metrics_rig(vitals::http::handler_options o = {.token = "s3cret-token"}) {
    add("db", vitals::pass().observe(12, "ms"), {.timeout = 2s});
    add("cache",
        vitals::fail("connection refused to redis://:hunter2@cache:6379",
                     vitals::failure_kind::refused),
        {.critical = false, .timeout = 500ms});
    start(std::move(o), {.service_id = "orders", .version = "1.4.2"});
    run();
  }
};

TEST(MetricsBuckets, BoundsGoFromOneMillisecondToTheTimeout) {
  EXPECT_EQ(vitals::duration_bounds(2s),
            (std::vector<double>{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2}));
  EXPECT_EQ(vitals::duration_bounds(1s),
            (std::vector<double>{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}));
  EXPECT_EQ(vitals::duration_bounds(3ms), (std::vector<double>{0.001, 0.0025, 0.003}));
}

TEST(MetricsBuckets, ARunLandsInTheFirstBucketThatHoldsIt) {
  vitals::run_counters k;
  auto r = vitals::pass();
  r.duration = 3ms;  // (0.0025, 0.005]
  k.count(r, 2s);
  r.duration = 2s;  // exactly the timeout: the last finite bucket
  k.count(r, 2s);
  r.duration = 2001ms;  // a timeout enforced late: +Inf
  k.count(r, 2s);
  EXPECT_EQ(k.duration_buckets[2], 1U);
  EXPECT_EQ(k.duration_buckets[10], 1U);
  EXPECT_EQ(k.duration_buckets[11], 1U);
  EXPECT_EQ(k.by_result[0], 3U);
  EXPECT_EQ(k.duration_sum, 3ms + 2s + 2001ms);
}

// A late start is lag, exported per check (and not a longer duration).
TEST(Metrics, EachCheckExportsTheStartLagOfItsLatestRun) {
  metrics_rig r;  // the first runs started when due
  EXPECT_TRUE(
      has_line(scrape(r).body, R"(vitals_check_start_lag_seconds{check="db",type="custom"} 0)"));
  r.clock().advance(250ms);  // the engine gets to the next runs 250 ms after they were due
  r.run();
  const auto b = scrape(r).body;
  EXPECT_TRUE(has_line(b, R"(vitals_check_start_lag_seconds{check="db",type="custom"} 0.25)")) << b;
  EXPECT_TRUE(has_line(b, R"(vitals_check_start_lag_seconds{check="cache",type="custom"} 0.25)"));
  EXPECT_TRUE(has_line(b, R"(vitals_check_duration_seconds_count{check="db",type="custom"} 2)"));
  EXPECT_TRUE(has_line(
      b, R"(vitals_check_duration_seconds_bucket{check="db",type="custom",le="0.001"} 2)"));
}

TEST(Metrics, EveryCheckHasItsStatusCountersAndHistogram) {
  metrics_rig r;
  r.run();
  const auto m = scrape(r);
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(header_of(m, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& b = m.body;
  EXPECT_TRUE(has_line(b, R"(vitals_check_status{check="db",type="custom",status="pass"} 1)"));
  EXPECT_TRUE(has_line(b, R"(vitals_check_status{check="db",type="custom",status="fail"} 0)"));
  EXPECT_TRUE(has_line(b, R"(vitals_check_status{check="cache",type="custom",status="fail"} 1)"));
  EXPECT_TRUE(has_line(b, R"(vitals_check_critical{check="cache",type="custom"} 0)"));
  EXPECT_TRUE(has_line(b, R"(vitals_check_runs_total{check="db",type="custom",result="pass"} 2)"));
  EXPECT_TRUE(
      has_line(b, R"(vitals_check_runs_total{check="cache",type="custom",result="fail"} 2)"));
  EXPECT_TRUE(
      has_line(b, R"(vitals_check_failures_total{check="cache",type="custom",kind="refused"} 2)"));
  EXPECT_TRUE(has_line(b, R"(vitals_check_consecutive_failures{check="cache",type="custom"} 2)"));
  EXPECT_TRUE(has_line(b, R"(vitals_check_transitions_total{check="db",type="custom"} 1)"));
  // In base units: 12 ms is 0.012 seconds.
  EXPECT_TRUE(
      has_line(b, R"(vitals_check_observed_value{check="db",type="custom",unit="seconds"} 0.012)"));
  EXPECT_TRUE(has_line(b, R"(vitals_check_in_probe{check="db",probe="ready"} 1)"));
  // The histogram ends at each check's own timeout.
  EXPECT_TRUE(
      has_line(b, R"(vitals_check_duration_seconds_bucket{check="db",type="custom",le="2.0"} 2)"));
  EXPECT_TRUE(has_line(
      b, R"(vitals_check_duration_seconds_bucket{check="cache",type="custom",le="0.5"} 2)"));
  EXPECT_EQ(b.find(R"(check="cache",type="custom",le="1.0")"), std::string::npos);
  EXPECT_TRUE(has_line(b, R"(vitals_check_duration_seconds_count{check="db",type="custom"} 2)"));
  // The probe: ready passes (cache is not critical, so it only warns).
  EXPECT_TRUE(has_line(b, R"(vitals_probe_status{probe="ready",status="warn"} 1)"));
  EXPECT_TRUE(has_line(b, R"(vitals_probe_http_code{probe="ready"} 200)"));
  EXPECT_TRUE(has_line(b, R"(vitals_engine_checks 2)"));
  EXPECT_TRUE(has_line(b, R"(vitals_build_info{version=")" VITALS_TEST_VERSION
                          R"(",service_id="orders",service_version="1.4.2"} 1)"));
  EXPECT_TRUE(b.find("process_open_fds ") != std::string::npos);
  EXPECT_EQ(b.find("# EOF"), std::string::npos);
}

TEST(Metrics, NoOutputNoSecretInAnySeries) {
  metrics_rig r;
  const auto m = scrape(r);
  EXPECT_EQ(m.body.find("hunter2"), std::string::npos);
  EXPECT_EQ(m.body.find("redis://"), std::string::npos);
  EXPECT_EQ(m.body.find("connection refused"), std::string::npos);
  EXPECT_EQ(m.body.find("s3cret-token"), std::string::npos);
}

TEST(Metrics, OpenMetricsWhenTheScraperAsksForIt) {
  metrics_rig r;
  const auto om =
      scrape(r, "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");
  ASSERT_EQ(om.status, 200);
  EXPECT_EQ(header_of(om, "Content-Type"),
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
  const std::string& b = om.body;
  ASSERT_GE(b.size(), 6U);
  EXPECT_EQ(b.substr(b.size() - 6), "# EOF\n");
  // Counter families are named without _total, their samples with it; units are declared.
  EXPECT_TRUE(has_line(b, "# TYPE vitals_check_runs counter"));
  EXPECT_TRUE(has_line(b, R"(vitals_check_runs_total{check="db",type="custom",result="pass"} 1)"));
  EXPECT_TRUE(has_line(b, "# UNIT vitals_check_duration_seconds seconds"));
  EXPECT_TRUE(has_line(b, "# TYPE vitals_build info"));
  // Refused with q=0, and by default: the Prometheus text format.
  EXPECT_EQ(header_of(scrape(r, "application/openmetrics-text; q=0"), "Content-Type"),
            detail::prometheus_text);
  EXPECT_EQ(header_of(scrape(r, "*/*"), "Content-Type"), detail::prometheus_text);
}

TEST(Metrics, NegotiationReadsEveryMediaRange) {
  using detail::metrics_format;
  using detail::negotiate_metrics;
  EXPECT_EQ(negotiate_metrics(""), metrics_format::prometheus);
  EXPECT_EQ(negotiate_metrics("text/plain"), metrics_format::prometheus);
  EXPECT_EQ(negotiate_metrics("text/plain, Application/OpenMetrics-Text ; q=0.9"),
            metrics_format::openmetrics);
  EXPECT_EQ(negotiate_metrics("application/openmetrics-text;q=0.0"), metrics_format::prometheus);
  EXPECT_EQ(negotiate_metrics("application/openmetrics-text;version=0.0.1;q=0.75"),
            metrics_format::openmetrics);
}

TEST(Metrics, AnonymousScrapesFollowTheDetailPolicy) {
  metrics_rig authorized;  // details: authorized (the default)
  EXPECT_EQ(scrape(authorized, {}, {}).status, 401);
  EXPECT_EQ(scrape(authorized, {}, "Bearer wrong").status, 401);
  EXPECT_EQ(scrape(authorized).status, 200);

  metrics_rig everyone{{.details = vitals::http::detail_policy::everyone}};
  EXPECT_EQ(scrape(everyone, {}, {}).status, 200);

  metrics_rig nobody{{.token = "s3cret-token", .details = vitals::http::detail_policy::nobody}};
  EXPECT_EQ(scrape(nobody, {}, {}).status, 401);
  EXPECT_EQ(scrape(nobody).status, 200);
}

TEST(Metrics, ExplicitPolicies) {
  metrics_rig open{{.metrics = vitals::http::metrics_policy::everyone}};
  EXPECT_EQ(scrape(open, {}, {}).status, 200);

  metrics_rig strict{{.token = "s3cret-token",
                      .details = vitals::http::detail_policy::everyone,
                      .metrics = vitals::http::metrics_policy::authorized}};
  EXPECT_EQ(scrape(strict, {}, {}).status, 401);
  EXPECT_EQ(scrape(strict).status, 200);
  // A verified client certificate counts as the token does.
  const auto with_cert = strict.handler().handle(
      {.method = "GET", .target = "/metrics", .client_certificate_verified = true});
  EXPECT_EQ(with_cert.status, 200);

  metrics_rig off{{.token = "s3cret-token", .metrics = vitals::http::metrics_policy::off}};
  EXPECT_EQ(scrape(off).status, 404);
  EXPECT_EQ(off.get("/readyz").status, 200);

  metrics_rig only{{.metrics = vitals::http::metrics_policy::everyone, .metrics_only = true}};
  EXPECT_EQ(scrape(only, {}, {}).status, 200);
  EXPECT_EQ(only.get("/readyz").status, 404);
  EXPECT_EQ(only.get("/health").status, 404);
}

TEST(Metrics, HeadAndMethods) {
  metrics_rig r;
  const auto head = scrape(r, {}, token, "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_GT(head.content_length, 0U);
  const auto post = scrape(r, {}, token, "POST");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(header_of(post, "Allow"), "GET, HEAD");
}

TEST(Metrics, RequestsAreCountedByEndpointAndCode) {
  metrics_rig r{{.token = "s3cret-token", .metrics = vitals::http::metrics_policy::everyone}};
  for (int i = 0; i < 3; ++i) static_cast<void>(r.get("/readyz"));
  static_cast<void>(r.get("/readyz/db"));
  static_cast<void>(r.get("/readyz/nope"));
  static_cast<void>(r.get("/nowhere"));
  static_cast<void>(r.get("/livez", {}, "DELETE"));
  const std::string b = scrape(r, {}, {}).body;
  EXPECT_TRUE(has_line(b, R"(vitals_http_requests_total{endpoint="/readyz",code="200"} 3)"));
  EXPECT_TRUE(
      has_line(b, R"(vitals_http_requests_total{endpoint="/readyz/{check}",code="200"} 1)"));
  EXPECT_TRUE(
      has_line(b, R"(vitals_http_requests_total{endpoint="/readyz/{check}",code="404"} 1)"));
  EXPECT_TRUE(has_line(b, R"(vitals_http_requests_total{endpoint="other",code="404"} 1)"));
  EXPECT_TRUE(has_line(b, R"(vitals_http_requests_total{endpoint="/livez",code="405"} 1)"));
}

TEST(Metrics, AScrapeNeverRunsACheck) {
  vitals_test::rig r;
  r.add("db", vitals::pass(), {.mode = vitals::schedule::on_demand});
  r.start({.metrics = vitals::http::metrics_policy::everyone});
  for (int i = 0; i < 5; ++i) static_cast<void>(scrape(r, {}, {}));
  static_cast<void>(r.svc().poll());
  EXPECT_EQ(r.svc().current()->checks[0].runs, 0U);
  EXPECT_FALSE(r.svc().current()->checks[0].in_flight);
  EXPECT_TRUE(has_line(scrape(r, {}, {}).body,
                       R"(vitals_check_status{check="db",type="custom",status="unknown"} 1)"));
}

TEST(Metrics, CountersSurviveASeededRestart) {
  metrics_rig r;
  const auto old = r.svc().current();
  vitals::registry reg;
  reg.add("db", [](const vitals::context&) { return vitals::pass(); }, {.timeout = 2s});
  vitals::service next{std::move(reg),
                       {.clock = std::make_shared<vitals::testing::manual_clock>(),
                        .on_event = [](const vitals::event&) {},
                        .seed_states = {old->checks.shared(old->checks.index_of("db"))}}};
  const auto& c = next.current()->checks[0];
  EXPECT_EQ(c.counters, old->find("db")->counters);
  EXPECT_EQ(c.counters.by_result[0], 1U);
}

TEST(Metrics, LabelValuesAreEscaped) {
  std::string out;
  detail::append_label_value(out, "a\"b\\c\nd\x01\xc3\xa9");
  EXPECT_EQ(out, "a\\\"b\\\\c\\nd___");
}

}  // namespace
