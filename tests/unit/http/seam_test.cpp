// The seam between renderers, the typed response and its wire form: for every endpoint variant
// the wire head and body say exactly what the typed response (and handler::handle()) says; and a
// handler outliving its thread's per-thread memo stays sound.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "handler_impl.hpp"
#include "rig.hpp"

namespace {

namespace detail = vitals::http::detail;

constexpr std::string_view token = "tok-seam-1";
const std::string bearer = "Bearer " + std::string{token};

struct seam_rig : vitals_test::rig {
  seam_rig() {
    add("db", vitals::fail("down"));
    add("api", vitals::warn("slow"), {.critical = false});
    add("loop", vitals::pass(), {.probes = vitals::live});
    add("init", vitals::pass(), {.probes = vitals::startup});
    start({.token = std::string{token}}, {.version = "1.2.3"});
    run();
  }
};

// The header lines of a wire head (status line dropped), as name/value pairs in order.
std::vector<std::pair<std::string, std::string>> wire_headers(std::string_view head) {
  std::vector<std::pair<std::string, std::string>> out;
  head.remove_prefix(head.find("\r\n") + 2);
  while (!head.empty()) {
    const std::size_t eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    const std::size_t colon = line.find(": ");
    out.emplace_back(std::string{line.substr(0, colon)}, std::string{line.substr(colon + 2)});
  }
  return out;
}

TEST(Seam, WireFormAndTypedResponseAgreeOnEveryVariant) {
  seam_rig r;
  const std::string long_target = "/readyz?" + std::string(3000, 'a');
  const std::vector<std::string> targets{"/livez",
                                         "/readyz",
                                         "/startupz",
                                         "/livez?verbose",
                                         "/readyz?verbose",
                                         "/startupz?verbose",
                                         "/readyz?exclude=db",
                                         "/readyz?verbose&exclude=db&exclude=ghost",
                                         "/readyz/db",
                                         "/readyz/db?verbose",
                                         "/livez/loop",
                                         "/startupz/init",
                                         "/health",
                                         "/health/api",
                                         "/health/db",
                                         "/nope",
                                         "/readyz/nope",
                                         "/readyz?x=%zz",
                                         "bad",
                                         long_target};
  std::size_t compared = 0;
  for (const std::string& t : targets) {
    for (const std::string& auth : {std::string{}, bearer}) {
      for (const char* method : {"GET", "HEAD", "POST"}) {
        const auto w = r.serve(t, auth, method);
        ASSERT_NE(w.typed, nullptr) << t;
        const detail::typed_response& typed = *w.typed;
        EXPECT_EQ(w.status, typed.status) << t;
        EXPECT_EQ(w.body, typed.body) << t;
        const std::string status_line = "HTTP/1.1 " + std::to_string(typed.status) + " " +
                                        std::string{detail::reason_phrase(typed.status)} + "\r\n";
        EXPECT_TRUE(w.head.starts_with(status_line)) << t << "\n" << w.head;
        EXPECT_TRUE(w.head.ends_with("\r\n")) << t;
        std::vector<std::pair<std::string, std::string>> expected{
            {"Content-Type", std::string{typed.content_type}}};
        for (const auto& f : typed.headers) expected.emplace_back(f.name, f.value);
        const auto res = r.get(t, auth, method);
        EXPECT_EQ(res.headers, expected) << t;  // handle() returns the typed parts as they are
        EXPECT_EQ(res.status, typed.status) << t;
        EXPECT_EQ(res.content_length, typed.body.size()) << t;
        EXPECT_EQ(res.body, std::string_view{method} == "HEAD" ? "" : typed.body) << t;
        expected.emplace_back("Content-Length", std::to_string(typed.body.size()));
        EXPECT_EQ(wire_headers(w.head), expected) << t << "\n" << w.head;
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, targets.size() * 6);
}

TEST(Seam, WireFormIsBuiltFromTheTypedResponse) {
  auto typed = detail::make_typed(503, detail::health_json, "{}");
  typed.headers.push_back({"Retry-After", "5"});
  const detail::rendered w = detail::wire_form(typed);
  EXPECT_EQ(w.head,
            "HTTP/1.1 503 Service Unavailable\r\n"
            "Content-Type: application/health+json\r\n"
            "Cache-Control: no-store\r\n"
            "X-Content-Type-Options: nosniff\r\n"
            "Retry-After: 5\r\n"
            "Content-Length: 2\r\n");
  EXPECT_EQ(w.typed.body, "{}");
  EXPECT_EQ(w.typed.headers, typed.headers);
  EXPECT_EQ(detail::wire_form(detail::make_typed(299, detail::text_plain, "")).head.substr(0, 20),
            "HTTP/1.1 299 Status\r");
}

// Regression: vitals_bench_serve aborted at exit ("free(): corrupted unsorted chunks"). Its
// handler, a function-local static, was destroyed after the main thread's thread_locals, and
// cleared its slots in the per-thread memo table that was already destroyed: their references
// (the binding and the cached rendering) were released twice. Here a thread_local handler
// constructed before the table is destroyed after it, and serves once more on its way out.
TEST(Seam, AHandlerOutlivingItsThreadsMemoTableStaysSound) {
  seam_rig r;
  auto svc = std::shared_ptr<vitals::service>(std::shared_ptr<void>{}, &r.svc());
  std::atomic<int> last_status{0};
  std::atomic<int> served{0};
  struct holder {
    std::unique_ptr<vitals::http::handler> h;
    std::atomic<int>* last = nullptr;
    ~holder() {
      if (!h) return;
      last->store(detail::handler_access::of(*h).serve("GET", "/livez", "").status);
      h.reset();
    }
  };
  std::thread t{[&] {
    thread_local holder hold;  // destroyed after the table, which the first request creates
    hold.h = std::make_unique<vitals::http::handler>(svc);
    hold.last = &last_status;
    for (int i = 0; i < 3; ++i) {
      if (detail::handler_access::of(*hold.h).serve("GET", "/livez", "").status == 200) ++served;
    }
  }};
  t.join();
  EXPECT_EQ(served.load(), 3);
  EXPECT_EQ(last_status.load(), 200);
  // The service is untouched: a fresh handler serves it.
  EXPECT_EQ(vitals::http::handler{svc}
                .handle({.method = "GET", .target = "/livez", .headers = {}})
                .status,
            200);
}

}  // namespace
