// The HTTP channels (webhook, Slack, Teams, PagerDuty): a POST of the format's body through the
// `http` check's client, built with vitals::checks::http(). In vitalsd that factory is the lazy
// shim of src/lazy, so the http module -- and OpenSSL with it -- is loaded when the first HTTP
// notifier is made, never for a configuration without one.

#include <atomic>
#include <stdexcept>

#include "vitals/check.hpp"
#include "vitals/checks/http.hpp"
#include "vitals/notify.hpp"

namespace vitals::notify {

namespace {

constexpr std::string_view pagerduty_events_url = "https://events.pagerduty.com/v2/enqueue";

class http_notifier final : public notifier {
 public:
  explicit http_notifier(http_notifier_options o) : options_(std::move(o)) {
    if (options_.url.empty() && options_.format == http_format::pagerduty) {
      options_.url = std::string(pagerduty_events_url);
    }
    if (options_.url.rfind("http://", 0) != 0 && options_.url.rfind("https://", 0) != 0) {
      throw std::invalid_argument(std::string(to_string(options_.format)) +
                                  " notifier: the URL must start with http:// or https://");
    }
    if (options_.format == http_format::pagerduty && options_.routing_key.empty()) {
      throw std::invalid_argument("pagerduty notifier: routing_key is required");
    }
  }

  delivery send(const message& m, steady_time deadline) override {
    for (const auto& body : render_payloads(options_.format, m, options_.routing_key)) {
      auto d = post(body, deadline);
      if (!d.ok) return d;
    }
    return {};
  }

  std::vector<std::string> secrets() const override {
    std::vector<std::string> s{options_.url};
    if (!options_.routing_key.empty()) s.push_back(options_.routing_key);
    return s;
  }

 private:
  delivery post(const std::string& body, steady_time deadline) {
    // One check per body: the check keeps no state we need, and a fresh one never carries a
    // connection a hung peer left half-used.
    std::shared_ptr<vitals::check> client;
    try {
      client = vitals::checks::http(
          {.url = options_.url,
           .method = "POST",
           .body = body,
           .headers = {{"Content-Type", "application/json"}, {"User-Agent", "vitals-notify"}},
           .expected_status = "200-299",
           .max_redirects = 0,
           .max_body_bytes = 4096,
           .ca_file = options_.ca_file,
           .keep_alive = false});
    } catch (const std::exception&) {
      // The message may hold the URL: say nothing of it.
      return {.ok = false, .error = "invalid notifier URL", .permanent = true};
    }
    auto cancelled = std::make_shared<std::atomic<bool>>(false);
    const result r = client->run(context{"notify", deadline, cancelled});
    if (r.status == status::pass || r.status == status::warn) return {};
    delivery d{.ok = false, .error = r.output};
    // "unexpected status 4xx": the receiver will never take this body (except 408 / 429).
    constexpr std::string_view prefix = "unexpected status 4";
    if (r.output.rfind(prefix, 0) == 0 && r.output.rfind("unexpected status 408", 0) != 0 &&
        r.output.rfind("unexpected status 429", 0) != 0) {
      d.permanent = true;
    }
    return d;
  }

  http_notifier_options options_;
};

}  // namespace

std::shared_ptr<notifier> make_http_notifier(http_notifier_options options) {
  return std::make_shared<http_notifier>(std::move(options));
}

}  // namespace vitals::notify
