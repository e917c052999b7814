// HTTPS on the built-in server: real TLS handshakes over loopback, every client verifying the
// server's certificate (chain to a test CA generated at test time, name 127.0.0.1).
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "pki.hpp"
#include "server_fixture.hpp"
#include "tls_client.hpp"
#include "vitals/http/events.hpp"
#include "vitals/http/server.hpp"

namespace vitals::test {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view withheld = "[-]db failed: reason withheld\n";
constexpr std::string_view shown = "[-]db failed: connection refused by db-7\n";

class tls_test : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = pki_.issue("server", {.common_name = "first"});
    prober_ = pki_.issue("prober", {.common_name = "prober", .client = true});
  }

  void TearDown() override {
    if (srv_) srv_->stop();
    if (svc_) svc_->stop();
  }

  /// A live check that passes and a ready one that fails with an output only authorized
  /// callers may see, behind the server with `o` (its TLS files default to `server_`).
  void start(http::server_options o = {}, http::handler_options h = {}) {
    registry reg;
    reg.add("alive", [](const context&) { return pass(); },
            {.probes = live | ready | startup, .interval = 1s, .timeout = 500ms});
    reg.add("db", [](const context&) { return fail("connection refused by db-7"); },
            {.probes = ready, .interval = 1s, .timeout = 500ms});
    svc_ =
        std::make_unique<service>(std::move(reg), service_options{.on_event = [](const event&) {}});
    svc_->start();
    ASSERT_TRUE(
        eventually([&] { return svc_->current()->probe_status(probe::ready) == status::fail; }));
    o.address = "127.0.0.1";
    o.port = 0;
    if (o.tls.cert_file.empty()) {
      o.tls.cert_file = server_.cert_file;
      o.tls.key_file = server_.key_file;
    }
    srv_ = std::make_unique<http::server>(*svc_, std::move(o), std::move(h));
    srv_->start();
  }

  tls_client connect(tls_client_options o = {}) {
    if (o.ca_file.empty()) o.ca_file = pki_.ca().cert_file;
    return tls_client{srv_->port(), o};
  }
  tls_client_options as_prober() const {
    return {.cert_file = prober_.cert_file, .key_file = prober_.key_file};
  }

  testkit::pki pki_{};
  testkit::credential server_{};
  testkit::credential prober_{};
  std::unique_ptr<service> svc_{};
  std::unique_ptr<http::server> srv_{};
};

TEST_F(tls_test, serves_verified_keep_alive_and_pipelined_requests) {
  start();
  tls_client c = connect({.alpn = {"h2", "http/1.1"}});
  EXPECT_EQ(c.alpn(), "http/1.1");  // h2 is offered first; the server speaks HTTP/1.1 only
  EXPECT_EQ(c.peer_common_name(), "first");
  for (int i = 0; i < 50; ++i) {
    const auto r = c.get("/livez");
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "ok");
  }
  ASSERT_TRUE(
      c.send("GET /livez HTTP/1.1\r\nHost: t\r\n\r\nGET /readyz HTTP/1.1\r\nHost: t\r\n\r\n"
             "GET /startupz HTTP/1.1\r\nHost: t\r\n\r\n"));
  const auto a = c.read_reply();
  const auto b = c.read_reply();
  const auto d = c.read_reply();
  ASSERT_TRUE(a && b && d);
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(b->status, 503);
  EXPECT_EQ(d->status, 200);
  EXPECT_EQ(srv_->stats().tls_handshake_failures, 0U);
}

