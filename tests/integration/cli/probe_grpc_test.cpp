// `vitals probe grpc://` end to end: the real binary against real gRPC servers on loopback that
// no one here wrote the protocol of: the grpc++ peer with gRPC's own default health service
// (tests/peers) and a Python grpcio server (grpc_health_server.py, which also shows the metadata
// it received).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "loopback_servers.hpp"
#include "probe_grpc_servers.hpp"
#include "run_process.hpp"

namespace vitals::cli::testing {
namespace {

using namespace std::chrono_literals;

process_result probe(std::vector<std::string> args, std::chrono::milliseconds bound = 10s,
                     const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), {VITALS_CLI_BIN, "probe"});
  auto r = run_process(args, bound, env);
  EXPECT_FALSE(r.killed_at_bound) << "probe outlived its own deadline";
  EXPECT_NE(r.exit_code, 2) << "2 is reserved by Docker";
  return r;
}

std::string url(int port, const std::string& service = "") {
  return "grpc://127.0.0.1:" + std::to_string(port) + (service.empty() ? "" : "/" + service);
}

// Throw-away certificates, shared by the TLS cases of both servers.
class certs {
 public:
  static std::filesystem::path dir() {
    return std::filesystem::temp_directory_path() /
           ("vitals-cli-grpc-tls-" + std::to_string(getpid()));
  }
  // Made on first use (again after remove()).
  static std::string file(const std::string& name) {
    const auto d = dir();
    if (!std::filesystem::exists(d / "client.key")) {
      std::filesystem::create_directories(d);
      make(d, "good", "subjectAltName=IP:127.0.0.1,DNS:localhost");
      make(d, "other", "subjectAltName=DNS:other.test");
      make(d, "client", "subjectAltName=DNS:prober");
    }
    return (d / name).string();
  }
  static void remove() { std::filesystem::remove_all(dir()); }

 private:
  static void make(const std::filesystem::path& dir, const std::string& name,
                   const std::string& san) {
    const auto r =
        run_process({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=" + name,
                     "-addext", san, "-keyout", (dir / (name + ".key")).string(), "-out",
                     (dir / (name + ".pem")).string()},
                    30s);
    if (r.exit_code != 0) throw std::runtime_error("openssl: " + r.err);
  }
};

// ---- the grpc++ server with gRPC's own default health service ---------------------------

class cli_probe_grpc_peer : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { certs::remove(); }

  int start(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {VITALS_GRPC_PEER_SERVER, "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    server_ = std::make_unique<peer_process>(argv);
    const int port = server_->wait_port();
    EXPECT_GT(port, 0) << "the grpc++ peer did not start";
    return port;
  }
  int start_tls(const std::string& cert, bool mtls = false) {
    std::vector<std::string> extra = {"--tls-cert", certs::file(cert + ".pem"), "--tls-key",
                                      certs::file(cert + ".key")};
    if (mtls) extra.insert(extra.end(), {"--client-ca", certs::file("client.pem")});
    return start(extra);
  }
  void set(const std::string& service, const std::string& status) {
    ASSERT_EQ(server_->command("set " + service + " " + status), "ok");
  }

  std::unique_ptr<peer_process> server_;
};

TEST_F(cli_probe_grpc_peer, serving_is_healthy_and_quiet) {
  const int port = start();
  const auto r = probe({url(port)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  const auto v = probe({"-v", url(port)});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_EQ(v.out, "status: SERVING\n");
}

TEST_F(cli_probe_grpc_peer, not_serving_is_unhealthy) {
  const int port = start();
  set("-", "NOT_SERVING");
  const auto r = probe({url(port)});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("NOT_SERVING"), std::string::npos) << r.err;
  set("-", "SERVING");
  EXPECT_EQ(probe({url(port)}).exit_code, 0);
}

TEST_F(cli_probe_grpc_peer, named_services_from_the_path_or_the_flag) {
  const int port = start();
  set("my.pkg.Orders", "SERVING");
  set("my.pkg.Billing", "NOT_SERVING");
  EXPECT_EQ(probe({url(port, "my.pkg.Orders")}).exit_code, 0);
  EXPECT_EQ(probe({"--service", "my.pkg.Orders", url(port)}).exit_code, 0);
  EXPECT_EQ(probe({"-service=my.pkg.Orders", url(port)}).exit_code, 0);  // Go-style flag
  const auto r = probe({"--service=my.pkg.Billing", url(port)});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("service \"my.pkg.Billing\": NOT_SERVING"), std::string::npos) << r.err;
}

