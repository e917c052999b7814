// The email channel: one RFC 5322 message per delivery, sent through the `smtp` check's client
// built with vitals::checks::smtp(). In vitalsd that factory is the lazy shim of src/lazy, so the
// smtp module -- and libcurl with it -- is loaded when the first message is sent.

#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <random>
#include <stdexcept>

#include "vitals/check.hpp"
#include "vitals/checks/smtp.hpp"
#include "vitals/notify.hpp"

namespace vitals::notify {

namespace {

// "Vitals <alerts@example.com>" -> "alerts@example.com"; a bare address stays as it is.
std::string envelope_address(std::string_view from) {
  const auto open = from.rfind('<');
  const auto close = from.rfind('>');
  if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
    return std::string{from.substr(open + 1, close - open - 1)};
  }
  return std::string{from};
}

bool valid_address(std::string_view a) {
  return a.find('@') != std::string_view::npos &&
         a.find_first_of(" \t\r\n<>,") == std::string_view::npos;
}

std::string host_name() {
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return "localhost";
  return std::string{buf.data()};
}

class email_notifier final : public notifier {
 public:
  explicit email_notifier(email_notifier_options o) : options_(std::move(o)) {
    sender_ = envelope_address(options_.from);
    if (!valid_address(sender_) || options_.from.find_first_of("\r\n") != std::string::npos) {
      throw std::invalid_argument("email notifier: from must be an address (alerts@example.com)");
    }
    if (options_.to.empty()) throw std::invalid_argument("email notifier: to is empty");
    for (const auto& a : options_.to) {
      if (!valid_address(a)) {
        throw std::invalid_argument("email notifier: invalid recipient \"" + a + "\"");
      }
    }
    // The rest (TLS policy, credentials) is checked by the client when the first message is
    // sent: building it now would load the smtp module, and libcurl, before anything fails.
    if (options_.url.rfind("smtp://", 0) != 0 && options_.url.rfind("smtps://", 0) != 0) {
      throw std::invalid_argument("email notifier: the URL must start with smtp:// or smtps://");
    }
  }

  delivery send(const message& m, steady_time deadline) override {
    const std::string id = "<vitals." + std::to_string(std::random_device{}()) + "." +
                           std::to_string(++sequence_) + "@" + host_ + ">";
    std::shared_ptr<vitals::check> c;
    try {
      c = client(render_email(m, options_.from, options_.to, std::chrono::system_clock::now(), id));
    } catch (const std::invalid_argument& e) {
      // The client's own message: the URL's userinfo and the password are never in it.
      return {.ok = false, .error = e.what(), .permanent = true};
    }
    auto cancelled = std::make_shared<std::atomic<bool>>(false);
    const result r = c->run(context{"notify", deadline, cancelled});
    if (r.status == status::pass || r.status == status::warn) return {};
    delivery d{.ok = false, .error = r.output};
    // A 5xx answer to the envelope or the message will not change on a retry; a rejected
    // login might (a rotated password being rolled out), and so might everything else.
    for (const auto& [k, v] : r.details) {
      if (k == "smtp_code" && v.size() == 3 && v[0] == '5' && r.kind == failure_kind::protocol) {
        d.permanent = true;
      }
    }
    return d;
  }

  std::vector<std::string> secrets() const override {
    std::vector<std::string> s;
    if (!options_.password.empty()) s.push_back(options_.password);
    if (options_.url.find('@') != std::string::npos) s.push_back(options_.url);
    return s;
  }

 private:
  std::shared_ptr<vitals::check> client(std::string body) const {
    return vitals::checks::smtp({.url = options_.url,
                                 .username = options_.username,
                                 .password = options_.password,
                                 .tls = options_.tls,
                                 .ca_file = options_.ca_file,
                                 .from = sender_,
                                 .to = options_.to,
                                 .message = std::move(body)});
  }

  email_notifier_options options_;
  std::string sender_{};
  std::string host_ = host_name();
  std::atomic<std::uint64_t> sequence_{0};
};

}  // namespace

std::shared_ptr<notifier> make_email_notifier(email_notifier_options options) {
  return std::make_shared<email_notifier>(std::move(options));
}

}  // namespace vitals::notify
