// The smtp check: greeting, EHLO, STARTTLS, AUTH, then NOOP or a message, through libcurl's SMTP
// client (which owns the protocol, TLS, SASL mechanisms and dot-stuffing). What we add: the
// contract of a check -- a fresh connection per run bounded by the run's deadline and cancelled
// with it, "STARTTLS required" and "AUTH required when credentials are given" enforced (curl
// would silently go on without either), failures classified by kind and told with the server's
// own reply line, and no credential in any output.
#include "vitals/checks/smtp.hpp"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/net.hpp"
#include "common/url.hpp"
#include "vitals/checks/descriptors.hpp"
#include "vitals/redact.hpp"

namespace vitals::checks {
namespace {

using detail::steady_time;

// curl_global_init() is not thread-safe everywhere: once, before the first handle.
void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct curl_handle_deleter {
  void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
struct slist_deleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

// A server line as shown in a message: printable ASCII, bounded.
std::string printable_line(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  std::string out;
  for (const char c : s.substr(0, 160)) out.push_back(c >= 0x20 && c < 0x7f ? c : '.');
  if (s.size() > 160) out.append("...");
  return out;
}

// What one run saw of the conversation (filled by curl's debug callback, on the calling thread).
struct transcript {
  const context* ctx = nullptr;
  std::string peer{};
  std::string command{};  // the last command word sent ("EHLO", "STARTTLS", "AUTH", "MAIL", ...)
  // The first 4xx/5xx reply (printable) and the command it answered: curl QUITs after it, so
  // the last reply is then "221 Bye".
  std::string refused_command{};
  std::string refusal{};
  std::string doing{};
  bool greeted = false;
  bool sent_auth = false;
  bool sent_starttls = false;
  std::shared_ptr<std::atomic<bool>> cancelled{};

  void set_doing(std::string what) {
    if (what == doing) return;
    doing = std::move(what);
    ctx->doing(doing);
  }

  void server_line(std::string_view line) {
    greeted = true;
    if (refusal.empty() && !line.empty() && (line[0] == '4' || line[0] == '5')) {
      refusal = printable_line(line);
      refused_command = command;
    }
  }

  void client_line(std::string_view line) {
    const auto end = line.find_first_of(" \r\n");
    command.clear();
    for (const char c : line.substr(0, std::min<std::size_t>(end, 12))) {
      command.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c);
    }
    if (command == "EHLO" || command == "HELO") {
      set_doing("waiting for the EHLO reply from " + peer);
    } else if (command == "STARTTLS") {
      sent_starttls = true;
      set_doing("negotiating STARTTLS with " + peer);
    } else if (command == "AUTH") {
      sent_auth = true;
      set_doing("authenticating to " + peer);
    } else if (command == "MAIL" || command == "RCPT" || command == "DATA") {
      set_doing("sending the message to " + peer);
    } else if (command == "NOOP") {
      set_doing("waiting for the NOOP reply from " + peer);
    } else if (command == "QUIT") {
      set_doing("closing the session with " + peer);
    }
    // Nothing of the line itself is kept: an AUTH line carries the credentials.
  }
};

int on_debug(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
  auto& t = *static_cast<transcript*>(user);
  const std::string_view text{data, size};
  if (type == CURLINFO_HEADER_IN) {
    t.server_line(text);
  } else if (type == CURLINFO_HEADER_OUT) {
    t.client_line(text);
  } else if (type == CURLINFO_TEXT && !t.greeted && text.starts_with("Connected to")) {
    t.set_doing("waiting for the greeting from " + t.peer);
  }
  return 0;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto& t = *static_cast<transcript*>(user);
  return t.ctx->cancelled() ? 1 : 0;  // aborts the transfer: the runner gave up on this run
}

std::size_t discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }

struct upload {
  std::string_view rest{};
};

std::size_t read_message(char* buffer, std::size_t size, std::size_t n, void* user) {
  auto& u = *static_cast<upload*>(user);
  const std::size_t len = std::min(size * n, u.rest.size());
  std::memcpy(buffer, u.rest.data(), len);
  u.rest.remove_prefix(len);
  return len;
}

std::string local_host_name() {
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return "localhost";
  return std::string{buf.data()};
}

// An address as curl wants it in MAIL FROM / RCPT TO: "<a@b>".
std::string angle(std::string_view address) {
  if (address.starts_with('<') && address.ends_with('>')) return std::string{address};
  return "<" + std::string{address} + ">";
}

bool bad_address(std::string_view a) {
  return a.empty() || a.find_first_of("\r\n\t ") != std::string_view::npos;
}

class smtp_check final : public vitals::check, public descriptor_user {
 public:
  explicit smtp_check(smtp_options o) : options_(std::move(o)) {
    const detail::url u = detail::parse_url(options_.url);  // throws with the userinfo masked
    auto bad = [&](const std::string& why) {
      return std::invalid_argument("smtp: invalid URL \"" + u.redacted() + "\": " + why);
    };
    if (u.scheme != "smtp" && u.scheme != "smtps") throw bad("scheme must be smtp:// or smtps://");
    if (u.host.empty()) throw bad("missing host");
    if ((!u.path.empty() && u.path != "/") || !u.query.empty() || !u.fragment.empty()) {
      throw bad("expected smtp[s]://host[:port] (the EHLO name is the helo option)");
    }
    implicit_tls_ = u.scheme == "smtps";
    if (options_.username.empty()) options_.username = u.user;
    if (options_.password.empty()) options_.password = u.password;
    if (options_.tls != "starttls" && options_.tls != "none") {
      throw std::invalid_argument("smtp: tls must be \"starttls\" or \"none\", not \"" +
                                  printable_line(options_.tls) + "\"");
    }
    if (implicit_tls_ && options_.tls == "none") {
      throw std::invalid_argument("smtp: tls: none contradicts an smtps:// URL");
    }
    plain_ = !implicit_tls_ && options_.tls == "none";
    if (plain_ && !options_.password.empty()) {
      throw std::invalid_argument(
          "smtp: a password needs TLS (tls: starttls or smtps://): it would be sent in the clear");
    }
    if (options_.password.empty() != options_.username.empty()) {
      throw std::invalid_argument("smtp: username and password go together");
    }
    if (!options_.to.empty()) {
      if (bad_address(options_.from)) {
        throw std::invalid_argument("smtp: sending needs a from address (no spaces)");
      }
      for (const auto& a : options_.to) {
        if (bad_address(a)) {
          throw std::invalid_argument("smtp: invalid recipient \"" + printable_line(a) + "\"");
        }
      }
      if (options_.message.empty()) throw std::invalid_argument("smtp: sending needs a message");
    }
    peer_ = u.authority();
    if (u.port == 0) peer_ += implicit_tls_ ? ":465" : ":25";
    // curl's EHLO name is the URL's path.
    const std::string helo = options_.helo.empty() ? local_host_name() : options_.helo;
    if (helo.find_first_of("/?#@ \r\n") != std::string::npos) {
      throw std::invalid_argument("smtp: invalid helo name");
    }
    curl_url_ = u.scheme + "://" + peer_ + "/" + helo;
    redactor_.add_secret(options_.password);
    redactor_.add_secret(options_.url);
    global_init();
  }

