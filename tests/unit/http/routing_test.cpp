#include <gtest/gtest.h>

#include <string>

#include "rig.hpp"

namespace {

using vitals_test::header_of;
using vitals_test::rig;

struct routing_rig : rig {
  explicit routing_rig(vitals::http::handler_options o = {}) {
    add("db", vitals::fail("down"));
    add("api", vitals::pass());
    start(std::move(o));
    run();
  }
};

TEST(Routing, HeadHasNoBodyButTheSameLength) {
  routing_rig r;
  for (const char* t :
       {"/livez", "/readyz", "/readyz?verbose", "/readyz/db", "/health", "/health/api", "/nope"}) {
    const auto get = r.get(t);
    const auto head = r.get(t, {}, "HEAD");
    EXPECT_EQ(head.status, get.status) << t;
    EXPECT_EQ(head.headers, get.headers) << t;
    EXPECT_TRUE(head.body.empty()) << t;
    EXPECT_EQ(head.content_length, get.body.size()) << t;
    EXPECT_EQ(get.content_length, get.body.size()) << t;
    // The wire form says the same: identical head, Content-Length of the GET body.
    const auto wg = r.serve(t);
    const auto wh = r.serve(t, {}, "HEAD");
    EXPECT_EQ(wg.head, wh.head) << t;
    EXPECT_NE(wg.head.find("Content-Length: " + std::to_string(get.body.size()) + "\r\n"),
              std::string_view::npos)
        << t;
  }
}

TEST(Routing, OtherMethodsAre405WithAllow) {
  routing_rig r;
  for (const char* m : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get", "TRACE"}) {
    const auto res = r.get("/readyz", {}, m);
    EXPECT_EQ(res.status, 405) << m;
    EXPECT_EQ(header_of(res, "Allow"), "GET, HEAD") << m;
    EXPECT_EQ(header_of(res, "Cache-Control"), "no-store");
    EXPECT_EQ(res.body, "405 method not allowed\n");
    EXPECT_EQ(r.get("/health/db", {}, m).status, 405) << m;
  }
  EXPECT_EQ(header_of(r.get("/readyz"), "Allow"), "");
}

TEST(Routing, UnknownPathsAre404AndRevealNothing) {
  routing_rig r;
  for (const char* t : {"/", "/healthz", "/readyzz", "/metrics/x", "/livez/", "/READYZ",
                        "/health/db/x", "/../etc/passwd", "/%00"}) {
    const auto res = r.get(t);
    EXPECT_EQ(res.status, 404) << t;
    EXPECT_EQ(res.body, "404 page not found\n") << t;
    EXPECT_EQ(header_of(res, "Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(header_of(res, "Cache-Control"), "no-store");
    EXPECT_EQ(header_of(res, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(r.get(t, {}, "POST").status, 404) << t;
  }
}

TEST(Routing, AbsurdTargetsAre414MalformedAre400) {
  routing_rig r;
  const std::string long_target = "/readyz?exclude=" + std::string(3000, 'a');
  const auto res = r.get(long_target);
  EXPECT_EQ(res.status, 414);
  EXPECT_EQ(res.body, "414 URI too long\n");
  EXPECT_EQ(r.get("/readyz?exclude=" + std::string(1900, 'a')).status, 503);  // within 2 KiB
  for (const char* t : {"/readyz?exclude=%zz", "/read%7", "/readyz/%", "readyz", "",
                        "ftp://example.com/readyz", "http:///readyz", "http:/readyz", "*"}) {
    EXPECT_EQ(r.get(t).status, 400) << t;
  }
}

TEST(Routing, AbsoluteFormIsServedAsItsPath) {
  // RFC 9112 §3.2.2: a server MUST accept the absolute form; the authority is not routed on.
  routing_rig r;
  EXPECT_EQ(r.get("http://example.com/readyz").status, 503);
  EXPECT_EQ(r.get("http://10.0.0.1:8081/livez").body, "ok");
  EXPECT_EQ(r.get("HTTPS://[::1]:8443/readyz/api").status, 200);
  EXPECT_EQ(r.get("http://h/readyz?verbose").body, r.get("/readyz?verbose").body);
  EXPECT_EQ(r.get("http://h/read%79z").status, 503);
  EXPECT_EQ(r.get("http://h").status, 404);  // the path "/"
  EXPECT_EQ(r.get("http://h?verbose").status, 404);
  EXPECT_EQ(r.get("http://h/nope").status, 404);
  EXPECT_EQ(r.serve("http://h:1/livez").head, r.serve("/livez").head);
}

TEST(Routing, QueryAndFragmentDoNotChangeTheRoute) {
  routing_rig r;
  EXPECT_EQ(r.get("/livez?foo=bar").body, "ok");
  EXPECT_EQ(r.get("/livez#frag").body, "ok");
  EXPECT_EQ(r.get("/health?verbose").status, 503);
  EXPECT_EQ(r.get("/read%79z").status, 503);  // the path is percent-decoded
}

TEST(Routing, Prefix) {
  for (const std::string prefix : {"/_health", "_health/", "/_health/"}) {
    routing_rig r{{.prefix = prefix}};
    EXPECT_EQ(r.get("/_health/livez").status, 200) << prefix;
    EXPECT_EQ(r.get("/_health/readyz").status, 503);
    EXPECT_EQ(r.get("/_health/readyz/api").status, 200);
    EXPECT_EQ(r.get("/_health/health").status, 503);
    EXPECT_EQ(r.get("/readyz").status, 404);
    EXPECT_EQ(r.get("/_health").status, 404);
    EXPECT_EQ(r.get("/_healthz/readyz").status, 404);
  }
  routing_rig root{{.prefix = "/"}};
  EXPECT_EQ(root.get("/livez").status, 200);
}

TEST(Routing, HandleMatchesServe) {
  routing_rig r;
  for (const char* t : {"/livez", "/readyz?verbose", "/health", "/nope"}) {
    const auto res = r.get(t);
    const auto w = r.serve(t);
    EXPECT_EQ(res.status, w.status);
    EXPECT_EQ(res.body, w.body);
    std::string rebuilt = "HTTP/1.1 " + std::to_string(res.status) + " ";
    EXPECT_TRUE(w.head.starts_with(rebuilt)) << w.head;
    for (const auto& [n, v] : res.headers) {
      EXPECT_NE(w.head.find("\r\n" + n + ": " + v + "\r\n"), std::string_view::npos) << n;
    }
    EXPECT_TRUE(w.head.ends_with("Content-Length: " + std::to_string(w.body.size()) + "\r\n"));
    EXPECT_EQ(w.head.find("\r\n\r\n"), std::string_view::npos);  // the server ends the head
  }
}

}  // namespace