TEST_F(cli_probe_grpc_peer, ipv6_literal) {
  const int port = start({"--listen", "[::1]:0"});  // the later --listen wins
  const auto r = probe({"grpc://[::1]:" + std::to_string(port)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(cli_probe_grpc_peer, unknown_service_is_an_rpc_failure) {
  const int port = start();
  const auto r = probe({url(port, "no.such.Service")});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find("NOT_FOUND"), std::string::npos) << r.err;
}

TEST_F(cli_probe_grpc_peer, a_server_without_health_service_is_an_rpc_failure) {
  const int port = start({"--no-health"});
  const auto r = probe({url(port)});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find("UNIMPLEMENTED"), std::string::npos) << r.err;
}

TEST_F(cli_probe_grpc_peer, frozen_server_times_out_at_the_rpc_deadline) {
  const int port = start();
  ASSERT_EQ(probe({url(port)}).exit_code, 0);
  ASSERT_EQ(kill(server_->pid(), SIGSTOP), 0);
  const auto r = probe({"--rpc-timeout", "300ms", url(port)});
  kill(server_->pid(), SIGCONT);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("timeout"), std::string::npos) << r.err;
  EXPECT_GE(r.elapsed, 290ms);
  EXPECT_LT(r.elapsed, 1500ms);  // hard deadline: not "eventually"
}

TEST_F(cli_probe_grpc_peer, whole_probe_cap_wins_over_longer_timeouts) {
  frozen_server frozen;  // a listener that never answers
  const auto r = probe({"--rpc-timeout=5s", "--timeout=300ms", url(frozen.port())});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_LT(r.elapsed, 1500ms);
}

