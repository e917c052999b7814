#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vitals/check.hpp"

namespace vitals::checks {

/// Options of the SMTP check (and of the email notifier, which sends through it).
///
///     reg.add("mail", vitals::checks::smtp({.url = "smtp://mail.internal:587",
///                                           .username = "monitor", .password = pw}),
///             {.critical = false});
///     reg.add("relay", vitals::checks::smtp({.url = "smtps://relay.internal:465",
///                                            .ca_file = "/etc/ssl/mail-ca.pem"}));
struct smtp_options {
  /// `smtp://host[:port]` (default port 25, STARTTLS as `tls` says) or `smtps://host[:port]`
  /// (TLS from the first byte, default port 465). A user and password in the URL are taken as
  /// `username` / `password` unless those are set.
  std::string url{};
  /// AUTH credentials (any mechanism both sides support: PLAIN, LOGIN, CRAM-MD5, ...). With a
  /// username the run fails (`auth`) unless the server accepts them; never sent in the clear.
  std::string username{};
  std::string password{};
  /// smtp:// only: "starttls" (the default: the server must offer STARTTLS, else the run fails
  /// with kind `tls`) or "none" (plain text; refused together with a password).
  std::string tls = "starttls";
  /// PEM CAs to trust instead of the system ones (STARTTLS and smtps://).
  std::string ca_file{};
  /// Skip certificate and host name verification (testing only).
  bool insecure = false;
  /// The name sent in EHLO (empty: this host's name).
  std::string helo{};
  /// Sending (what the email notifier uses; not a configuration key): when `to` is not empty, a
  /// run sends `message` (a whole RFC 5322 message, CRLF line ends) from `from` to every address
  /// of `to` instead of ending with NOOP. Passes when the server accepted it.
  std::string from{};
  std::vector<std::string> to{};
  std::string message{};
};

/// Connects, reads the greeting, EHLO, STARTTLS (certificate and host name verified), AUTH if
/// credentials are given, then NOOP (or the message), on a fresh connection each run bounded by
/// the run's deadline (libcurl). Reports the time in ms ("responseTime") and, on failure, the
/// server's reply code as detail `smtp_code`. Failure kinds: `refused`, `dns`, `timeout`, `tls`
/// (no STARTTLS, handshake, certificate), `auth` (rejected, or no AUTH offered), `protocol` (a
/// command or the message refused). Throws std::invalid_argument for a bad URL or `tls` value, a
/// password without TLS, or sending without `from` / `message` (password masked).
[[nodiscard]] std::shared_ptr<vitals::check> smtp(smtp_options options);

}  // namespace vitals::checks