TEST_F(tls_test, event_streams_are_encrypted_like_any_answer) {
  auto feed = std::make_shared<http::event_feed>();
  start({}, {.events = feed});
  tls_client c = connect();
  ASSERT_TRUE(c.send(get("/api/v1/events", "Accept: text/event-stream\r\n")));
  ASSERT_TRUE(c.read_until("event: ready\n", 3s)) << c.buffered();
  EXPECT_NE(c.buffered().find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  const auto id = feed->publish({.check = "db", .from = status::pass, .to = status::fail});
  ASSERT_TRUE(c.read_until("id: " + std::to_string(id) + "\nevent: status\n", 3s));
  EXPECT_EQ(srv_->stats().event_streams, 1U);
  // The stream's client going away frees its place at once.
  c = connect();
  EXPECT_TRUE(eventually([&] { return srv_->stats().event_streams == 0; }));
  EXPECT_EQ(c.get("/livez")->status, 200);
}

TEST_F(tls_test, plain_http_on_the_tls_port_is_closed_and_counted) {
  start();
  client plain{srv_->port()};
  ASSERT_TRUE(plain.send("GET /livez HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_TRUE(plain.wait_closed(3s));
  EXPECT_EQ(plain.buffered().find("HTTP/1.1 200"), std::string::npos);
  EXPECT_TRUE(eventually([&] { return srv_->stats().tls_handshake_failures == 1; }));
  // A TCP health check of the port (connect, close) is not a failed handshake.
  { client tcp_only{srv_->port()}; }
  EXPECT_EQ(connect().get("/livez")->status, 200);
  EXPECT_EQ(srv_->stats().tls_handshake_failures, 1U);
}

TEST_F(tls_test, a_client_that_does_not_trust_the_issuer_refuses_the_server) {
  start();
  testkit::pki other;
  EXPECT_THROW(connect({.ca_file = other.ca().cert_file}), tls_refused);
}

TEST_F(tls_test, the_handshake_counts_in_the_header_timeout) {
  // Deadlines are enforced within a quarter of the shortest timeout: closed 1-1.25 s after
  // accept.
  start({.header_timeout = 1s, .idle_timeout = 10s});
  // A handshake that never finishes: a TLS record header, then nothing (slowloris on TLS).
  client slow{srv_->port()};
  ASSERT_TRUE(slow.send(std::string_view{"\x16\x03\x01\x00\x80", 5}));
  // A handshake that finishes, then a head that starts 800 ms after accept and ends at 1.4 s:
  // in time if the header clock started at its first byte (due at 1.8 s), late because it
  // started at accept.
  tls_client late = connect();
  std::this_thread::sleep_for(800ms);
  const std::string head = "GET /livez HTTP/1.1\r\nHost: t\r\n\r\n";
  for (std::size_t i = 0; i < head.size(); i += 4) {
    if (!late.send(head.substr(i, 4))) break;
    std::this_thread::sleep_for(600ms / ((head.size() + 3) / 4));
  }
  EXPECT_TRUE(late.wait_closed(3s));
  EXPECT_EQ(late.buffered(), "");
  EXPECT_TRUE(slow.wait_closed(3s));
  // A prompt client is served as usual.
  EXPECT_EQ(connect().get("/livez")->status, 200);
}

TEST_F(tls_test, a_verified_client_certificate_unlocks_details_as_the_token_does) {
  start({.tls = {.cert_file = server_.cert_file,
                 .key_file = server_.key_file,
                 .client_ca_file = pki_.ca().cert_file}});
  const auto anonymous = connect().get("/readyz?verbose");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 503);
  EXPECT_NE(anonymous->body.find(withheld), std::string::npos) << anonymous->body;

  const auto prober = connect(as_prober()).get("/readyz?verbose");
  ASSERT_TRUE(prober);
  EXPECT_EQ(prober->status, 503);
  EXPECT_NE(prober->body.find(shown), std::string::npos) << prober->body;

  // A certificate from another CA: still served (the probe gets its status), details hidden.
  testkit::pki other;
  const testkit::credential stranger = other.issue("stranger", {.client = true});
  tls_client sc = connect({.cert_file = stranger.cert_file, .key_file = stranger.key_file});
  const auto r = sc.get("/readyz?verbose");
  ASSERT_TRUE(r) << "failures " << srv_->stats().tls_handshake_failures << " buffered '"
                 << sc.buffered() << "' " << ERR_error_string(ERR_peek_last_error(), nullptr);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find(withheld), std::string::npos) << r->body;
}

TEST_F(tls_test, detail_policy_nobody_hides_details_from_client_certificates_too) {
  start({.tls = {.cert_file = server_.cert_file,
                 .key_file = server_.key_file,
                 .client_ca_file = pki_.ca().cert_file}},
        {.details = http::detail_policy::nobody});
  const auto r = connect(as_prober()).get("/readyz?verbose");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find(withheld), std::string::npos) << r->body;
}

