// Secrecy of the library: one canary password in every secret-bearing option of every check type,
// every failure path provoked against real peers on loopback (refused, silent → timeout, wrong
// password → auth, garbage → protocol, TLS variants → tls, a peer quoting the credentials back),
// and every output searched for it: the engine's events, the snapshot, and every endpoint of the
// built-in server (k8s probes with and without ?verbose, per check, /health, /health/<check>) for
// anonymous, wrong-token and authorized callers under the `authorized` and `everyone` detail
// policies; plus the exceptions thrown for invalid options that carry the canary.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "pki.hpp"
#include "secrecy_support.hpp"
#include "server_client.hpp"
#include "test_server.hpp"
#include "vitals/checks/exec.hpp"
#include "vitals/checks/http.hpp"
#include "vitals/checks/memcached.hpp"
#include "vitals/checks/mysql.hpp"
#include "vitals/checks/postgres.hpp"
#include "vitals/checks/redis.hpp"
#include "vitals/checks/tcp.hpp"
#include "vitals/checks/tls.hpp"
#include "vitals/http/server.hpp"
#include "vitals/registry.hpp"
#include "vitals/service.hpp"

namespace vitals::secrecy {
namespace {

using vitals::failure_kind;
using vitals::status;

const std::string C{canary};
const std::string P{canary_pct};
const std::string T{endpoint_token};

std::string loop_url(const std::string& scheme, std::uint16_t port, const std::string& path = "/") {
  return scheme + "://127.0.0.1:" + std::to_string(port) + path;
}

/// One check of a scenario and the failure kinds its failure may honestly have.
struct planned {
  std::string name;
  std::shared_ptr<vitals::check> impl;
  std::set<failure_kind> kinds;
  status expected = status::fail;
};

/// The checks that carry the canary and talk to a peer at 127.0.0.1:port, in the form given.
std::vector<planned> network_checks(std::uint16_t port, std::set<failure_kind> kinds,
                                    std::set<failure_kind> tls_kinds) {
  const auto hp = "127.0.0.1:" + std::to_string(port);
  const auto ps = std::to_string(port);
  return {
      {"pg_url", vitals::checks::postgres({.url = "postgres://vitals:" + P + "@" + hp + "/vitals"}),
       kinds},
      {"pg_conninfo",
       vitals::checks::postgres({.conninfo = "host=127.0.0.1 port=" + ps +
                                             " user=vitals password=" + C + " dbname=vitals"}),
       kinds},
      {"mysql", vitals::checks::mysql({.url = "mysql://vitals:" + P + "@" + hp + "/vitals"}),
       kinds},
      {"redis_acl", vitals::checks::redis({.url = "redis://vitals:" + P + "@" + hp + "/0"}), kinds},
      {"redis_pw", vitals::checks::redis({.url = "redis://:" + P + "@" + hp + "/0"}), kinds},
      {"redis_override",
       vitals::checks::redis({.url = "redis://" + hp + "/0", .username = "vitals", .password = C}),
       kinds},
      {"memcached", vitals::checks::memcached({.address = "memcached://" + hp}), kinds},
      {"http_basic", vitals::checks::http({.url = "http://vitals:" + P + "@" + hp + "/health"}),
       kinds},
      {"http_headers",
       vitals::checks::http({.url = loop_url("http", port, "/health"),
                             .headers = {{"Authorization", "Bearer " + C},
                                         {"X-Api-Key", C},
                                         {"Cookie", "session=" + C}}}),
       kinds},
      {"https_basic",
       vitals::checks::http({.url = "https://vitals:" + P + "@" + hp + "/health",
                             .headers = {{"Authorization", "Bearer " + C}}}),
       tls_kinds},
      {"tcp_send",
       vitals::checks::tcp({.host = "127.0.0.1",
                            .port = port,
                            .send = "AUTH vitals " + C + "\r\n",
                            .expect = "+OK"}),
       kinds},
      {"tls", vitals::checks::tls({.host = "127.0.0.1", .port = port}), tls_kinds},
  };
}

// GET every endpoint the handler serves, for every caller, and scan status line, headers and body.
struct caller {
  std::string name;
  std::string header;
};
const std::vector<caller>& callers() {
  static const std::vector<caller> c{
      {"anonymous", ""},
      {"wrong token", "Authorization: Bearer not-the-token\r\n"},
      {"token", "Authorization: Bearer " + T + "\r\n"},
  };
  return c;
}

std::vector<std::string> targets(const std::vector<planned>& plan) {
  std::vector<std::string> t{
      "/livez",          "/readyz",           "/startupz", "/livez?verbose",
      "/readyz?verbose", "/startupz?verbose", "/health",   "/readyz?verbose&exclude=none"};
  for (const auto& p : plan) {
    for (const char* probe : {"/livez/", "/readyz/", "/startupz/"}) {
      t.push_back(probe + p.name);
      t.push_back(probe + p.name + "?verbose");
    }
    t.push_back("/health/" + p.name);
  }
  return t;
}

std::string fetch(std::uint16_t port, const std::string& target, const std::string& extra,
                  int* status_out) {
  vitals::test::client c{port};
  EXPECT_TRUE(c.send(vitals::test::get(target, extra)));
  auto r = c.read_reply(false, 3s);
  if (!r) {
    ADD_FAILURE() << "no reply for " << target;
    return {};
  }
  *status_out = r->status;
  return r->head + "\r\n\r\n" + r->body;
}

std::string result_text(const vitals::result& r) {
  std::string out = r.output;
  for (const auto& [k, v] : r.details) out += "\n" + k + "=" + v;
  if (r.observed) {
    if (const auto* s = std::get_if<std::string>(&r.observed->value)) out += "\n" + *s;
  }
  return out;
}

/// One check alone in its own engine with its two servers: the secrets another check declares
/// must never be what hides this one's (the engine scrubs every check's secrets from all texts).
struct isolated {
  explicit isolated(const planned& p, std::chrono::milliseconds timeout,
                    const std::string& scenario, std::mutex& m, std::vector<vitals::event>& events)
      : svc{[&] {
              vitals::registry reg;
              // Also in `live` (explicitly allowed) so that /livez?verbose lists it.
              reg.add(p.name, p.impl,
                      {.probes = vitals::live | vitals::ready | vitals::startup,
                       .interval = 3s,
                       .timeout = timeout,
                       .jitter = 0.0,
                       .allow_in_live = true});
              return reg;
            }(),
            {.info = {.service_id = "secrecy", .description = scenario},
             .on_event =
                 [&m, &events](const vitals::event& e) {
                   std::lock_guard lock{m};
                   events.push_back(e);
                 }}},
        authorized{svc, {.port = 0}, {.token = T}},
        everyone{svc, {.port = 0}, {.token = T, .details = vitals::http::detail_policy::everyone}} {
    svc.start();
    authorized.start();
    everyone.start();
  }
  ~isolated() {
    authorized.stop();
    everyone.stop();
    svc.stop();
  }
  vitals::service svc;
  vitals::http::server authorized;
  vitals::http::server everyone;
};

/// Runs each check under the real engine until it has reported, asserts its failure kind, then
/// scans every output: snapshot, every endpoint for every caller and policy, the events.
void run_scenario(const std::string& scenario, std::vector<planned> plan,
                  std::chrono::milliseconds timeout = 500ms) {
  SCOPED_TRACE(scenario);
  std::mutex m;
  std::vector<vitals::event> events;
  std::vector<std::unique_ptr<isolated>> engines;
  for (const auto& p : plan) {
    engines.push_back(std::make_unique<isolated>(p, timeout, scenario, m, events));
  }
  std::size_t answers = 0;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const auto& p = plan[i];
    auto& e = *engines[i];
    // The check has run once and its result reached the snapshot, bounded.
    const auto until = std::chrono::steady_clock::now() + 20s;
    for (;;) {
      const auto snap = e.svc.current();
      const auto* st = snap->find(p.name);
      if ((st->runs > 0 && st->reported.status != status::unknown) ||
          std::chrono::steady_clock::now() >= until) {
        break;
      }
      (void)e.svc.wait_for_update(snap->generation, 200ms);
    }
    const auto snap = e.svc.current();
    const auto* st = snap->find(p.name);
    ASSERT_NE(st, nullptr);
    EXPECT_EQ(st->reported.status, p.expected) << p.name << ": " << masked(st->last_run.output);
    EXPECT_TRUE(p.kinds.contains(st->last_run.kind))
        << p.name << ": kind " << vitals::to_string(st->last_run.kind) << ": "
        << masked(st->last_run.output);
    // Only meaningful if the failure says something: the scan below must search real text.
    if (p.expected != status::pass) {
      EXPECT_FALSE(st->last_run.output.empty()) << p.name;
    }
    std::printf("[%s] %-16s %s/%s: %s\n", scenario.c_str(), p.name.c_str(),
                std::string{vitals::to_string(st->reported.status)}.c_str(),
                std::string{vitals::to_string(st->last_run.kind)}.c_str(),
                masked(st->last_run.output).c_str());
    expect_clean(scenario + " snapshot " + p.name + " reported", result_text(st->reported));
    expect_clean(scenario + " snapshot " + p.name + " last_run", result_text(st->last_run));

    const auto paths = targets({p});
    for (auto* srv : {&e.authorized, &e.everyone}) {
      const std::string policy = srv == &e.authorized ? "authorized" : "everyone";
      for (const auto& who : callers()) {
        for (const auto& target : paths) {
          int code = 0;
          const auto text = fetch(srv->port(), target, who.header, &code);
          ++answers;
          expect_clean(scenario + " GET " + target + " (" + policy + ", " + who.name + ")", text);
          // The failure reasons are really in the bodies that may show them: the scan is not
          // searching empty answers.
          const bool shows = policy == "everyone" || who.name == "token";
          if (target.rfind("/health/", 0) == 0) {
            EXPECT_EQ(text.find("\"output\"") != std::string::npos, shows)
                << target << " (" << policy << ", " << who.name << ") " << masked(text);
          }
        }
      }
    }
  }
  engines.clear();  // stopped: the last events are in

