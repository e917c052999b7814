#include "vitals/checks/redis.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/connection_check.hpp"
#include "common/net.hpp"
#include "common/resolver.hpp"
#include "common/tls_util.hpp"
#include "common/url.hpp"
#include "redis/redis_detail.hpp"
#include "redis/redis_link.hpp"
#include "vitals/redact.hpp"

namespace vitals::checks {
namespace detail {

redis_target parse_redis_target(std::string_view text, std::string_view username,
                                std::string_view password, std::string_view expect_role) {
  const url u = parse_url(text);  // throws with the userinfo masked
  auto bad = [&](const std::string& why) {
    return std::invalid_argument("redis: invalid URL \"" + u.redacted() + "\": " + why);
  };
  if (u.scheme != "redis" && u.scheme != "rediss") {
    throw bad("scheme must be redis:// or rediss://");
  }
  if (u.host.empty()) throw bad("missing host");
  redis_target t;
  t.tls = u.scheme == "rediss";
  t.host = u.host;
  t.port = u.port_or(6379);
  t.username = username.empty() ? u.user : std::string(username);
  t.has_password = !password.empty() || u.has_password;
  t.password = password.empty() ? u.password : std::string(password);
  if (!t.has_password && !t.username.empty()) {
    throw bad("a user without a password (use redis://user:password@host)");
  }
  std::string_view db = u.path;
  if (db.starts_with('/')) db.remove_prefix(1);
  if (!db.empty()) {
    const auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), t.db);
    if (ec != std::errc{} || p != db.data() + db.size() || t.db < 0) {
      throw bad("database must be a number (redis://host:6379/0)");
    }
  }
  if (expect_role == "master" || expect_role == "primary") {
    t.expect_role = "master";
  } else if (expect_role == "replica" || expect_role == "slave") {
    t.expect_role = "slave";
  } else if (!expect_role.empty()) {
    throw std::invalid_argument("redis: expect_role must be \"master\" or \"replica\", not \"" +
                                std::string(expect_role) + "\"");
  }
  return t;
}

std::string resp_command(const std::vector<std::string_view>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

failure_kind kind_of_redis_error(std::string_view e) {
  if (e.starts_with("NOAUTH") || e.starts_with("WRONGPASS") || e.starts_with("NOPERM") ||
      e.find("invalid password") != std::string_view::npos ||
      e.find("invalid username-password") != std::string_view::npos ||
      e.find("without any password configured") != std::string_view::npos) {
    return failure_kind::auth;
  }
  if (e.starts_with("LOADING") || e.starts_with("BUSY") || e.starts_with("MASTERDOWN") ||
      e.starts_with("TRYAGAIN")) {
    return failure_kind::refused;
  }
  return failure_kind::assertion;
}

std::string redis_version_from_info(std::string_view info) {
  constexpr std::string_view key = "redis_version:";
  const auto at = info.find(key);
  if (at == std::string_view::npos) return {};
  const auto from = at + key.size();
  const auto end = info.find_first_of("\r\n", from);
  return std::string(info.substr(from, end == std::string_view::npos ? end : end - from));
}

namespace {

// hiredis' own array constructor, which the bounded one calls within the limit.
void* (*hiredis_create_array)(const redisReadTask*, int) = nullptr;

void* bounded_create_array(const redisReadTask* task, int elements) {
  // A negative count is never an array (-1 is nil, made by createNil).
  if (elements < 0 || elements > max_reply_elements) return nullptr;  // fails with REDIS_ERR_OOM
  return hiredis_create_array(task, elements);
}

}  // namespace

::redisReader* bounded_reader() {
  redisReader* r = redisReaderCreate();
  if (r == nullptr) return nullptr;
  // hiredis' default functions with a bounded createArray; set up once, shared by every reader.
  static redisReplyObjectFunctions functions = [r] {
    redisReplyObjectFunctions f = *r->fn;
    hiredis_create_array = f.createArray;
    f.createArray = &bounded_create_array;
    return f;
  }();
  r->fn = &functions;
  return r;
}

std::string reader_error_text(const ::redisReader& r) {
  if (r.err == REDIS_ERR_OOM) {
    return "an array reply of more than " + std::to_string(max_reply_elements) + " elements";
  }
  return r.errstr;
}

}  // namespace detail