TEST_F(cli_probe_grpc_peer, tls_with_the_ca) {
  const int port = start_tls("good");
  auto r = probe({"--tls", "--tls-ca-cert", certs::file("good.pem"), url(port)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  set("-", "NOT_SERVING");
  r = probe({"--tls", "--tls-ca-cert=" + certs::file("good.pem"), url(port)});
  EXPECT_EQ(r.exit_code, 1) << r.err;
}

TEST_F(cli_probe_grpc_peer, untrusted_certificate_is_a_tls_failure) {
  const int port = start_tls("good");
  const auto r = probe({"--tls", url(port)});  // the system store does not know our CA
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.err.find("certificate"), std::string::npos) << r.err;
}

TEST_F(cli_probe_grpc_peer, wrong_server_name_fails_unless_named_or_not_verified) {
  const int port = start_tls("other");  // DNS:other.test, not 127.0.0.1
  auto r = probe({"--tls", "--tls-ca-cert", certs::file("other.pem"), url(port)});
  EXPECT_EQ(r.exit_code, 7) << r.err;
  r = probe({"--tls", "--tls-ca-cert", certs::file("other.pem"), "--tls-server-name", "other.test",
             url(port)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = probe({"--tls", "--tls-server-name", "wrong.test", "--tls-ca-cert", certs::file("other.pem"),
             url(port)});
  EXPECT_EQ(r.exit_code, 7) << r.err;
  r = probe({"--tls", "--tls-no-verify", url(port)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(cli_probe_grpc_peer, mtls_needs_the_client_certificate) {
  const int port = start_tls("good", /*mtls=*/true);
  auto r = probe({"--tls", "--tls-ca-cert", certs::file("good.pem"), url(port)});
  EXPECT_NE(r.exit_code, 0) << "served without a client certificate";
  EXPECT_NE(r.err.find("client certificate"), std::string::npos) << r.err;
  r = probe({"--tls", "--tls-ca-cert", certs::file("good.pem"), "--tls-client-cert",
             certs::file("client.pem"), "--tls-client-key", certs::file("client.key"), url(port)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // A key that is not the certificate's: refused before anything is sent.
  r = probe({"--tls", "--tls-ca-cert", certs::file("good.pem"), "--tls-client-cert",
             certs::file("client.pem"), "--tls-client-key", certs::file("good.key"), url(port)});
  EXPECT_EQ(r.exit_code, 7) << r.err;
}

TEST_F(cli_probe_grpc_peer, h2c_to_a_tls_port_is_not_a_grpc_answer) {
  const int port = start_tls("good");
  const auto r = probe({url(port)});
  EXPECT_TRUE(r.exit_code == 5 || r.exit_code == 4) << r.exit_code << " " << r.err;
}

// ---- outside any server -----------------------------------------------------------------

TEST(cli_probe_grpc, refused_on_a_closed_port) {
  const auto r = probe({url(closed_port())});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
  EXPECT_LT(r.elapsed, 1000ms);
}

TEST(cli_probe_grpc, dns_failure_has_its_own_code) {
  const auto r = probe({"--connect-timeout", "3s", "grpc://no-such-host.invalid:50051"});
  EXPECT_EQ(r.exit_code, 6) << r.err;
}

TEST(cli_probe_grpc, an_http1_server_is_not_a_grpc_answer) {
  canned_server http1{"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
                      /*answer_before_request=*/true};
  const auto r = probe({url(http1.port())});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find("HTTP/1"), std::string::npos) << r.err;
}

TEST(cli_probe_grpc, garbage_and_silence_are_bad_responses) {
  canned_server ssh{"SSH-2.0-OpenSSH_9.2p1 Debian\r\n", /*answer_before_request=*/true};
  auto r = probe({url(ssh.port())});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  canned_server silent{"", /*answer_before_request=*/true};
  r = probe({url(silent.port())});
  EXPECT_EQ(r.exit_code, 5) << r.err;
}

TEST(cli_probe_grpc, usage_errors_are_64) {
  const std::string u = "grpc://127.0.0.1:1";
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"grpc://127.0.0.1"},        // no port
           {"grpc://u:p@127.0.0.1:1"},  // userinfo
           {"--tls-ca-cert", "/x", u},  // TLS option without --tls
           {"--tls", "--tls-no-verify", "--tls-ca-cert", "/x", u},
           {"--tls", "--tls-client-cert", "/x", u},  // without its key
           {"--rpc-header", "no colon", u},
           {"--rpc-header", "content-type: text/plain", u},  // the probe's own header
           {"--rpc-header", "bad name: x", u},
           {"--rpc-timeout", "soon", u},
           {"--connect-timeout=0", u},
           {"--tls=maybe", u},
           {"--service", "a", "grpc://127.0.0.1:1/b"},  // two services
           {"--bogus", u},
           {u, "grpc://127.0.0.1:2"}}) {
    const auto r = probe(args);
    EXPECT_EQ(r.exit_code, 64) << ::testing::PrintToString(args) << r.err;
  }
  const auto help = probe({"grpc://", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("grpc-health-probe"), std::string::npos);
}

// ---- answers no correct server sends (hand-made HTTP/2) -----------------------------------

using fields = std::vector<std::pair<std::string, std::string>>;
const fields grpc_head = {{":status", "200"}, {"content-type", "application/grpc"}};
const fields ok_trailers = {{"grpc-status", "0"}};
const std::string serving = h2::message("\x08\x01");

struct hostile_case {
  const char* what;
  std::string bytes;
  int expected;
  const char* says;
};

TEST(cli_probe_grpc, hand_made_answers_are_judged_defensively) {
  using h2::answer;
  using h2::message;
  const std::vector<hostile_case> cases = {
      {"well-formed SERVING", answer(grpc_head, serving, ok_trailers), 0, ""},
      {"NOT_SERVING", answer(grpc_head, message("\x08\x02"), ok_trailers), 1, "NOT_SERVING"},
      {"an enum value of the future", answer(grpc_head, message("\x08\x07"), ok_trailers), 1,
       "status 7"},
      {"no status field: UNKNOWN", answer(grpc_head, message(""), ok_trailers), 1, "UNKNOWN"},
      {"unknown fields around the status",
       answer(grpc_head,
              message(std::string("\x12\x03"
                                  "abc"
                                  "\x08\x01\x18\x05",
                                  9)),
              ok_trailers),
       0, ""},
      {"compressed", answer(grpc_head, message("\x08\x01", 1), ok_trailers), 5, "compressed"},
      {"1 GiB announced", answer(grpc_head, message("\x08\x01", 0, 1u << 30), ok_trailers), 5,
       "too large"},
      {"two messages", answer(grpc_head, serving + serving, ok_trailers), 5, "more than one"},
      {"truncated message", answer(grpc_head, message("\x08", 0, 2), ok_trailers), 5, "truncated"},
      {"malformed protobuf", answer(grpc_head, message("\x08\x80"), ok_trailers), 5, "malformed"},
      {"no message at all", answer(grpc_head, "", ok_trailers), 5, "no response message"},
      {"no trailers", answer(grpc_head, serving, {}), 5, "without grpc-status"},
      {"HTTP 503", answer({{":status", "503"}, {"content-type", "application/grpc"}}, "", {}), 5,
       "HTTP status 503"},
      {"not gRPC", answer({{":status", "200"}, {"content-type", "text/html"}}, "<html>", {}), 5,
       "text/html"},
      {"trailers-only UNAVAILABLE",
       answer({{":status", "200"},
               {"content-type", "application/grpc"},
               {"grpc-status", "14"},
               {"grpc-message", "backend%20down%0A"}},
              "", {}),
       5, "UNAVAILABLE: backend down?"},
      {"DEADLINE_EXCEEDED from the server", answer(grpc_head, "", {{"grpc-status", "4"}}), 3,
       "DEADLINE_EXCEEDED"},
      {"stream reset",
       h2::frame(h2::settings, 0, 0, "") +
           h2::frame(h2::rst_stream, 0, 1, std::string("\0\0\0\x02", 4)),
       5, "INTERNAL_ERROR"},
      {"GOAWAY",
       h2::frame(h2::settings, 0, 0, "") +
           h2::frame(h2::goaway, 0, 0, std::string("\0\0\0\0\0\0\0\x0b", 8)),
       5, "GOAWAY"},
      {"cut in the middle of the DATA",
       h2::frame(h2::settings, 0, 0, "") +
           h2::frame(h2::headers, h2::end_headers, 1, h2::block(grpc_head)) +
           h2::frame(h2::data, 0, 1, serving).substr(0, 12),
       5, "closed before the end"},
  };
  for (const hostile_case& c : cases) {
    h2_canned_server srv{c.bytes};
    const auto r = probe({"--rpc-timeout", "2s", url(srv.port(), "svc")});
    EXPECT_EQ(r.exit_code, c.expected) << c.what << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.what << ": " << r.err;
  }
}

// libnghttp2 is loaded only for grpc:// (and OpenSSL only with --tls): LD_DEBUG shows what the
// loader maps.
TEST(cli_probe_grpc, nghttp2_is_loaded_only_for_grpc) {
  canned_server http{"HTTP/1.1 200 OK\r\n\r\n"};
  auto r = probe({http.url()}, 10s, {"LD_DEBUG=files"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("libnghttp2"), std::string::npos) << r.err;
  r = probe({url(closed_port())}, 10s, {"LD_DEBUG=files"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("libnghttp2"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("libssl"), std::string::npos) << r.err;
}

// ---- the Python grpcio server ------------------------------------------------------------

class cli_probe_grpc_python : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { certs::remove(); }

  int start(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"/usr/bin/python3", VITALS_CLI_GRPC_PY_SERVER,
                                     "--proto",          VITALS_HEALTH_PROTO,
                                     "--lifetime",       "60"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    server_ = std::make_unique<peer_process>(argv);
    const int port = server_->wait_port();
    EXPECT_GT(port, 0) << "the Python grpcio server did not start";
    return port;
  }
  nlohmann::json last_call() { return nlohmann::json::parse(server_->command("last")); }

  std::unique_ptr<peer_process> server_;
};

TEST_F(cli_probe_grpc_python, statuses_map_to_exit_codes) {
  const int port = start();
  EXPECT_EQ(probe({url(port)}).exit_code, 0);
  ASSERT_EQ(server_->command("set orders NOT_SERVING"), "ok");
  ASSERT_EQ(server_->command("set billing UNKNOWN"), "ok");
  ASSERT_EQ(server_->command("set search SERVICE_UNKNOWN"), "ok");
  EXPECT_EQ(probe({url(port, "orders")}).exit_code, 1);
  EXPECT_EQ(probe({url(port, "billing")}).exit_code, 1);
  const auto r = probe({url(port, "search")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("SERVICE_UNKNOWN"), std::string::npos) << r.err;
  const auto unknown = probe({url(port, "nope")});
  EXPECT_EQ(unknown.exit_code, 5) << unknown.err;
  EXPECT_NE(unknown.err.find("NOT_FOUND: unknown service"), std::string::npos) << unknown.err;
  EXPECT_EQ(last_call()["service"], "nope");
}

TEST_F(cli_probe_grpc_python, metadata_user_agent_and_deadline_reach_the_server) {
  const int port = start();
  const auto r =
      probe({"--rpc-header", "x-probe: kubelet", "-rpc-header=Authorization:Bearer t0k",
             "--user-agent", "docker-healthcheck/1", "--rpc-timeout", "1500ms", url(port)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto call = last_call();
  EXPECT_EQ(call["service"], "");
  EXPECT_EQ(call["metadata"]["x-probe"], "kubelet");
  EXPECT_EQ(call["metadata"]["authorization"], "Bearer t0k");
  EXPECT_NE(call["metadata"]["user-agent"].get<std::string>().find("docker-healthcheck/1"),
            std::string::npos)
      << call.dump();
  const int left = call["time_remaining_ms"].get<int>();  // from our grpc-timeout header
  EXPECT_GT(left, 500) << call.dump();
  EXPECT_LE(left, 1500) << call.dump();
  // The default user agent.
  ASSERT_EQ(probe({url(port)}).exit_code, 0);
  EXPECT_NE(last_call()["metadata"]["user-agent"].get<std::string>().find("vitals-probe/1"),
            std::string::npos);
}

TEST_F(cli_probe_grpc_python, a_slow_answer_times_out_at_the_rpc_deadline) {
  const int port = start();
  const auto r = probe({"--rpc-timeout", "300ms", url(port, "sleep")});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_GE(r.elapsed, 250ms);  // the server may answer DEADLINE_EXCEEDED itself, just before
  EXPECT_LT(r.elapsed, 1500ms);
}

TEST_F(cli_probe_grpc_python, tls_and_mtls) {
  int port = start({"--tls-cert", certs::file("good.pem"), "--tls-key", certs::file("good.key")});
  EXPECT_EQ(probe({"--tls", "--tls-ca-cert", certs::file("good.pem"), url(port)}).exit_code, 0);
  EXPECT_EQ(probe({"--tls", url(port)}).exit_code, 7);
  EXPECT_EQ(probe({"--tls", "--tls-no-verify", url(port)}).exit_code, 0);
  port = start({"--tls-cert", certs::file("good.pem"), "--tls-key", certs::file("good.key"),
                "--client-ca", certs::file("client.pem")});
  EXPECT_NE(probe({"--tls", "--tls-ca-cert", certs::file("good.pem"), url(port)}).exit_code, 0);
  const auto r =
      probe({"--tls", "--tls-ca-cert", certs::file("good.pem"), "--tls-client-cert",
             certs::file("client.pem"), "--tls-client-key", certs::file("client.key"), url(port)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace vitals::cli::testing
