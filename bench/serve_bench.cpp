// Micro-benchmarks of the per-request work of the built-in server, without sockets: the
// handler's serve() (snapshot load + cached rendering) and the request-head parser.

#include <benchmark/benchmark.h>

#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "handler_impl.hpp"
#include "server_parser.hpp"
#include "vitals/http/handler.hpp"
#include "vitals/registry.hpp"
#include "vitals/service.hpp"

namespace {

using namespace std::chrono_literals;

struct fixture {
  fixture() : svc(make_registry(), {.on_event = [](const vitals::event&) {}}), h(svc) {
    svc.start();
    while (svc.current()->probe_status(vitals::probe::ready) != vitals::status::pass) {
      std::this_thread::sleep_for(1ms);
    }
  }
  ~fixture() { svc.stop(); }
  static vitals::registry make_registry() {
    vitals::registry reg;
    for (const char* name : {"queue", "cache", "disk"}) {
      reg.add(name, [](const vitals::context&) { return vitals::pass(); },
              {.probes = vitals::live | vitals::ready | vitals::startup, .interval = 10s});
    }
    return reg;
  }
  vitals::service svc;
  vitals::http::handler h;
};

fixture& shared_fixture() {
  static fixture f;
  return f;
}

void serve(benchmark::State& state, std::string_view target) {
  const auto& impl = vitals::http::detail::handler_access::of(shared_fixture().h);
  for (auto _ : state) {
    auto w = impl.serve("GET", target, "");
    benchmark::DoNotOptimize(w.head.data());
    benchmark::DoNotOptimize(w.body.data());
  }
}

void bm_serve_readyz(benchmark::State& state) { serve(state, "/readyz"); }
void bm_serve_readyz_verbose(benchmark::State& state) { serve(state, "/readyz?verbose"); }
void bm_serve_health(benchmark::State& state) { serve(state, "/health"); }
void bm_serve_not_found(benchmark::State& state) { serve(state, "/nope"); }

void bm_handle_readyz(benchmark::State& state) {
  const auto& h = shared_fixture().h;
  for (auto _ : state) {
    auto r = h.handle({.method = "GET", .target = "/readyz", .headers = {}});
    benchmark::DoNotOptimize(r.body.data());
  }
}

void bm_parse_wrk_request(benchmark::State& state) {
  // What wrk sends.
  const std::string req = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:8090\r\n\r\n";
  std::optional<vitals::http::detail::request_parser> p;
  for (auto _ : state) {
    p.emplace(4096, 8192);
    boost::beast::error_code ec;
    p->put(boost::asio::const_buffer(req.data(), req.size()), ec);
    benchmark::DoNotOptimize(p->target().data());
  }
}

void bm_parse_kubelet_request(benchmark::State& state) {
  const std::string req =
      "GET /readyz HTTP/1.1\r\nHost: 10.1.2.3:8081\r\nUser-Agent: kube-probe/1.29\r\n"
      "Accept: */*\r\nConnection: close\r\n\r\n";
  std::optional<vitals::http::detail::request_parser> p;
  for (auto _ : state) {
    p.emplace(4096, 8192);
    boost::beast::error_code ec;
    p->put(boost::asio::const_buffer(req.data(), req.size()), ec);
    benchmark::DoNotOptimize(p->keep_alive());
  }
}

}  // namespace

BENCHMARK(bm_serve_readyz);
BENCHMARK(bm_serve_readyz_verbose);
BENCHMARK(bm_serve_health);
BENCHMARK(bm_serve_not_found);
BENCHMARK(bm_handle_readyz);
BENCHMARK(bm_parse_wrk_request);
BENCHMARK(bm_parse_kubelet_request);
BENCHMARK_MAIN();