namespace {

using detail::net_error;
using detail::steady_time;

struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;
struct reader_deleter {
  void operator()(redisReader* r) const noexcept { redisReaderFree(r); }
};

// Why not redisConnectWithTimeout + redisCommand: hiredis' blocking calls resolve names without
// a bound, write() without MSG_NOSIGNAL (SIGPIPE on a reset peer) and apply their timeout per
// syscall, not per run; and hiredis 0.14 has no TLS. Our own socket (with OpenSSL on it for
// rediss://) gives one absolute deadline; hiredis still parses RESP.
class redis_check final : public detail::connection_check {
 public:
  redis_check(detail::redis_target t, std::string url, detail::ssl_ctx_ptr tls, std::string sni,
              bool client_cert)
      : target_(std::move(t)),
        url_(std::move(url)),
        tls_(std::move(tls)),
        peer_name_(sni.empty() ? target_.host : std::move(sni)),
        client_cert_(client_cert) {
    where_ = detail::host_port(target_.host, target_.port);
    redactor_.add_secret(target_.password);
    redactor_.add_secret(url_);
  }

  check_traits traits() const override {
    check_traits t{.type = "redis",
                   .component_type = "datastore",
                   .measurement = "responseTime",
                   .dependency = true,
                   .secrets = {url_}};
    if (!target_.password.empty()) t.secrets.push_back(target_.password);
    return t;
  }

 private:
  void drop(bool /*abandoned*/) noexcept override {
    link_.reset();
    reader_.reset();
  }

