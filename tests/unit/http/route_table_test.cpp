// The route table (routes.hpp): rows added by a test are served through the same dispatch as
// the built-in endpoints, 405/Allow come from the rows, HEAD, tokens and the prefix apply to
// every row.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "handler_impl.hpp"
#include "rig.hpp"

namespace {

namespace detail = vitals::http::detail;
using vitals::http::wire_response;

wire_response hello(const detail::route_call& c) {
  return detail::route_call::owned(
      detail::make_typed(200, detail::text_plain, "hello " + std::string{c.name}));
}

wire_response posted(const detail::route_call&) {
  return detail::route_call::owned(detail::make_typed(202, detail::text_plain, "posted"));
}

// The readiness of the service, answered from the latest snapshot like the built-in rows.
wire_response ready_word(const detail::route_call& c) {
  const auto snap = c.svc.current();
  const bool ok = is_ok(snap->probe_status(vitals::probe::ready));
  return detail::route_call::owned(
      detail::make_typed(200, detail::text_plain, std::string{ok ? "up" : "down"}));
}

struct table_rig : vitals_test::rig {
  explicit table_rig(std::vector<detail::route> extra, vitals::http::handler_options o = {}) {
    add("db", vitals::pass());
    start();
    run();
    std::vector<detail::route> rows = detail::default_routes();
    rows.insert(rows.end(), extra.begin(), extra.end());
    impl = std::make_unique<detail::handler_impl>(
        std::shared_ptr<vitals::service>(std::shared_ptr<void>{}, &svc()), std::move(o),
        std::move(rows));
  }
  [[nodiscard]] wire_response at(std::string_view target, std::string_view method = "GET",
                                 std::string_view auth = {}) const {
    return impl->serve(method, target, auth);
  }
  [[nodiscard]] vitals::http::response handle(std::string_view target,
                                              std::string_view method = "GET",
                                              std::string_view auth = {}) const {
    std::vector<vitals::http::header> headers;
    if (!auth.empty()) headers.push_back({"Authorization", auth});
    return impl->handle({.method = method, .target = target, .headers = headers});
  }
  std::unique_ptr<detail::handler_impl> impl;
};

TEST(RouteTable, ARowAddedIsServedByBothPaths) {
  table_rig r{{{.path = "/hello", .respond = &hello}, {.path = "/state", .respond = &ready_word}}};
  const auto w = r.at("/hello");
  EXPECT_EQ(w.status, 200);
  EXPECT_EQ(w.body, "hello ");
  EXPECT_TRUE(w.head.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"));
  const auto res = r.handle("/hello");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "hello ");
  EXPECT_EQ(vitals_test::header_of(res, "Cache-Control"), "no-store");
  EXPECT_EQ(r.at("/state").body, "up");
  // The built-in rows are still there, and unknown paths are still 404.
  EXPECT_EQ(r.at("/readyz").body, "ok");
  EXPECT_EQ(r.at("/hello/x").status, 404);
  EXPECT_EQ(r.at("/hellox").status, 404);
}

TEST(RouteTable, ChildRowsSeeOneDecodedSegment) {
  table_rig r{{{.path = "/hello", .match = detail::path_match::child, .respond = &hello}}};
  EXPECT_EQ(r.at("/hello/world").body, "hello world");
  EXPECT_EQ(r.at("/hello/w%6Frld").body, "hello world");
  EXPECT_EQ(r.at("/hello").status, 404);
  EXPECT_EQ(r.at("/hello/").status, 404);
  EXPECT_EQ(r.at("/hello/a/b").status, 404);
}

TEST(RouteTable, AllowListsWhatTheRowsOfThePathAccept) {
  table_rig only_post{{{.path = "/submit", .methods = detail::method_post, .respond = &posted}}};
  const auto get = only_post.handle("/submit");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(vitals_test::header_of(get, "Allow"), "POST");
  EXPECT_EQ(get.body, "405 method not allowed\n");
  EXPECT_EQ(only_post.at("/submit", "POST").status, 202);

  // Two rows of one path: each method goes to its row, the 405 names the union.
  table_rig both{{{.path = "/submit", .methods = detail::method_post, .respond = &posted},
                  {.path = "/submit", .respond = &hello}}};
  EXPECT_EQ(both.at("/submit", "POST").body, "posted");
  EXPECT_EQ(both.at("/submit").body, "hello ");
  const auto put = both.handle("/submit", "PUT");
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(vitals_test::header_of(put, "Allow"), "GET, HEAD, POST");
  EXPECT_NE(put.status, both.handle("/nope", "PUT").status);
  // The built-in rows keep their own Allow.
  EXPECT_EQ(vitals_test::header_of(both.handle("/readyz", "POST"), "Allow"), "GET, HEAD");
}

TEST(RouteTable, HeadOfAnAddedRowHasNoBodyButTheSameHead) {
  table_rig r{{{.path = "/hello", .respond = &hello}}};
  const auto get = r.handle("/hello");
  const auto head = r.handle("/hello", "HEAD");
  EXPECT_EQ(head.status, get.status);
  EXPECT_EQ(head.headers, get.headers);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.content_length, get.body.size());
  EXPECT_EQ(r.at("/hello", "HEAD").head, r.at("/hello").head);
  // A row that does not accept HEAD refuses it like any other method.
  table_rig get_only{{{.path = "/hello", .methods = detail::method_get, .respond = &hello}}};
  const auto refused = get_only.handle("/hello", "HEAD");
  EXPECT_EQ(refused.status, 405);
  EXPECT_EQ(vitals_test::header_of(refused, "Allow"), "GET");
}

