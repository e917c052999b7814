// The smtp check type: its keys, URL schemes, locality (listed in src/checks/types.def).
#include "schema/check_type.hpp"
#include "vitals/checks/smtp.hpp"

namespace vitals::checks {

schema::check_type describe_smtp() {
  using o = checks::smtp_options;
  schema::type_builder<o> b{"smtp",
                            "An SMTP server greets, takes STARTTLS and AUTH, and answers NOOP."};
  b.key("url", &o::url, "smtp://host[:port] (STARTTLS) or smtps://host[:port] (TLS at once).",
        {.secret = true, .required = true});
  b.key("username", &o::username, "AUTH user (overrides the URL's).");
  b.key("password", &o::password, "AUTH password (overrides the URL's).", {.secret = true});
  b.custom("tls", schema::value_kind::string,
           "smtp:// only: starttls (required, the default) or none (plain text, no password).",
           [](o& opts, const schema::value& v) { opts.tls = std::get<std::string>(v); },
           schema::value{std::string{"starttls"}}, {}, {"starttls", "none"});
  b.key("ca_file", &o::ca_file, "PEM CAs to trust instead of the system ones.");
  b.key("insecure", &o::insecure, "Skip certificate and name verification (testing).");
  b.key("helo", &o::helo, "Name sent in EHLO (empty = this host's name).");
  return {.spec = b.build([](o opts) { return checks::smtp(std::move(opts)); }),
          .schemes = {"smtp", "smtps"},
          .from_url = [](std::string_view url) { return checks::smtp({.url = std::string{url}}); }};
}

}  // namespace vitals::checks