  // Sends `commands` (already RESP-encoded, pipelined) and collects `count` replies.
  std::optional<result> exchange(const std::string& commands, std::size_t count,
                                 std::vector<reply_ptr>& replies, steady_time deadline,
                                 steady_time start) {
    doing("sending to " + where_);
    if (auto e = link_.send_all(commands, deadline)) {
      if (e->kind == failure_kind::timeout) return abandon(deadline, start, "sending to");
      if (e->kind == failure_kind::refused) return dropped(e->message);
      return failed(e->kind, link_error(*e));
    }
    bool got_any = false;
    std::size_t fed = 0;  // bytes of this exchange's replies
    doing("waiting for a reply from " + where_);
    while (replies.size() < count) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
        return failed(failure_kind::protocol, "not a Redis reply from " + where_ + ": " +
                                                  detail::reader_error_text(*reader_));
      }
      if (raw != nullptr) {
        replies.emplace_back(static_cast<redisReply*>(raw));
        continue;
      }
      char buf[4096];
      const auto r = link_.recv_some(buf, sizeof buf, deadline);
      if (r.error) {
        if (r.error->kind == failure_kind::timeout) {
          return abandon(deadline, start, "waiting for a reply from");
        }
        if (r.error->kind == failure_kind::refused && !got_any) return dropped(r.error->message);
        return failed(r.error->kind, link_error(*r.error));
      }
      if (r.bytes == 0) {
        if (!got_any) return dropped("connection closed by server");
        return failed(failure_kind::protocol, "connection closed by server (" + where_ + ")");
      }
      got_any = true;
      fresh_ = false;
      fed += r.bytes;
      if (fed > detail::max_reply_bytes) {
        return failed(failure_kind::protocol, "replies of more than " +
                                                  std::to_string(detail::max_reply_bytes >> 20) +
                                                  " MiB from " + where_ + ": not a Redis server?");
      }
      redisReaderFeed(reader_.get(), buf, r.bytes);
    }
    return std::nullopt;
  }

  // The peer reset or closed the connection before replying. On a kept connection that is the
  // server going away (refused: the run retries once). On one we just opened, say what is
  // most likely wrong.
  result dropped(const std::string& why) {
    if (!fresh_) return failed(failure_kind::refused, why + " (" + where_ + ")");
    if (tls_) {
      // TLS 1.3 completes the client's side of the handshake before the server has judged the
      // client certificate: a server that refuses it drops the connection on our first request.
      return failed(failure_kind::tls,
                    "TLS session with " + where_ + " dropped after the handshake: " + why +
                        (client_cert_ ? " (was the client certificate rejected?)"
                                      : " (does the server require a client certificate? set "
                                        "client_cert and client_key)"));
    }
    return failed(failure_kind::refused,
                  why + " before any reply (" + where_ + "; a TLS-only port? use rediss://)");
  }

  // "connection reset by peer (h:6379)"; TLS alerts read "TLS error from h:6379: <reason>".
  std::string link_error(const net_error& e) const {
    if (tls_ && e.kind != failure_kind::refused)
      return "TLS error from " + where_ + ": " + e.message;
    return e.message + " (" + where_ + ")";
  }

  static std::string reply_text(const redisReply& r) {
    if (r.type == REDIS_REPLY_STRING || r.type == REDIS_REPLY_STATUS ||
        r.type == REDIS_REPLY_ERROR) {
      return std::string(r.str, r.len);
    }
    return {};
  }

  std::optional<result> connect(steady_time deadline, steady_time start) {
    doing("connecting to " + where_);
    auto c = detail::connect_tcp(resolver_, target_.host, target_.port, deadline, start);
    if (!c) return failed(c.error.kind, c.error.message);
    link_ = detail::redis_link{std::move(c.fd)};
    fresh_ = true;
    tls_version_.clear();
    if (tls_) {
      doing("in TLS handshake with " + where_);
      if (auto e = link_.start_tls(tls_.get(), peer_name_, deadline)) {
        if (e->kind == failure_kind::timeout) {
          // A plain-text Redis never answers a ClientHello (its inline parser waits for a line):
          // say so, but it stays a timeout, as a frozen TLS server looks exactly the same.
          const bool silent = !link_.heard_from_peer();
          auto r = abandon(deadline, start, "in TLS handshake with");
          if (silent) r.output += " (no answer to the TLS hello: a plain-text port?)";
          return r;
        }
        if (e->kind == failure_kind::refused) {
          return failed(e->kind, e->message + " during TLS handshake (" + where_ + ")");
        }
        return failed(e->kind, "TLS handshake with " + where_ + " failed: " + e->message);
      }
      tls_version_ = link_.tls_version();
    }
    reader_.reset(detail::bounded_reader());
    if (!reader_) return failed(failure_kind::internal, detail::descriptors_exhausted().message);
    // AUTH, SELECT and INFO once per connection, pipelined in one round trip.
    std::string cmds;
    std::size_t n = 0;
    const bool auth = target_.has_password;
    if (auth) {
      cmds += target_.username.empty()
                  ? detail::resp_command({"AUTH", target_.password})
                  : detail::resp_command({"AUTH", target_.username, target_.password});
      ++n;
    }
    const std::string db = std::to_string(target_.db);
    if (target_.db != 0) {
      cmds += detail::resp_command({"SELECT", db});
      ++n;
    }
    cmds += detail::resp_command({"INFO", "server"});
    ++n;
    std::vector<reply_ptr> replies;
    if (auto f = exchange(cmds, n, replies, deadline, start)) return f;
    std::size_t i = 0;
    if (auth) {
      const auto& r = *replies[i++];
      if (r.type == REDIS_REPLY_ERROR) {
        const std::string e = reply_text(r);
        auto kind = detail::kind_of_redis_error(e);
        if (kind == failure_kind::assertion) kind = failure_kind::auth;  // any AUTH refusal
        const std::string who =
            target_.username.empty() ? std::string{} : " for user \"" + target_.username + "\"";
        return failed(kind, "authentication failed" + who + ": " + e);
      }
    }
    if (target_.db != 0) {
      const auto& r = *replies[i++];
      if (r.type == REDIS_REPLY_ERROR) {
        const std::string e = reply_text(r);
        return failed(detail::kind_of_redis_error(e), "SELECT " + db + " failed: " + e);
      }
    }
    const auto& info = *replies[i];
    version_ = info.type == REDIS_REPLY_STRING ? detail::redis_version_from_info(reply_text(info))
                                               : std::string{};
    return std::nullopt;
  }

  [[nodiscard]] bool connected() const override { return link_.valid(); }

  result attempt(steady_time deadline, steady_time start) override {
    // OpenSSL writes to the socket without MSG_NOSIGNAL: a peer that hangs up must not kill the
    // host with SIGPIPE.
    std::optional<detail::sigpipe_guard> no_sigpipe;
    if (tls_) no_sigpipe.emplace();
    auto r = ping(deadline, start);
    if (r.status != status::pass) return r;
    if (!version_.empty()) r.detail("server_version", version_);
    if (!role_.empty()) r.detail("role", role_ == "slave" ? "replica" : role_);
    if (!tls_version_.empty()) r.detail("tls", tls_version_);
    return r;
  }

  result ping(steady_time deadline, steady_time start) {
    if (!link_.valid()) {
      if (auto f = connect(deadline, start)) return std::move(*f);
    }
    std::string cmds = detail::resp_command({"PING"});
    std::size_t n = 1;
    if (!target_.expect_role.empty()) {
      cmds += detail::resp_command({"ROLE"});
      ++n;
    }
    std::vector<reply_ptr> replies;
    if (auto f = exchange(cmds, n, replies, deadline, start)) return std::move(*f);
    const auto& ping = *replies[0];
    if (ping.type == REDIS_REPLY_ERROR) {
      const std::string e = reply_text(ping);
      // The connection is fine; the server just won't serve it. Keep it.
      return vitals::fail("PING failed: " + e, detail::kind_of_redis_error(e));
    }
    if (ping.type != REDIS_REPLY_STATUS || reply_text(ping) != "PONG") {
      return failed(failure_kind::protocol, "unexpected reply to PING from " + where_);
    }
    role_.clear();
    if (!target_.expect_role.empty()) {
      const auto& role = *replies[1];
      if (role.type == REDIS_REPLY_ERROR) {
        const std::string e = reply_text(role);
        return vitals::fail("ROLE failed: " + e, detail::kind_of_redis_error(e));
      }
      if (role.type != REDIS_REPLY_ARRAY || role.elements == 0 ||
          role.element[0]->type != REDIS_REPLY_STRING) {
        return failed(failure_kind::protocol, "unexpected reply to ROLE from " + where_);
      }
      role_ = reply_text(*role.element[0]);
      if (role_ != target_.expect_role) {
        const auto name = [](const std::string& r) { return r == "slave" ? "replica" : r; };
        return vitals::fail("role is " + name(role_) + ", expected " + name(target_.expect_role),
                            failure_kind::assertion)
            .detail("role", name(role_));
      }
    }
    return vitals::pass();
  }

  detail::redis_target target_;
  std::string url_;
  detail::ssl_ctx_ptr tls_;  ///< null for redis://
  std::string peer_name_;
  bool client_cert_ = false;
  bool fresh_ = false;  ///< connection opened in this run, nothing received from it yet
  detail::bounded_resolver resolver_;
  detail::redis_link link_;
  std::unique_ptr<redisReader, reader_deleter> reader_;
  std::string version_;
  std::string role_;
  std::string tls_version_;
};

}  // namespace

std::shared_ptr<vitals::check> redis(redis_options options) {
  auto target = detail::parse_redis_target(options.url, options.username, options.password,
                                           options.expect_role);
  detail::ssl_ctx_ptr tls;
  if (target.tls) {
    try {
      tls = detail::make_client_context({.ca_file = options.ca_file,
                                         .client_cert = options.client_cert,
                                         .client_key = options.client_key,
                                         .fail_handshake_on_bad_cert = !options.insecure});
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string("redis: ") + e.what());
    }
  } else if (!options.ca_file.empty() || !options.client_cert.empty() ||
             !options.client_key.empty() || !options.sni.empty() || options.insecure) {
    throw std::invalid_argument(
        "redis: ca_file, client_cert, client_key, sni and insecure need a rediss:// URL");
  }
  return std::make_shared<redis_check>(std::move(target), std::move(options.url), std::move(tls),
                                       std::move(options.sni), !options.client_cert.empty());
}

}  // namespace vitals::checks
