// A vitals service with checks the test flips through stdin, served by vitals::grpc::server:
// the server under test for the Python grpcio client and the load tests (a process of its own,
// so its threads and memory are its own).
//
//   vitals_grpc_test_server [--listen 127.0.0.1:0] [--token T] [--alias NAME=TARGET]...
//                           [--extra N] [--list-limit N]
//                           [--tls-cert F --tls-key F [--client-ca F]]
//
// Checks: db (ready, startup), cache (ready, non-critical), loop (live), and N passing
// extra<i> (ready). Prints "port <N>" once serving, then answers one line per command:
//   set <check> pass|warn|fail   the check's next results; "ok" once the snapshot reports it
//   flap <check> <n>             n alternations fail/pass, each reported; "ok"
//   begin_shutdown               service::begin_shutdown(); "ok"
//   figures                      "rss <KiB> threads <n>" from /proc/self/status
//   stop                         server::stop(); "ok"; exits 0 (so does the end of input)

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "vitals/grpc.hpp"
#include "vitals/service.hpp"

namespace {

using namespace std::chrono_literals;

vitals::check_options fast(vitals::probe_set probes, bool critical = true) {
  return {.probes = probes,
          .critical = critical,
          .interval = 20ms,
          .timeout = 10ms,
          .jitter = 0,
          .max_staleness = 1h};
}

bool wait_reported(const vitals::service& svc, const std::string& name, vitals::status s) {
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < end) {
    const auto snap = svc.current();
    const vitals::check_state* c = snap->find(name);
    if (c != nullptr && c->reported.status == s) return true;
    static_cast<void>(svc.wait_for_update(snap->generation, 100ms));
  }
  return false;
}

std::string figures() {
  std::ifstream in("/proc/self/status");
  std::string key;
  long rss = -1;
  long threads = -1;
  while (in >> key) {
    if (key == "VmRSS:") in >> rss;
    if (key == "Threads:") in >> threads;
    std::string rest;
    std::getline(in, rest);
  }
  return "rss " + std::to_string(rss) + " threads " + std::to_string(threads);
}

}  // namespace

int main(int argc, char** argv) {
  vitals::grpc::server_options opts{.listen = "127.0.0.1:0"};
  std::size_t extra = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) {
      std::cerr << arg << " needs a value\n";
      return 64;
    }
    const std::string v = argv[++i];
    if (arg == "--listen") {
      opts.listen = v;
    } else if (arg == "--token") {
      opts.health.token = v;
    } else if (arg == "--alias") {
      const auto eq = v.find('=');
      if (eq == std::string::npos) {
        std::cerr << "--alias NAME=TARGET\n";
        return 64;
      }
      opts.health.aliases.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (arg == "--extra") {
      extra = std::stoul(v);
    } else if (arg == "--list-limit") {
      opts.health.list_limit = std::stoul(v);
    } else if (arg == "--tls-cert") {
      opts.tls_cert_file = v;
    } else if (arg == "--tls-key") {
      opts.tls_key_file = v;
    } else if (arg == "--client-ca") {
      opts.tls_client_ca_file = v;
    } else {
      std::cerr << "unknown argument " << arg << "\n";
      return 64;
    }
  }

  std::map<std::string, std::shared_ptr<std::atomic<int>>> states;
  vitals::registry reg;
  const auto add = [&](const std::string& name, vitals::check_options o) {
    auto st = std::make_shared<std::atomic<int>>(static_cast<int>(vitals::status::pass));
    states[name] = st;
    reg.add(
        name,
        [st](const vitals::context&) {
          switch (static_cast<vitals::status>(st->load())) {
            case vitals::status::warn:
              return vitals::warn("degraded");
            case vitals::status::fail:
              return vitals::fail("down");
            default:
              return vitals::pass();
          }
        },
        std::move(o));
  };
  add("db", fast(vitals::ready | vitals::startup));
  add("cache", fast(vitals::ready, false));
  add("loop", fast(vitals::live));
  for (std::size_t i = 0; i < extra; ++i) {
    reg.add("extra" + std::to_string(i), [](const vitals::context&) { return vitals::pass(); },
            {.probes = vitals::ready, .interval = 1s, .timeout = 100ms, .max_staleness = 1h});
  }
  vitals::service svc{std::move(reg), {.on_event = [](const vitals::event&) {}}};
  svc.start();
  for (const auto& [name, st] : states) {
    if (!wait_reported(svc, name, vitals::status::pass)) {
      std::cerr << name << " never passed\n";
      return 1;
    }
  }
  vitals::grpc::server server{svc, opts};
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  std::cout << "port " << server.port() << std::endl;

  const std::map<std::string, vitals::status> words{{"pass", vitals::status::pass},
                                                    {"warn", vitals::status::warn},
                                                    {"fail", vitals::status::fail}};
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "set" || cmd == "flap") {
      std::string name;
      std::string arg;
      in >> name >> arg;
      const auto it = states.find(name);
      if (it == states.end()) {
        std::cout << "error: no check " << name << std::endl;
        continue;
      }
      bool ok = true;
      if (cmd == "set") {
        const auto w = words.find(arg);
        if (w == words.end()) {
          std::cout << "error: pass, warn or fail" << std::endl;
          continue;
        }
        it->second->store(static_cast<int>(w->second));
        ok = wait_reported(svc, name, w->second);
      } else {
        const long n = std::stol(arg);
        for (long k = 0; k < n && ok; ++k) {
          const auto s = k % 2 == 0 ? vitals::status::fail : vitals::status::pass;
          it->second->store(static_cast<int>(s));
          ok = wait_reported(svc, name, s);
        }
      }
      std::cout << (ok ? "ok" : "error: not reported in time") << std::endl;
    } else if (cmd == "begin_shutdown") {
      svc.begin_shutdown();
      std::cout << "ok" << std::endl;
    } else if (cmd == "figures") {
      std::cout << figures() << std::endl;
    } else if (cmd == "stop") {
      server.stop();
      std::cout << "ok" << std::endl;
      return 0;
    } else {
      std::cout << "error: unknown command" << std::endl;
    }
  }
  server.stop();
  return 0;
}