TEST(RouteTable, RowsThatNeedTheTokenAnswer401WithoutIt) {
  const std::vector<detail::route> rows{{.path = "/admin", .needs_token = true, .respond = &hello}};
  table_rig r{rows, {.token = "s3cret"}};
  for (const char* auth : {"", "Bearer wrong", "Basic czNjcmV0"}) {
    const auto res = r.handle("/admin", "GET", auth);
    EXPECT_EQ(res.status, 401) << auth;
    EXPECT_EQ(vitals_test::header_of(res, "WWW-Authenticate"), "Bearer") << auth;
    EXPECT_EQ(res.body, "401 unauthorized\n");
  }
  EXPECT_EQ(r.handle("/admin", "GET", "Bearer s3cret").status, 200);
  // Other rows do not need it.
  EXPECT_EQ(r.handle("/readyz").status, 200);
  // No token configured: nobody gets in.
  table_rig open{rows};
  EXPECT_EQ(open.handle("/admin", "GET", "Bearer ").status, 401);
}

TEST(RouteTable, ThePrefixAndTheQueryFlagApplyToEveryRow) {
  const std::vector<detail::route> rows{
      {.path = "/hello", .respond = &hello},
      {.path = "/strict", .query = true, .respond = &hello},
  };
  table_rig r{rows, {.prefix = "/_h"}};
  EXPECT_EQ(r.at("/_h/hello").status, 200);
  EXPECT_EQ(r.at("/hello").status, 404);
  // A row that does not read the query ignores even a malformed one; one that does refuses it.
  EXPECT_EQ(r.at("/_h/hello?x=%zz").status, 200);
  EXPECT_EQ(r.at("/_h/strict?x=%zz").status, 400);
  EXPECT_EQ(r.at("/_h/strict?verbose").status, 200);
}

TEST(RouteTable, MethodNamesAndAllowValues) {
  EXPECT_EQ(detail::method_of("GET"), detail::method_get);
  EXPECT_EQ(detail::method_of("OPTIONS"), detail::method_options);
  EXPECT_EQ(detail::method_of("get"), 0);
  EXPECT_EQ(detail::method_of("TRACE"), 0);
  EXPECT_EQ(detail::allow_value(detail::get_and_head), "GET, HEAD");
  EXPECT_EQ(detail::allow_value(detail::method_delete | detail::method_get), "GET, DELETE");
}

}  // namespace
