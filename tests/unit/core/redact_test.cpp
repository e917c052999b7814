#include <gtest/gtest.h>

#include <string>

#include "vitals/redact.hpp"

namespace vitals {
namespace {

bool leaks(const std::string& text, const std::string& secret) {
  return text.find(secret) != std::string::npos;
}

TEST(Redact, RegisteredSecretsAreMaskedEverywhere) {
  redactor r;
  r.add_secret("hunter2");
  EXPECT_EQ(r.scrub("auth failed for hunter2"), "auth failed for ***");
  EXPECT_EQ(r.scrub("hunter2hunter2"), "******");
  EXPECT_EQ(r.scrub("nothing here"), "nothing here");
}

TEST(Redact, ShortSecretsAreIgnoredAndDuplicatesKeptOnce) {
  redactor r;
  r.add_secret("ab");
  r.add_secret("");
  r.add_secret("abc");
  r.add_secret("abc");
  EXPECT_EQ(r.secrets().size(), 1U);
  EXPECT_EQ(r.scrub("ab abc"), "ab ***");
}

TEST(Redact, LongerSecretWinsOverItsPrefix) {
  redactor r;
  r.add_secret("pass");
  r.add_secret("pass-and-more");
  EXPECT_EQ(r.scrub("x pass-and-more y"), "x *** y");
}

TEST(Redact, PercentEncodedSecretIsMaskedToo) {
  redactor r;
  r.add_secret("p@ss w0rd");
  const auto out = r.scrub("dial http://h/?x=p%40ss%20w0rd failed; raw p@ss w0rd");
  EXPECT_FALSE(leaks(out, "p%40ss%20w0rd")) << out;
  EXPECT_FALSE(leaks(out, "p@ss w0rd")) << out;
}

TEST(Redact, WholeConnectionStringSecret) {
  redactor r;
  r.add_secret("host=db user=app password=zz9");
  EXPECT_EQ(r.scrub("cannot use host=db user=app password=zz9"), "cannot use ***");
}

TEST(Redact, UrlUserinfo) {
  EXPECT_EQ(redact_url("postgres://user:pw@host:5432/db"), "postgres://user:***@host:5432/db");
  EXPECT_EQ(redact_url("redis://:s3cret@cache:6379/0"), "redis://:***@cache:6379/0");
  EXPECT_EQ(redact_url("https://ghp_tokentoken@github.com/x"), "https://***@github.com/x");
  EXPECT_EQ(redact_url("http://example.com/a@b"), "http://example.com/a@b");
  EXPECT_EQ(redact_url("http://host:8080/path"), "http://host:8080/path");
  EXPECT_EQ(redact_url("no url here"), "no url here");
  // '@' inside the password (not percent-encoded): the last '@' of the authority ends it.
  EXPECT_EQ(redact_url("mysql://root:p@ss@db/x"), "mysql://root:***@db/x");
  // An unencoded '/' in the password.
  const auto slash = redact_url("amqp://guest:pa/ss@rabbit:5672");
  EXPECT_FALSE(leaks(slash, "pa/ss")) << slash;
  EXPECT_FALSE(leaks(slash, "pa")) << slash;
}

// Found by fuzz/fuzz_urls: characters that end a URL inside free text ('"', '<', '\'', a
// space) are part of a whole URL's userinfo; redact_url showed the password after them.
TEST(Redact, UrlUserinfoWithQuotesAndSpaces) {
  EXPECT_EQ(redact_url("http://127\"\".0.0asswuser:pw@cache/x"),
            "http://127\"\".0.0asswuser:***@cache/x");
  EXPECT_EQ(redact_url("postgres://we ird:s3cret@db/app"), "postgres://we ird:***@db/app");
  EXPECT_EQ(redact_url("redis://<u>:'pw'@cache:6379"), "redis://<u>:***@cache:6379");
  EXPECT_EQ(redact_url("https://tok\"en@github.com/x"), "https://***@github.com/x");
}

TEST(Redact, SeveralUrlsInOneText) {
  const auto out = scrub_patterns("primary postgres://a:one@h1 replica postgres://b:two@h2 failed");
  EXPECT_EQ(out, "primary postgres://a:***@h1 replica postgres://b:***@h2 failed");
}

TEST(Redact, LibpqConninfoPasswords) {
  EXPECT_EQ(scrub_patterns("host=db password=x user=u"), "host=db password=*** user=u");
  EXPECT_EQ(scrub_patterns("host=db password='x y' user=u"), "host=db password='***' user=u");
  EXPECT_EQ(scrub_patterns("password = 'it\\'s' dbname=d"), "password = '***' dbname=d");
  EXPECT_EQ(scrub_patterns("PASSWORD=Secret1"), "PASSWORD=***");
  EXPECT_EQ(scrub_patterns("Server=s;Uid=u;Pwd=abc;"), "Server=s;Uid=u;Pwd=***");
  EXPECT_EQ(scrub_patterns("passwd=abc"), "passwd=***");
  EXPECT_EQ(scrub_patterns("sslpassword=abc"), "sslpassword=***");
  // Unterminated quote: mask to the end rather than leak.
  EXPECT_EQ(scrub_patterns("password='abc def"), "password='***");
  // Unquoted values may contain ';' or '&' in libpq: masked up to whitespace.
  const auto semi = scrub_patterns("password=a;b&c user=u");
  EXPECT_EQ(semi, "password=*** user=u");
}

TEST(Redact, QueryStringAndTokens) {
  EXPECT_EQ(scrub_patterns("GET /x?token=abc&page=2"), "GET /x?token=***&page=2");
  EXPECT_EQ(scrub_patterns("https://h/p?api_key=k1#frag"), "https://h/p?api_key=***#frag");
  EXPECT_EQ(scrub_patterns("access_token=zzz"), "access_token=***");
  EXPECT_EQ(scrub_patterns("client_secret=zzz"), "client_secret=***");
  EXPECT_EQ(scrub_patterns("page=2 user=bob"), "page=2 user=bob");
}

TEST(Redact, JsonAndHeaders) {
  EXPECT_EQ(scrub_patterns(R"({"user":"u","password":"p w"})"), R"({"user":"u","password":"***"})");
  EXPECT_EQ(scrub_patterns(R"({"token": "abc", "n": 1})"), R"({"token": "***", "n": 1})");
  EXPECT_EQ(scrub_patterns("Authorization: Basic dXNlcjpwYXNz\nHost: x"),
            "Authorization: ***\nHost: x");
  EXPECT_EQ(scrub_patterns("Cookie: session=abc"), "Cookie: ***");
  // Prose with a colon is left alone.
  EXPECT_EQ(scrub_patterns("auth: failed for user bob"), "auth: failed for user bob");
}

TEST(Redact, BearerTokens) {
  EXPECT_EQ(scrub_patterns("sent Bearer eyJhbGciOi.x-y_z= to server"), "sent Bearer *** to server");
  EXPECT_EQ(scrub_patterns("bearer   abc"), "bearer   ***");
  EXPECT_EQ(scrub_patterns("the bearer of bad news"), "the bearer *** bad news");
  EXPECT_EQ(scrub_patterns("forbearer x"), "forbearer x");
}

TEST(Redact, SecretKeyNames) {
  for (const char* k :
       {"password", "PASSWORD", "db_password", "passwd", "pwd", "secret", "client-secret", "token",
        "access_token", "api_key", "apiKey", "key", "ssl.key", "auth", "Authorization", "cookie",
        "credentials", "pass", "passphrase"})
    EXPECT_TRUE(redactor::is_secret_key(k)) << k;
  for (const char* k : {"host", "user", "monkey", "author", "database", "latency", "keyspace_x",
                        "passenger_count", ""})
    EXPECT_FALSE(redactor::is_secret_key(k)) << k;
}

TEST(Redact, AllLayersTogether) {
  redactor r;
  r.add_secret("tok-123456");
  const auto out = r.scrub(
      "GET https://admin:adminpw@api/x?key=kkk with Bearer tok-123456 failed; "
      "conninfo host=h password='p q'");
  for (const char* s : {"adminpw", "kkk", "tok-123456", "p q"})
    EXPECT_FALSE(leaks(out, s)) << s << " in " << out;
  EXPECT_TRUE(leaks(out, "admin:***@api")) << out;
  EXPECT_TRUE(leaks(out, "host=h")) << out;
}

TEST(Redact, ScrubIsIdempotent) {
  redactor r;
  r.add_secret("s3cr3t");
  const std::string text = "postgres://u:s3cr3t@h password=s3cr3t Bearer s3cr3t";
  const auto once = r.scrub(text);
  EXPECT_EQ(r.scrub(once), once);
  EXPECT_FALSE(leaks(once, "s3cr3t"));
}

}  // namespace
}  // namespace vitals
