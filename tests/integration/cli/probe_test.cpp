// `vitals probe` end to end: the real binary against real listeners on loopback.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "loopback_servers.hpp"
#include "run_process.hpp"
#include "vitals/http/server.hpp"
#include "vitals/service.hpp"

namespace vitals::cli::testing {
namespace {

using namespace std::chrono_literals;

process_result probe(std::vector<std::string> args, std::chrono::milliseconds bound = 10s) {
  args.insert(args.begin(), {VITALS_CLI_BIN, "probe"});
  auto r = run_process(args, bound);
  EXPECT_FALSE(r.killed_at_bound) << "probe outlived its own deadline";
  EXPECT_NE(r.exit_code, 2) << "2 is reserved by Docker";
  return r;
}

TEST(cli_probe, healthy_on_2xx_from_the_builtin_server) {
  registry reg;
  reg.add("ok", [](const context&) { return pass(); });
  service svc{std::move(reg)};
  http::server srv{svc, {.port = 0}};
  svc.start();
  srv.start();
  // The first result is published asynchronously: wait (bounded) for readiness.
  const std::string url = "http://127.0.0.1:" + std::to_string(srv.port()) + "/readyz";
  process_result r;
  for (int i = 0; i < 100; ++i) {
    r = probe({url});
    if (r.exit_code == 0) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");  // quiet on success: nothing to store in Docker's health log
  srv.stop();
  svc.stop();
}

TEST(cli_probe, unhealthy_on_503_from_the_builtin_server) {
  registry reg;
  reg.add("db", [](const context&) { return fail("connection refused"); });
  service svc{std::move(reg)};
  http::server srv{svc, {.port = 0}};
  svc.start();
  srv.start();
  const auto r =
      probe({"--timeout", "2s", "http://127.0.0.1:" + std::to_string(srv.port()) + "/readyz"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("503"), std::string::npos) << r.err;
  srv.stop();
  svc.stop();
}

TEST(cli_probe, status_codes_map_to_exit_codes) {
  struct row {
    const char* response;
    int expected;
  };
  for (const row& c :
       {row{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0},
        row{"HTTP/1.1 204 No Content\r\n\r\n", 0}, row{"HTTP/1.0 299 Whatever\r\n\r\n", 0},
        row{"HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n", 1},
        row{"HTTP/1.1 404 Not Found\r\n\r\n", 1},
        row{"HTTP/1.1 503 Service Unavailable\r\n\r\n", 1},
        row{"HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", 0}}) {
    canned_server srv{c.response};
    const auto r = probe({srv.url()});
    EXPECT_EQ(r.exit_code, c.expected) << c.response << r.err;
  }
}

TEST(cli_probe, refused_on_a_closed_port) {
  const auto r = probe({"http://127.0.0.1:" + std::to_string(closed_port()) + "/readyz"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
  EXPECT_LT(r.elapsed, 1000ms);
}

TEST(cli_probe, timeout_at_the_deadline_on_a_frozen_server) {
  frozen_server frozen;
  const auto r =
      probe({"--timeout", "300ms", "http://127.0.0.1:" + std::to_string(frozen.port()) + "/"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("timeout"), std::string::npos) << r.err;
  EXPECT_GE(r.elapsed, 290ms);
  EXPECT_LT(r.elapsed, 1500ms);  // hard deadline: not "eventually"
}

TEST(cli_probe, bad_response_from_a_garbage_listener) {
  canned_server ssh{"SSH-2.0-OpenSSH_9.2p1 Debian\r\n", /*answer_before_request=*/true};
  auto r = probe({ssh.url()});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  canned_server redis{"-ERR unknown command 'GET'\r\n"};
  r = probe({redis.url()});
  EXPECT_EQ(r.exit_code, 5) << r.err;
}

TEST(cli_probe, bad_response_when_closed_without_an_answer) {
  canned_server silent{""};
  auto r = probe({silent.url()});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  canned_server cut{"HTTP/1.1 20"};
  r = probe({cut.url()});
  EXPECT_EQ(r.exit_code, 5) << r.err;
}

TEST(cli_probe, sends_a_proper_request_with_extra_headers) {
  canned_server srv{"HTTP/1.1 200 OK\r\n\r\n"};
  const auto r = probe({"-H", "X-Probe: kubelet", "--header=Authorization: Bearer t0k3n",
                        srv.url("/readyz?verbose")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string req = srv.last_request();
  EXPECT_EQ(req.rfind("GET /readyz?verbose HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("\r\nHost: 127.0.0.1:" + std::to_string(srv.port()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(req.find("\r\nX-Probe: kubelet\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nAuthorization: Bearer t0k3n\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nConnection: close\r\n"), std::string::npos);
}

TEST(cli_probe, userinfo_becomes_basic_auth_and_is_never_printed) {
  canned_server srv{"HTTP/1.1 401 Unauthorized\r\n\r\n"};
  const auto r = probe({"http://ops:s3cr3tpw@127.0.0.1:" + std::to_string(srv.port()) + "/health"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(srv.last_request().find("Authorization: Basic b3BzOnMzY3IzdHB3\r\n"),
            std::string::npos);
  EXPECT_EQ(r.err.find("s3cr3tpw"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ops:***@"), std::string::npos) << r.err;
}

TEST(cli_probe, verbose_prints_the_response) {
  canned_server srv{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"};
  const auto r = probe({"-v", srv.url()});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("ok"), std::string::npos);
}

TEST(cli_probe, dns_failure_has_its_own_code) {
  const auto r = probe({"--timeout", "3s", "http://no-such-host.invalid/readyz"});
  EXPECT_EQ(r.exit_code, 6) << r.err;
}

TEST(cli_probe, usage_errors_are_64) {
  EXPECT_EQ(probe({}).exit_code, 64);
  EXPECT_EQ(probe({"ftp://127.0.0.1/"}).exit_code, 64);
  EXPECT_EQ(probe({"--timeout", "soon", "http://127.0.0.1:1/"}).exit_code, 64);
  EXPECT_EQ(probe({"--header", "no colon", "http://127.0.0.1:1/"}).exit_code, 64);
  EXPECT_EQ(probe({"--bogus", "http://127.0.0.1:1/"}).exit_code, 64);
  EXPECT_EQ(probe({"http://127.0.0.1:1/", "http://127.0.0.1:2/"}).exit_code, 64);
  const auto help = probe({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("exit codes"), std::string::npos);
}

// ---- https --------------------------------------------------------------------------------

class cli_probe_tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() / ("vitals-cli-tls-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    make_cert("good", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    make_cert("other", "subjectAltName=DNS:other.test");
    make_cert("client", "subjectAltName=DNS:prober");
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  static void make_cert(const std::string& name, const std::string& san) {
    const auto r =
        run_process({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=" + name,
                     "-addext", san, "-keyout", (dir_ / (name + ".key")).string(), "-out",
                     (dir_ / (name + ".pem")).string()},
                    30s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  static std::string file(const std::string& name) { return (dir_ / name).string(); }

  // Starts the HTTPS server; returns its URL.
  std::string serve(const std::string& cert, const std::string& status = "200 OK") {
    server_ = std::make_unique<background_process>(std::vector<std::string>{
        "/usr/bin/python3", VITALS_CLI_TLS_SERVER, "--cert", file(cert + ".pem"), "--key",
        file(cert + ".key"), "--status", status, "--lifetime", "30"});
    const std::string port = server_->first_line();
    EXPECT_FALSE(port.empty()) << "TLS test server did not start";
    return "https://127.0.0.1:" + port + "/readyz";
  }

  static inline std::filesystem::path dir_;
  std::unique_ptr<background_process> server_;
};

TEST_F(cli_probe_tls, trusted_with_ca) {
  const auto url = serve("good");
  const auto r = probe({"--ca", file("good.pem"), url});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(cli_probe_tls, unhealthy_status_over_tls) {
  const auto url = serve("good", "503 Service Unavailable");
  const auto r = probe({"--ca", file("good.pem"), url});
  EXPECT_EQ(r.exit_code, 1) << r.err;
}

TEST_F(cli_probe_tls, untrusted_certificate_is_a_tls_failure) {
  const auto url = serve("good");
  const auto r = probe({url});  // system store does not know our throw-away CA
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.err.find("certificate"), std::string::npos) << r.err;
}

TEST_F(cli_probe_tls, wrong_name_is_a_tls_failure_and_insecure_skips_it) {
  const auto url = serve("other");
  auto r = probe({"--ca", file("other.pem"), url});
  EXPECT_EQ(r.exit_code, 7) << r.err;
  r = probe({"--insecure", url});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(cli_probe_tls, tls_to_a_plain_http_server_fails_as_tls) {
  canned_server plain{"HTTP/1.1 400 Bad Request\r\n\r\n", /*answer_before_request=*/true};
  const auto r = probe({"https://127.0.0.1:" + std::to_string(plain.port()) + "/"});
  EXPECT_EQ(r.exit_code, 7) << r.err;
}

// The built-in server over HTTPS, as a Docker HEALTHCHECK would probe it.
class cli_probe_builtin_tls : public cli_probe_tls {
 protected:
  std::string serve_builtin(http::tls_options tls) {
    registry reg;
    reg.add("ok", [](const context&) { return pass(); },
            {.probes = live | ready | startup, .interval = 1s, .timeout = 500ms});
    svc_ = std::make_unique<service>(std::move(reg));
    svc_->start();
    srv_ = std::make_unique<http::server>(*svc_,
                                          http::server_options{.port = 0, .tls = std::move(tls)});
    srv_->start();
    return "https://127.0.0.1:" + std::to_string(srv_->port()) + "/livez";
  }
  void TearDown() override {
    if (srv_) srv_->stop();
    if (svc_) svc_->stop();
  }
  std::unique_ptr<service> svc_;
  std::unique_ptr<http::server> srv_;
};

TEST_F(cli_probe_builtin_tls, verifies_the_builtin_https_server) {
  const auto url = serve_builtin({.cert_file = file("good.pem"), .key_file = file("good.key")});
  auto r = probe({"--ca", file("good.pem"), url});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = probe({"--ca", file("other.pem"), url});  // not the issuer
  EXPECT_EQ(r.exit_code, 7) << r.err;
}

TEST_F(cli_probe_builtin_tls, presents_a_client_certificate_to_an_mtls_only_server) {
  const auto url = serve_builtin({.cert_file = file("good.pem"),
                                  .key_file = file("good.key"),
                                  .client_ca_file = file("client.pem"),
                                  .require_client_cert = true});
  auto r = probe({"--ca", file("good.pem"), url});
  EXPECT_NE(r.exit_code, 0) << "served without a client certificate";
  r = probe(
      {"--ca", file("good.pem"), "--cert", file("client.pem"), "--key", file("client.key"), url});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // A key that is not the certificate's: refused before connecting.
  r = probe(
      {"--ca", file("good.pem"), "--cert", file("client.pem"), "--key", file("good.key"), url});
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.err.find("--key"), std::string::npos) << r.err;
  EXPECT_EQ(probe({"--cert", file("client.pem"), url}).exit_code, 64);
}

}  // namespace
}  // namespace vitals::cli::testing
