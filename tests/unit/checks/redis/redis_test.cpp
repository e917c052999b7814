#include "vitals/checks/redis.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <string>

#include "redis/redis_detail.hpp"

namespace {

using vitals::failure_kind;
using vitals::checks::detail::classify_tls_failure;
using vitals::checks::detail::kind_of_redis_error;
using vitals::checks::detail::parse_redis_target;
using vitals::checks::detail::redis_version_from_info;
using vitals::checks::detail::resp_command;

std::string construction_error(vitals::checks::redis_options o) {
  try {
    (void)vitals::checks::redis(std::move(o));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception>";
}

TEST(redis_url, acl_user_password_and_db) {
  const auto t = parse_redis_target("redis://vitals:s%3Acret@cache:6380/3", "", "", "");
  EXPECT_EQ(t.host, "cache");
  EXPECT_EQ(t.port, 6380);
  EXPECT_EQ(t.username, "vitals");
  EXPECT_EQ(t.password, "s:cret");
  EXPECT_TRUE(t.has_password);
  EXPECT_EQ(t.db, 3);
}

TEST(redis_url, requirepass_form_defaults_and_overrides) {
  const auto p = parse_redis_target("redis://:pw@127.0.0.1", "", "", "replica");
  EXPECT_EQ(p.username, "");
  EXPECT_EQ(p.password, "pw");
  EXPECT_EQ(p.port, 6379);
  EXPECT_EQ(p.db, 0);
  EXPECT_EQ(p.expect_role, "slave");
  const auto n = parse_redis_target("redis://[::1]:7000", "", "", "primary");
  EXPECT_EQ(n.host, "::1");
  EXPECT_FALSE(n.has_password);
  EXPECT_EQ(n.expect_role, "master");
  const auto o = parse_redis_target("redis://h", "ops", "from-vault", "");
  EXPECT_EQ(o.username, "ops");
  EXPECT_EQ(o.password, "from-vault");
}

TEST(redis_options, bad_input_is_rejected_without_the_password) {
  for (const auto& o :
       {vitals::checks::redis_options{.url = "rediss://a:hunter2pw@h:6379/x"},
        vitals::checks::redis_options{.url = "http://a:hunter2pw@h"},
        vitals::checks::redis_options{.url = "redis://a:hunter2pw@h/notanumber"},
        vitals::checks::redis_options{.url = "redis://a:hunter2pw@/0"},
        vitals::checks::redis_options{.url = "redis://a:hunter2pw@h", .expect_role = "leader"}}) {
    const auto e = construction_error(o);
    EXPECT_NE(e, "<no exception>") << o.url;
    EXPECT_EQ(e.find("hunter2pw"), std::string::npos) << e;
  }
}

TEST(redis_url, rediss_means_tls_on_the_same_default_port) {
  const auto t = parse_redis_target("rediss://:pw@cache.internal/1", "", "", "");
  EXPECT_TRUE(t.tls);
  EXPECT_EQ(t.host, "cache.internal");
  EXPECT_EQ(t.port, 6379);
  EXPECT_EQ(t.db, 1);
  EXPECT_FALSE(parse_redis_target("redis://h", "", "", "").tls);
}

TEST(redis_options, tls_options_need_rediss_and_readable_files) {
  EXPECT_EQ(construction_error({.url = "rediss://h"}), "<no exception>");
  EXPECT_EQ(construction_error({.url = "rediss://h", .insecure = true}), "<no exception>");
  EXPECT_NE(construction_error({.url = "redis://h", .ca_file = "/etc/ssl/certs/ca.pem"})
                .find("need a rediss:// URL"),
            std::string::npos);
  EXPECT_NE(construction_error({.url = "redis://h", .insecure = true}).find("rediss://"),
            std::string::npos);
  const auto missing =
      construction_error({.url = "rediss://:hunter2pw@h", .ca_file = "/nonexistent/vitals-ca.pem"});
  EXPECT_NE(missing.find("/nonexistent/vitals-ca.pem"), std::string::npos) << missing;
  EXPECT_EQ(missing.find("hunter2pw"), std::string::npos) << missing;
  EXPECT_NE(construction_error({.url = "rediss://h", .client_cert = "/nonexistent/c.pem"})
                .find("go together"),
            std::string::npos);
}

// SSL_R_* reasons as OpenSSL queues them (library SSL).
unsigned long ssl_reason(int reason) { return ERR_PACK(ERR_LIB_SSL, 0, reason); }

TEST(redis_tls_classify, verification_failures_name_the_reason) {
  OPENSSL_init_ssl(0, nullptr);
  const auto verify_failed = ssl_reason(SSL_R_CERTIFICATE_VERIFY_FAILED);
  const auto self_signed =
      classify_tls_failure(SSL_ERROR_SSL, verify_failed, 0, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
  EXPECT_EQ(self_signed.kind, failure_kind::tls);
  EXPECT_EQ(self_signed.message, "certificate verify failed: self-signed certificate");
  EXPECT_EQ(
      classify_tls_failure(SSL_ERROR_SSL, verify_failed, 0, X509_V_ERR_HOSTNAME_MISMATCH).message,
      "certificate verify failed: hostname mismatch");
  EXPECT_EQ(
      classify_tls_failure(SSL_ERROR_SSL, verify_failed, 0, X509_V_ERR_CERT_HAS_EXPIRED).message,
      "certificate verify failed: certificate has expired");
  EXPECT_EQ(classify_tls_failure(SSL_ERROR_SSL, verify_failed, 0,
                                 X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
                .message,
            "certificate verify failed: unable to get local issuer certificate");
}

TEST(redis_tls_classify, peers_that_do_not_speak_tls_are_protocol) {
  OPENSSL_init_ssl(0, nullptr);
  const auto e =
      classify_tls_failure(SSL_ERROR_SSL, ssl_reason(SSL_R_WRONG_VERSION_NUMBER), 0, X509_V_OK);
  EXPECT_EQ(e.kind, failure_kind::protocol);
  EXPECT_EQ(e.message, "peer does not speak TLS (wrong version number)");
}

TEST(redis_tls_classify, alerts_resets_and_closes) {
  OPENSSL_init_ssl(0, nullptr);
  const auto required = classify_tls_failure(
      SSL_ERROR_SSL, ssl_reason(SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED), 0, X509_V_OK);
  EXPECT_EQ(required.kind, failure_kind::tls);
  EXPECT_NE(required.message.find("client_cert"), std::string::npos) << required.message;
  const auto alert = classify_tls_failure(
      SSL_ERROR_SSL, ssl_reason(SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE), 0, X509_V_OK);
  EXPECT_EQ(alert.kind, failure_kind::tls);
  EXPECT_EQ(alert.message, "sslv3 alert handshake failure");
  const auto reset = classify_tls_failure(SSL_ERROR_SYSCALL, 0, ECONNRESET, X509_V_OK);
  EXPECT_EQ(reset.kind, failure_kind::refused);
  const auto closed = classify_tls_failure(SSL_ERROR_SYSCALL, 0, 0, X509_V_OK);
  EXPECT_EQ(closed.kind, failure_kind::tls);
  EXPECT_EQ(closed.message, "connection closed by peer");
  // A verify-failed reason without a verify verdict falls back to OpenSSL's own text.
  EXPECT_EQ(
      classify_tls_failure(SSL_ERROR_SSL, ssl_reason(SSL_R_CERTIFICATE_VERIFY_FAILED), 0, X509_V_OK)
          .message,
      "certificate verify failed");
}

TEST(redis_traits, declares_a_datastore_dependency_and_its_secrets) {
  const std::string url = "redis://vitals:s3cret-pw@127.0.0.1:6379/0";
  const auto t = vitals::checks::redis({.url = url})->traits();
  EXPECT_EQ(t.type, "redis");
  EXPECT_EQ(t.component_type, "datastore");
  EXPECT_TRUE(t.dependency);
  EXPECT_NE(std::find(t.secrets.begin(), t.secrets.end(), url), t.secrets.end());
  EXPECT_NE(std::find(t.secrets.begin(), t.secrets.end(), "s3cret-pw"), t.secrets.end());
  const auto o = vitals::checks::redis({.url = "redis://h", .password = "vault-pw"})->traits();
  EXPECT_NE(std::find(o.secrets.begin(), o.secrets.end(), "vault-pw"), o.secrets.end());
}

TEST(redis_resp, encodes_bulk_strings) {
  EXPECT_EQ(resp_command({"PING"}), "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(resp_command({"AUTH", "u", "p w"}), "*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$3\r\np w\r\n");
  EXPECT_EQ(resp_command({"SELECT", ""}), "*2\r\n$6\r\nSELECT\r\n$0\r\n\r\n");
}

TEST(redis_classify, error_replies) {
  EXPECT_EQ(kind_of_redis_error("NOAUTH Authentication required."), failure_kind::auth);
  EXPECT_EQ(kind_of_redis_error("WRONGPASS invalid username-password pair or user is disabled."),
            failure_kind::auth);
  EXPECT_EQ(kind_of_redis_error("ERR invalid password"), failure_kind::auth);
  EXPECT_EQ(kind_of_redis_error("LOADING Redis is loading the dataset in memory"),
            failure_kind::refused);
  EXPECT_EQ(kind_of_redis_error("ERR DB index is out of range"), failure_kind::assertion);
}

TEST(redis_info, extracts_the_version) {
  EXPECT_EQ(redis_version_from_info("# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:0\r\n"),
            "7.0.15");
  EXPECT_EQ(redis_version_from_info("# Server\r\nredis_version:6.2.1"), "6.2.1");
  EXPECT_EQ(redis_version_from_info("# Server\r\n"), "");
}

}  // namespace

namespace {

struct reader_free {
  void operator()(redisReader* r) const noexcept { redisReaderFree(r); }
};

// What the reader makes of `bytes`: "reply", "pending" or the error text.
std::string read_one(const std::string& bytes) {
  const std::unique_ptr<redisReader, reader_free> r{vitals::checks::detail::bounded_reader()};
  EXPECT_TRUE(r != nullptr);
  EXPECT_EQ(redisReaderFeed(r.get(), bytes.data(), bytes.size()), REDIS_OK);
  void* reply = nullptr;
  if (redisReaderGetReply(r.get(), &reply) != REDIS_OK) {
    return vitals::checks::detail::reader_error_text(*r);
  }
  if (reply == nullptr) return "pending";
  freeReplyObject(reply);
  return "reply";
}

}  // namespace

// Found by fuzz_datastore_replies: hiredis 0.14 allocated the element table of `*666666666`
// (5 GB) as soon as it read the header. The check's reader refuses such an array.
TEST(redis_reader, an_array_header_cannot_ask_for_gigabytes) {
  EXPECT_EQ(read_one("*666666666\r\n"), "an array reply of more than 65536 elements");
  EXPECT_EQ(read_one("*65537\r\n"), "an array reply of more than 65536 elements");
  EXPECT_EQ(read_one("*3\r\n$6\r\nmaster\r\n:0\r\n*1\r\n*3\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\n0\r\n"),
            "reply");                                  // ROLE of a master with one replica
  EXPECT_EQ(read_one("*65536\r\n:1\r\n"), "pending");  // within the bound, waiting for more
  EXPECT_EQ(read_one("*2\r\n*70000\r\n"), "an array reply of more than 65536 elements");  // nested
  EXPECT_EQ(read_one("+OK\r\n"), "reply");
  EXPECT_NE(read_one("?what\r\n"), "reply");  // not RESP: hiredis' own message
  EXPECT_NE(read_one("*-2\r\n"), "reply");
  EXPECT_NE(read_one("*99999999999\r\n"), "reply");
  EXPECT_EQ(read_one("*-1\r\n"), "reply");  // nil
}