  [[nodiscard]] check_traits traits() const override {
    std::vector<std::string> secrets;
    if (!options_.password.empty()) secrets.push_back(options_.password);
    if (options_.url.find('@') != std::string::npos) secrets.push_back(options_.url);
    return {.type = "smtp",
            .component_type = "component",
            .measurement = "responseTime",
            .dependency = true,
            .secrets = std::move(secrets)};
  }

  [[nodiscard]] std::size_t descriptors() const noexcept override { return 1; }

  result run(const context& ctx) override {
    const auto started = std::chrono::steady_clock::now();
    return detail::scrubbed(attempt(ctx, started), redactor_);
  }

 private:
  result attempt(const context& ctx, steady_time started) {
    const auto left = detail::remaining(ctx.deadline());
    transcript t{.ctx = &ctx, .peer = peer_};
    if (left.count() <= 0) {
      return vitals::fail(detail::timed_out_text(started, ctx.deadline(), "connecting to " + peer_),
                          failure_kind::timeout);
    }
    std::unique_ptr<CURL, curl_handle_deleter> h{curl_easy_init()};
    if (!h) return vitals::fail("smtp: cannot create a libcurl handle", failure_kind::internal);
    CURL* c = h.get();
    std::array<char, CURL_ERROR_SIZE> err{};
    std::unique_ptr<curl_slist, slist_deleter> rcpt;
    upload body{options_.message};
    const std::string from = angle(options_.from);

    curl_easy_setopt(c, CURLOPT_URL, curl_url_.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err.data());
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(left.count()));
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);  // feeds on_debug; it prints nothing itself
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    if (!implicit_tls_) {
      curl_easy_setopt(c, CURLOPT_USE_SSL,
                       static_cast<long>(plain_ ? CURLUSESSL_NONE : CURLUSESSL_ALL));
    }
    if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (options_.insecure) {
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!options_.username.empty()) {
      curl_easy_setopt(c, CURLOPT_USERNAME, options_.username.c_str());
      curl_easy_setopt(c, CURLOPT_PASSWORD, options_.password.c_str());
    }
    if (options_.to.empty()) {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "NOOP");
    } else {
      for (const auto& a : options_.to) {
        curl_slist* next = curl_slist_append(rcpt.get(), angle(a).c_str());
        if (next == nullptr) return vitals::fail("smtp: out of memory", failure_kind::internal);
        (void)rcpt.release();
        rcpt.reset(next);
      }
      curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
      curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
      curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(c, CURLOPT_READFUNCTION, read_message);
      curl_easy_setopt(c, CURLOPT_READDATA, &body);
      curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                       static_cast<curl_off_t>(options_.message.size()));
    }
    t.set_doing("connecting to " + peer_);
    detail::sigpipe_guard no_sigpipe;  // OpenSSL writes on curl's socket without MSG_NOSIGNAL
    const CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    long os_errno = 0;
    curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);

    if ((rc == CURLE_OK || rc == CURLE_LOGIN_DENIED) && !options_.username.empty() &&
        !t.sent_auth) {
      // curl goes on unauthenticated when the server offers no AUTH: that is not a pass.
      return vitals::fail(peer_ + " offers no AUTH mechanism" +
                              (t.sent_starttls || implicit_tls_ ? " over TLS" : ""),
                          failure_kind::auth);
    }
    if (rc == CURLE_OK) {
      const auto elapsed = std::chrono::steady_clock::now() - started;
      const double ms =
          std::round(std::chrono::duration<double, std::milli>(elapsed).count() * 100.0) / 100.0;
      return vitals::pass().observe(ms, "ms").detail("peer", peer_);
    }
    result r = classify(rc, err.data(), t, static_cast<int>(os_errno), started, ctx.deadline());
    if (code > 0) r.detail("smtp_code", std::to_string(code));
    return r;
  }

  result classify(CURLcode rc, const char* errbuf, const transcript& t, int os_errno,
                  steady_time started, steady_time deadline) const {
    const std::string said = t.refusal.empty() ? std::string{} : ": " + t.refusal;
    const std::string curl_text = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT:
      case CURLE_ABORTED_BY_CALLBACK:
        return vitals::fail(detail::timed_out_text(started, deadline, t.doing),
                            failure_kind::timeout);
      case CURLE_COULDNT_RESOLVE_HOST:
        return vitals::fail("smtp: cannot resolve the host of " + peer_, failure_kind::dns);
      case CURLE_COULDNT_CONNECT:
        if (os_errno != 0) {
          const auto e = detail::errno_failure(os_errno, " (" + peer_ + ")");
          return vitals::fail(e.message, e.kind);
        }
        return vitals::fail("cannot connect to " + peer_, failure_kind::refused);
      case CURLE_USE_SSL_FAILED:
        return vitals::fail(peer_ + " does not offer STARTTLS (tls: none allows plain text)",
                            failure_kind::tls);
      case CURLE_LOGIN_DENIED:
        return vitals::fail("authentication to " + peer_ + " failed" + said, failure_kind::auth);
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CIPHER:
      case CURLE_SSL_ISSUER_ERROR:
        return vitals::fail("TLS with " + peer_ + " failed: " + curl_text, failure_kind::tls);
      case CURLE_GOT_NOTHING:
        return vitals::fail(peer_ + " closed the connection without a greeting",
                            failure_kind::refused);
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
      case CURLE_WEIRD_SERVER_REPLY:
      case CURLE_REMOTE_ACCESS_DENIED:
      case CURLE_QUOTE_ERROR:
        if (!t.refusal.empty()) {
          const std::string cmd = t.refused_command == "DATA" || t.refused_command.empty()
                                      ? "the message"
                                      : t.refused_command;
          if (t.refused_command == "AUTH") {
            return vitals::fail("authentication to " + peer_ + " failed" + said,
                                failure_kind::auth);
          }
          return vitals::fail(peer_ + " refused " + cmd + said, failure_kind::protocol);
        }
        if (!t.greeted) {
          return vitals::fail(peer_ + " closed the connection without a greeting",
                              failure_kind::refused);
        }
        return vitals::fail(
            "connection to " + peer_ + " broke: " + curl_text,
            rc == CURLE_WEIRD_SERVER_REPLY ? failure_kind::protocol : failure_kind::refused);
      case CURLE_OUT_OF_MEMORY:
        return vitals::fail("smtp: out of memory", failure_kind::internal);
      default:
        return vitals::fail("smtp " + peer_ + ": " + curl_text, failure_kind::internal);
    }
  }

  smtp_options options_;
  bool implicit_tls_ = false;
  bool plain_ = false;
  std::string peer_{};
  std::string curl_url_{};
  vitals::redactor redactor_{};
};

}  // namespace

std::shared_ptr<vitals::check> smtp(smtp_options options) {
  return std::make_shared<smtp_check>(std::move(options));
}

}  // namespace vitals::checks