TEST_F(tls_test, require_client_cert_refuses_clients_without_one) {
  start({.tls = {.cert_file = server_.cert_file,
                 .key_file = server_.key_file,
                 .client_ca_file = pki_.ca().cert_file,
                 .require_client_cert = true}});
  // TLS 1.3: the client's handshake ends before the server judges its certificate, so the
  // refusal arrives as an alert on the first read.
  bool refused = false;
  try {
    tls_client c = connect();
    refused = !c.get("/livez").has_value();
  } catch (const tls_refused&) {
    refused = true;
  }
  EXPECT_TRUE(refused);
  EXPECT_TRUE(eventually([&] { return srv_->stats().tls_handshake_failures >= 1; }));
  const auto r = connect(as_prober()).get("/livez");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(tls_test, min_version_1_3_refuses_tls_1_2) {
  start({.tls = {.cert_file = server_.cert_file,
                 .key_file = server_.key_file,
                 .min_version = http::tls_version::tls1_3}});
  EXPECT_THROW(connect({.max_version = TLS1_2_VERSION}), tls_refused);
  tls_client c = connect();
  EXPECT_EQ(c.version(), "TLSv1.3");
  EXPECT_EQ(c.get("/livez")->status, 200);
}

TEST_F(tls_test, tls_1_2_is_served_by_default) {
  start();
  tls_client c = connect({.max_version = TLS1_2_VERSION});
  EXPECT_EQ(c.version(), "TLSv1.2");
  EXPECT_EQ(c.get("/livez")->status, 200);
}

// cert-manager style rotation: new files renamed over the old ones.
TEST_F(tls_test, a_rotated_certificate_serves_new_connections_and_keeps_open_ones) {
  const fs::path dir = pki_.dir() / "mounted";
  fs::create_directories(dir);
  fs::copy_file(server_.cert_file, dir / "tls.crt");
  fs::copy_file(server_.key_file, dir / "tls.key");
  start({.tls = {.cert_file = dir / "tls.crt", .key_file = dir / "tls.key"}});
  tls_client open = connect();
  EXPECT_EQ(open.peer_common_name(), "first");
  EXPECT_EQ(open.get("/livez")->status, 200);

  const testkit::credential next = pki_.issue("second", {.common_name = "second"});
  fs::copy_file(next.key_file, dir / "tls.key.new");
  fs::copy_file(next.cert_file, dir / "tls.crt.new");
  fs::rename(dir / "tls.key.new", dir / "tls.key");
  fs::rename(dir / "tls.crt.new", dir / "tls.crt");

  EXPECT_TRUE(eventually([&] { return connect().peer_common_name() == "second"; }, 10s));
  EXPECT_GE(srv_->stats().tls_reloads, 1U);
  EXPECT_EQ(srv_->tls_reload_error(), "");
  // The connection opened before the rotation was never dropped.
  const auto r = open.get("/livez");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(open.peer_common_name(), "first");
}

TEST_F(tls_test, a_half_written_rotation_keeps_the_previous_certificate) {
  const fs::path dir = pki_.dir() / "half";
  fs::create_directories(dir);
  fs::copy_file(server_.cert_file, dir / "tls.crt");
  fs::copy_file(server_.key_file, dir / "tls.key");
  start({.tls = {.cert_file = dir / "tls.crt", .key_file = dir / "tls.key"}});

  // The certificate is replaced, its key not yet: they do not match.
  const testkit::credential next = pki_.issue("second", {.common_name = "second"});
  fs::copy_file(next.cert_file, dir / "tls.crt", fs::copy_options::overwrite_existing);
  ASSERT_TRUE(eventually([&] { return srv_->stats().tls_reload_failures >= 1; }, 10s));
  EXPECT_NE(srv_->tls_reload_error().find("does not match"), std::string::npos)
      << srv_->tls_reload_error();
  EXPECT_EQ(connect().peer_common_name(), "first");

  fs::copy_file(next.key_file, dir / "tls.key", fs::copy_options::overwrite_existing);
  EXPECT_TRUE(eventually([&] { return connect().peer_common_name() == "second"; }, 10s));
  EXPECT_EQ(srv_->tls_reload_error(), "");
}

TEST_F(tls_test, files_that_cannot_be_loaded_fail_start_naming_the_file) {
  const std::string missing = (pki_.dir() / "nope.crt").string();
  const http::tls_options bad_cert{.cert_file = missing, .key_file = server_.key_file};
  EXPECT_NE(http::validate_tls(bad_cert).find("cert_file '" + missing + "'"), std::string::npos)
      << http::validate_tls(bad_cert);
  const http::tls_options mismatch{.cert_file = server_.cert_file, .key_file = prober_.key_file};
  EXPECT_NE(http::validate_tls(mismatch).find("does not match"), std::string::npos);
  EXPECT_EQ(http::validate_tls({.cert_file = server_.cert_file, .key_file = server_.key_file}), "");
  EXPECT_EQ(http::validate_tls({}), "");
  EXPECT_NE(http::validate_tls({.cert_file = server_.cert_file}).find("key_file"),
            std::string::npos);

  service svc{registry{}};
  http::server srv{svc, {.port = 0, .tls = bad_cert}};
  try {
    srv.start();
    ADD_FAILURE() << "start() accepted a missing certificate";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string{e.what()}.find(missing), std::string::npos) << e.what();
  }
}

TEST_F(tls_test, idle_tls_connections_make_room_for_the_probe_at_the_cap) {
  start({.max_connections = 4});
  std::vector<tls_client> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(connect());
    ASSERT_EQ(idle.back().get("/livez")->status, 200);
  }
  for (int i = 0; i < 3; ++i) {
    const auto r = connect().get("/livez");
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_GE(srv_->stats().evicted_idle, 1U);
  // Silent TCP connections at the cap: the probe still gets through.
  std::vector<client> silent;
  for (int i = 0; i < 8; ++i) silent.emplace_back(srv_->port());
  const auto r = connect().get("/livez");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // Every TLS session is released with its connection.
  idle.clear();
  silent.clear();
  EXPECT_TRUE(eventually([&] { return srv_->connections() == 0; }));
}

}  // namespace
}  // namespace vitals::test
