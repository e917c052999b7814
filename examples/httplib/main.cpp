// Mounting the vitals handler in another HTTP framework (cpp-httplib): the handler is
// transport-agnostic — copy method, target and headers in, copy status, headers and body out.
#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <vector>
#include <vitals/http/handler.hpp>
#include <vitals/vitals.hpp>

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  vitals::registry reg;
  reg.add("self", [](const vitals::context&) { return vitals::pass(); },
          {.interval = 1s, .timeout = 250ms});
  vitals::service svc{std::move(reg)};
  vitals::http::handler health{svc, {.prefix = "/_health"}};

  httplib::Server app;
  app.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("hello\n", "text/plain");
  });
  // Everything under /_health goes to vitals: /_health/readyz, /_health/health, ...
  auto mount = [&](const httplib::Request& req, httplib::Response& res) {
    std::vector<vitals::http::header> headers;
    for (const auto& [name, value] : req.headers) headers.push_back({name, value});
    std::string target = req.target.empty() ? req.path : req.target;
    auto r = health.handle({.method = req.method, .target = target, .headers = headers});
    res.status = r.status;
    std::string content_type = "text/plain";
    for (auto& [name, value] : r.headers) {
      if (name == "Content-Type") {
        content_type = value;
      } else {
        res.set_header(name, value);
      }
    }
    res.set_content(r.body, content_type);
  };
  app.Get(R"(/_health(/.*)?)", mount);

  int port = argc > 1 ? std::atoi(argv[1]) : 8080;
  svc.start();
  std::printf("listening on http://127.0.0.1:%d/_health/readyz\n", port);
  app.listen("127.0.0.1", port);
  svc.stop();
}
