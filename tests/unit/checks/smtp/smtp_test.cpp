// The smtp check's options: what is refused before any connection, and never with a password.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "vitals/checks/smtp.hpp"

namespace {

std::string error_of(vitals::checks::smtp_options o) {
  try {
    (void)vitals::checks::smtp(std::move(o));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return {};
}

TEST(smtp_options, refuses_what_cannot_work) {
  EXPECT_NE(error_of({.url = "http://mail:25"}).find("smtp:// or smtps://"), std::string::npos);
  EXPECT_NE(error_of({.url = "smtp://"}).find("host"), std::string::npos);
  EXPECT_NE(error_of({.url = "smtp://mail:25/x?y"}).find("helo"), std::string::npos);
  EXPECT_NE(error_of({.url = "smtp://mail", .tls = "maybe"}).find("starttls"), std::string::npos);
  EXPECT_NE(error_of({.url = "smtps://mail", .tls = "none"}).find("contradicts"),
            std::string::npos);
  EXPECT_NE(error_of({.url = "smtp://mail", .username = "u"}).find("go together"),
            std::string::npos);
  EXPECT_NE(error_of({.url = "smtp://mail", .to = {"a@b"}, .message = "x"}).find("from"),
            std::string::npos);
  EXPECT_NE(error_of({.url = "smtp://mail", .from = "a@b", .to = {"x y@b"}, .message = "x"})
                .find("recipient"),
            std::string::npos);
  EXPECT_NE(error_of({.url = "smtp://mail", .from = "a@b", .to = {"c@d"}}).find("message"),
            std::string::npos);
  EXPECT_EQ(error_of({.url = "smtp://mail:587"}), "");
  EXPECT_EQ(error_of({.url = "smtps://mail"}), "");
}

TEST(smtp_options, a_password_in_the_clear_is_refused_and_never_shown) {
  const std::string e =
      error_of({.url = "smtp://mail", .username = "u", .password = "hunter2-x", .tls = "none"});
  EXPECT_NE(e.find("in the clear"), std::string::npos) << e;
  EXPECT_EQ(e.find("hunter2-x"), std::string::npos);
  const std::string in_url = error_of({.url = "ftp://u:hunter2-y@mail"});
  EXPECT_EQ(in_url.find("hunter2-y"), std::string::npos) << in_url;
}

TEST(smtp_options, the_password_is_a_secret) {
  auto c = vitals::checks::smtp({.url = "smtp://mail", .username = "u", .password = "s3cret!"});
  const auto secrets = c->traits().secrets;
  EXPECT_NE(std::find(secrets.begin(), secrets.end(), "s3cret!"), secrets.end());
  auto in_url = vitals::checks::smtp({.url = "smtp://u:pw-in-url@mail"});
  const auto s2 = in_url->traits().secrets;
  EXPECT_NE(std::find(s2.begin(), s2.end(), "pw-in-url"), s2.end());
}

}  // namespace