  std::lock_guard lock{m};
  EXPECT_FALSE(events.empty());
  std::size_t with_text = 0;
  for (const auto& e : events) {
    expect_clean(scenario + " event " + e.check, e.check + " " + e.message);
    with_text += e.message.empty() ? 0 : 1;
  }
  EXPECT_GT(with_text, 0u) << "events carry no message: nothing was searched";
  std::printf("[%s] scanned %zu texts, %zu bytes: events, snapshots, %zu endpoint answers\n",
              scenario.c_str(), stats().texts, stats().bytes, answers);
}

// --- failure paths ---------------------------------------------------------------------------

TEST(secrecy, refused) {
  const auto port = refused_port();
  run_scenario("refused", network_checks(port, {failure_kind::refused}, {failure_kind::refused}),
               1500ms);
}

TEST(secrecy, silent_peer_times_out) {
  silent_listener silent;
  run_scenario("timeout",
               network_checks(silent.port(), {failure_kind::timeout}, {failure_kind::timeout}),
               400ms);
}

TEST(secrecy, garbage_peer_quoting_the_credentials) {
  garbage_listener garbage;
  run_scenario("protocol",
               network_checks(garbage.port(), {failure_kind::protocol},
                              {failure_kind::protocol, failure_kind::tls}),
               1500ms);
  EXPECT_GE(garbage.connections(), 10u);
}

TEST(secrecy, wrong_password_real_servers) {
  VITALS_SECRECY_SERVER(pg, "VITALS_TEST_PG_URL");
  VITALS_SECRECY_SERVER(my, "VITALS_TEST_MYSQL_URL");
  VITALS_SECRECY_SERVER(rd, "VITALS_TEST_REDIS_URL");
  const auto pg_hp = host_port_of(pg);
  const auto pg_port = pg_hp.substr(pg_hp.rfind(':') + 1);
  const auto rd_hp = host_port_of(rd);
  const std::set<failure_kind> auth{failure_kind::auth};
  run_scenario(
      "auth",
      {
          {"pg_url", vitals::checks::postgres({.url = with_canary_password(pg)}), auth},
          {"pg_conninfo",
           vitals::checks::postgres({.conninfo = "host=127.0.0.1 port=" + pg_port +
                                                 " user=vitals password=" + C + " dbname=vitals"}),
           auth},
          {"pg_fresh_conn",
           vitals::checks::postgres({.url = with_canary_password(pg), .keep_connection = false}),
           auth},
          {"mysql", vitals::checks::mysql({.url = with_canary_password(my)}), auth},
          {"redis_acl", vitals::checks::redis({.url = with_canary_password(rd)}), auth},
          {"redis_pw", vitals::checks::redis({.url = "redis://:" + P + "@" + rd_hp + "/0"}), auth},
          {"redis_override",
           vitals::checks::redis({.url = "redis://" + rd_hp + "/0", .password = C}), auth},
      },
      1500ms);
}

// An HTTP peer that answers, but quotes every credential it received back: in a 401 body, in a
// WWW-Authenticate header, in a redirect to another host, in a JSON field the check looks at.
TEST(secrecy, http_peer_echoing_credentials) {
  using vitals::testkit::request_info;
  using vitals::testkit::response_spec;
  vitals::testkit::test_server echo{[](const request_info& req) -> response_spec {
    std::string creds;
    for (const auto& [k, v] : req.headers) creds += k + ": " + v + "; ";
    if (req.target == "/redirect") {
      return {.status = 302,
              .headers = {{"Location", "http://vitals:" + P + "@elsewhere.invalid/?t=" + C}},
              .body = creds};
    }
    if (req.target == "/json") {
      return {
          .status = 200,
          .headers = {{"Content-Type", "application/json"}},
          .body = "{\"status\":\"DOWN " + C + "\",\"echo\":\"" +
                  (req.headers.count("authorization") != 0 ? req.headers.at("authorization") : "") +
                  "\"}"};
    }
    return {.status = req.target == "/slow" ? 200 : 401,
            .headers = {{"WWW-Authenticate", "Basic realm=\"" + creds + "\""}},
            .body = "denied: " + creds + "\n" + req.target,
            .delay = req.target == "/slow" ? 5s : 0ms};
  }};
  const auto hp = "127.0.0.1:" + std::to_string(echo.port());
  const std::vector<std::pair<std::string, std::string>> headers{
      {"Authorization", "Bearer " + C}, {"X-Api-Key", C}, {"Cookie", "session=" + C}};
  const std::set<failure_kind> answered{failure_kind::auth, failure_kind::assertion};
  run_scenario(
      "http-echo",
      {
          {"basic_401", vitals::checks::http({.url = "http://vitals:" + P + "@" + hp + "/"}),
           answered},
          {"headers_401", vitals::checks::http({.url = "http://" + hp + "/", .headers = headers}),
           answered},
          {"body_contains",
           vitals::checks::http({.url = "http://vitals:" + P + "@" + hp + "/",
                                 .headers = headers,
                                 .expected_status = "401",
                                 .body_contains = "never there"}),
           answered},
          {"redirect_away",
           vitals::checks::http(
               {.url = "http://vitals:" + P + "@" + hp + "/redirect", .headers = headers}),
           {failure_kind::assertion, failure_kind::protocol}},
          {"json_pointer",
           vitals::checks::http({.url = "http://vitals:" + P + "@" + hp + "/json",
                                 .headers = headers,
                                 .json_pointer = "/status",
                                 .json_equals = "UP"}),
           answered},
          {"slow_answer",
           vitals::checks::http(
               {.url = "http://vitals:" + P + "@" + hp + "/slow", .headers = headers}),
           {failure_kind::timeout}},
      },
      1000ms);
}

TEST(secrecy, tls_variants) {
  vitals::testkit::pki pki;
  auto self_signed = pki.issue("self", {.self_signed = true});
  auto wrong_name =
      pki.issue("wrong", {.common_name = "wrong.invalid", .alt_names = {"DNS:wrong.invalid"}});
  const auto ok = [](const vitals::testkit::request_info&) {
    return vitals::testkit::response_spec{};
  };
  vitals::testkit::test_server untrusted{ok, vitals::testkit::server_tls{.cert = self_signed}};
  vitals::testkit::test_server misnamed{ok, vitals::testkit::server_tls{.cert = wrong_name}};
  vitals::testkit::test_server plain{ok};
  const std::vector<std::pair<std::string, std::string>> headers{{"Authorization", "Bearer " + C},
                                                                 {"X-Api-Key", C}};
  const auto https = [&](std::uint16_t port) {
    return "https://vitals:" + P + "@127.0.0.1:" + std::to_string(port) + "/";
  };
  const std::set<failure_kind> tls{failure_kind::tls};
  std::vector<planned> plan{
      {"https_untrusted",
       vitals::checks::http({.url = https(untrusted.port()), .headers = headers}), tls},
      {"https_misnamed",
       vitals::checks::http(
           {.url = https(misnamed.port()), .headers = headers, .ca_file = pki.ca().cert_file}),
       tls},
      {"https_to_plain",
       vitals::checks::http({.url = https(plain.port()), .headers = headers}),
       {failure_kind::tls, failure_kind::protocol}},
      {"rediss_untrusted",
       vitals::checks::redis({.url = "rediss://vitals:" + P +
                                     "@127.0.0.1:" + std::to_string(untrusted.port()) + "/0"}),
       tls},
      {"rediss_misnamed",
       vitals::checks::redis(
           {.url = "rediss://:" + P + "@127.0.0.1:" + std::to_string(misnamed.port()) + "/0",
            .ca_file = pki.ca().cert_file}),
       tls},
      {"tls_untrusted", vitals::checks::tls({.host = "127.0.0.1", .port = untrusted.port()}), tls},
      {"tls_misnamed",
       vitals::checks::tls(
           {.host = "127.0.0.1", .port = misnamed.port(), .ca_file = pki.ca().cert_file}),
       tls},
  };
  // The data stores of scripts/test-servers.sh speak no TLS: demanding it must fail as `tls`.
  if (const auto pg = server_env("VITALS_TEST_PG_URL"); !pg.empty()) {
    plan.push_back(
        {"pg_require",
         vitals::checks::postgres({.url = with_canary_password(pg), .sslmode = "require"}), tls});
    plan.push_back({"pg_verify_full",
                    vitals::checks::postgres({.url = with_canary_password(pg),
                                              .sslmode = "verify-full",
                                              .sslrootcert = pki.ca().cert_file}),
                    tls});
  } else if (servers_required()) {
    ADD_FAILURE() << "VITALS_TEST_PG_URL is not set";
  }
  if (const auto rd = server_env("VITALS_TEST_REDIS_URL"); !rd.empty()) {
    // TLS to a server speaking plain RESP.
    plan.push_back({"rediss_to_plain",
                    vitals::checks::redis({.url = "rediss" + with_canary_password(rd).substr(5)}),
                    {failure_kind::tls, failure_kind::protocol, failure_kind::timeout}});
  }
  if (const auto my = server_env("VITALS_TEST_MYSQL_URL"); !my.empty()) {
    plan.push_back(
        {"mysql_required",
         vitals::checks::mysql({.url = with_canary_password(my), .ssl_mode = "required"}),
         // Connector/C authenticates in clear text before the check can see that no TLS was
         // negotiated, so a wrong password surfaces as `auth` here (reported; not a leak).
         {failure_kind::tls, failure_kind::auth}});
    plan.push_back({"mysql_verify",
                    vitals::checks::mysql({.url = with_canary_password(my),
                                           .ssl_mode = "verify_identity",
                                           .ssl_ca = pki.ca().cert_file}),
                    tls});
  } else if (servers_required()) {
    ADD_FAILURE() << "VITALS_TEST_MYSQL_URL is not set";
  }
  run_scenario("tls", std::move(plan), 1500ms);
}

// exec carries secrets in arguments and environment (declared in `secrets`, as documented) and
// prints them; undeclared ones in well-known shapes (key=value, URL userinfo) are caught by the
// patterns.
TEST(secrecy, exec_arguments_and_environment) {
  const auto sh = [](const std::string& script, std::vector<std::string> args,
                     std::vector<std::string> secrets) {
    args.insert(args.begin(), {"-c", script, "sh"});
    return vitals::checks::exec({.command = "/bin/sh",
                                 .args = std::move(args),
                                 .env = {{"VITALS_SECRET_TOKEN", C}},
                                 .secrets = std::move(secrets)});
  };
  const std::string print = "echo \"arg=$1 env=$VITALS_SECRET_TOKEN\"; echo \"$1\" >&2; ";
  run_scenario(
      "exec",
      {
          {"exit_2",
           sh(print + "exit 2", {C}, {C}),
           {failure_kind::assertion, failure_kind::internal}},
          {"exit_1_warn", sh(print + "exit 1", {C}, {C}), {failure_kind::none}, status::warn},
          {"killed",
           sh(print + "kill -9 $$", {C}, {C}),
           {failure_kind::assertion, failure_kind::internal}},
          {"hangs", sh(print + "exec sleep 5", {C}, {C}), {failure_kind::timeout}},
          {"missing",
           vitals::checks::exec(
               {.command = "/nonexistent/vitals-secrecy-" + C, .args = {C}, .secrets = {C}}),
           {failure_kind::internal, failure_kind::assertion}},
          {"kv_undeclared",
           sh("echo \"$1\"; exit 2", {"--password=" + C}, {}),
           {failure_kind::assertion, failure_kind::internal}},
          {"url_undeclared",
           sh("echo \"cannot reach $1\"; exit 2", {"postgres://vitals:" + P + "@db:5432/app"}, {}),
           {failure_kind::assertion, failure_kind::internal}},
      },
      1500ms);
}

// --- invalid options ---------------------------------------------------------------------------

// Invalid options that carry the canary: the exception text must not quote it. Some of them are
// accepted by the parser (libpq checks a port only when connecting; a raw '/' moves the password
// into the path): those may construct, but must not leak when they throw.
constexpr bool may_construct = true;
struct option_case {
  std::string what;
  std::function<void()> construct;
  bool may_construct = false;
};

void check_cases(const std::vector<option_case>& cases) {
  for (const auto& c : cases) {
    try {
      c.construct();
      if (!c.may_construct) ADD_FAILURE() << c.what << ": expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
      expect_clean("exception (" + c.what + ")", e.what());
      EXPECT_GT(std::string_view{e.what()}.size(), 10u) << c.what;
    } catch (const std::exception& e) {
      ADD_FAILURE() << c.what << ": unexpected " << masked(e.what());
    }
  }
}

// libpq quotes the part of a keyword string it cannot parse: with a `password:` typo or a bare
// word, that part is the password.
TEST(secrecy, invalid_postgres_conninfo_never_quotes_the_secret) {
  check_cases({
      {"postgres conninfo missing '='",
       [&] {
         (void)vitals::checks::postgres({.conninfo = "host=127.0.0.1 user=vitals password:" + C});
       }},
      {"postgres conninfo bare word",
       [&] { (void)vitals::checks::postgres({.conninfo = "host=127.0.0.1 " + C}); }},
      {"postgres conninfo unterminated quote",
       [&] { (void)vitals::checks::postgres({.conninfo = "host=127.0.0.1 password='" + C}); }},
      {"postgres conninfo unknown keyword",
       [&] { (void)vitals::checks::postgres({.conninfo = "host=127.0.0.1 passwd=" + C}); }},
  });
}

TEST(secrecy, invalid_options_never_quote_the_secret) {
  const std::string hp = "127.0.0.1:" + std::to_string(refused_port());
  const std::vector<option_case> cases{
      {"postgres url bad sslmode",
       [&] {
         (void)vitals::checks::postgres(
             {.url = "postgres://vitals:" + P + "@" + hp + "/db", .sslmode = "sometimes"});
       }},
      {"postgres url bad port",
       [&] { (void)vitals::checks::postgres({.url = "postgres://vitals:" + P + "@h:po/db"}); },
       may_construct},
      {"postgres url bad escape",
       [&] { (void)vitals::checks::postgres({.url = "postgres://vitals:" + C + "%zz@h/db"}); }},
      {"postgres url and conninfo",
       [&] {
         (void)vitals::checks::postgres(
             {.url = "postgres://vitals:" + P + "@h/db", .conninfo = "password=" + C});
       }},
      {"mysql bad port",
       [&] {
         (void)vitals::checks::mysql({.url = "mysql://vitals:" + P + "@127.0.0.1:99999/db"});
       }},
      {"mysql bad scheme",
       [&] { (void)vitals::checks::mysql({.url = "mysqlx://vitals:" + P + "@127.0.0.1/db"}); }},
      {"mysql bad ssl_mode",
       [&] {
         (void)vitals::checks::mysql(
             {.url = "mysql://vitals:" + P + "@" + hp + "/db", .ssl_mode = "always"});
       }},
      {"mysql raw '@' in password",
       [&] { (void)vitals::checks::mysql({.url = "mysql://vitals:" + C + "@127.0.0.1:0/db"}); }},
      {"redis unknown scheme",
       [&] { (void)vitals::checks::redis({.url = "rediz://vitals:" + P + "@" + hp + "/0"}); }},
      {"redis bad role",
       [&] {
         (void)vitals::checks::redis(
             {.url = "redis://:" + P + "@" + hp + "/0", .expect_role = "leader"});
       }},
      {"redis bad port",
       [&] { (void)vitals::checks::redis({.url = "redis://vitals:" + C + "@127.0.0.1:0/0"}); }},
      {"redis override password, bad url",
       [&] { (void)vitals::checks::redis({.url = "redis://", .password = C}); }},
      {"memcached userinfo (encoded)",
       [&] { (void)vitals::checks::memcached({.address = "memcached://vitals:" + P + "@" + hp}); }},
      {"memcached userinfo (raw)",
       [&] { (void)vitals::checks::memcached({.address = "memcached://vitals:" + C + "@" + hp}); }},
      {"memcached user:password@ without scheme",
       [&] { (void)vitals::checks::memcached({.address = "vitals:" + C + "@" + hp}); }},
      {"http no host", [&] { (void)vitals::checks::http({.url = "http://vitals:" + P + "@/x"}); }},
      {"http bad scheme",
       [&] { (void)vitals::checks::http({.url = "ftp://vitals:" + P + "@" + hp + "/"}); }},
      {"http bad port",
       [&] { (void)vitals::checks::http({.url = "http://vitals:" + P + "@127.0.0.1:99999/"}); }},
      {"http raw '@' in password",
       [&] { (void)vitals::checks::http({.url = "http://vitals:" + C + "@h:x/"}); }},
      {"http bad escape",
       [&] { (void)vitals::checks::http({.url = "http://vitals:" + C + "%zz@h/"}); }},
      {"http bad header name",
       [&] {
         (void)vitals::checks::http(
             {.url = "http://" + hp + "/", .headers = {{"Bad Header", "Bearer " + C}}});
       }},
      {"http header with newline",
       [&] {
         (void)vitals::checks::http({.url = "http://" + hp + "/",
                                     .headers = {{"Authorization", "Bearer " + C + "\r\nX: y"}}});
       }},
      {"http bad regex",
       [&] {
         (void)vitals::checks::http({.url = "http://vitals:" + P + "@" + hp + "/",
                                     .headers = {{"Authorization", "Bearer " + C}},
                                     .body_regex = "("});
       }},
      {"http bad expected_status",
       [&] {
         (void)vitals::checks::http(
             {.url = "http://vitals:" + P + "@" + hp + "/", .expected_status = "2xx"});
       }},
      {"http unreadable ca_file",
       [&] {
         (void)vitals::checks::http(
             {.url = "https://vitals:" + P + "@" + hp + "/", .ca_file = "/nonexistent/ca.pem"});
       }},
      {"http bad method",
       [&] {
         (void)vitals::checks::http(
             {.url = "http://vitals:" + P + "@" + hp + "/", .method = "GE T"});
       }},
      {"tcp empty host",
       [&] { (void)vitals::checks::tcp({.host = "", .port = 1, .send = "AUTH " + C}); }},
      {"tcp port 0",
       [&] { (void)vitals::checks::tcp({.host = "127.0.0.1", .port = 0, .send = "AUTH " + C}); }},
      {"tcp expect longer than the read",
       [&] {
         (void)vitals::checks::tcp({.host = "127.0.0.1",
                                    .port = 1,
                                    .send = "AUTH " + C,
                                    .expect = "+OK " + C,
                                    .max_read_bytes = 2});
       }},
      {"exec empty command",
       [&] {
         (void)vitals::checks::exec(
             {.command = "", .args = {C}, .env = {{"TOKEN", C}}, .secrets = {C}});
       }},
      {"exec bad env name",
       [&] {
         (void)vitals::checks::exec(
             {.command = "/bin/true", .args = {C}, .env = {{"BAD=NAME", C}}, .secrets = {C}});
       }},
      {"exec max_output 0",
       [&] {
         (void)vitals::checks::exec(
             {.command = "/bin/true", .args = {C}, .secrets = {C}, .max_output = 0});
       }},
  };
  check_cases(cases);
}

// A password pasted into a URL without percent-encoding its '/' moves the rest of it into the
// host and path: whatever is shown of such a URL must not show that rest.
TEST(secrecy, raw_reserved_characters_in_url_passwords) {
  const std::string hp = "127.0.0.1:" + std::to_string(refused_port());
  check_cases({
      {"redis raw '/' in password",
       [&] { (void)vitals::checks::redis({.url = "redis://vitals:" + C + "/x@" + hp + "/0"}); },
       may_construct},
      {"mysql raw '/' in password",
       [&] { (void)vitals::checks::mysql({.url = "mysql://vitals:" + C + "/x@" + hp + "/db"}); },
       may_construct},
      {"http raw '/' in password",
       [&] { (void)vitals::checks::http({.url = "http://vitals:" + C + "/x@" + hp + "/"}); },
       may_construct},
      {"postgres raw '/' in password",
       [&] {
         (void)vitals::checks::postgres({.url = "postgres://vitals:" + C + "/x@" + hp + "/db"});
       },
       may_construct},
  });
}

// The scanner itself finds every form: otherwise every test above would pass vacuously.
TEST(secrecy, scanner_finds_every_form) {
  const std::vector<std::string> leaks{"x " + C + " y", "postgres://vitals:" + P + "@h",
                                       "Basic " + base64("vitals:" + C),
                                       "half " + C.substr(C.size() - 6), "token " + T};
  for (const auto& leak : leaks) {
    bool clean = true;
    // Count the failures a scan would report without failing this test.
    for (const auto& n : needles()) clean = clean && leak.find(n.text) == std::string::npos;
    EXPECT_FALSE(clean) << masked(leak);
  }
  EXPECT_TRUE(expect_clean("a clean text", "postgres://vitals:***@127.0.0.1:5432/vitals"));
}

}  // namespace
}  // namespace vitals::secrecy
