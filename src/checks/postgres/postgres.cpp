#include "vitals/checks/postgres.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <array>
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
#include "common/url.hpp"
#include "postgres/postgres_detail.hpp"
#include "vitals/redact.hpp"

namespace vitals::checks {
namespace detail {

namespace {

bool contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

// libpq's messages are multi-line ("...failed: X\n\tIs the server running..."): keep the part
// that says what happened.
std::string essential_line(std::string_view message) {
  std::string_view line = message.substr(0, message.find('\n'));
  if (const auto at = line.rfind(" failed: "); at != std::string_view::npos) {
    line.remove_prefix(at + 9);
  }
  for (const std::string_view tag : {"FATAL:  ", "ERROR:  ", "FATAL: ", "ERROR: "}) {
    if (line.starts_with(tag)) line.remove_prefix(tag.size());
  }
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
  return std::string(line);
}

}  // namespace

pg_failure classify_pg_connect_error(std::string_view message, std::string_view where) {
  const std::string text = essential_line(message);
  const std::string at = " (" + std::string(where) + ")";
  if (contains(message, "password authentication failed") ||
      contains(message, "authentication failed for user") ||
      contains(message, "no password supplied") || contains(message, "pg_hba.conf") ||
      contains(message, "SCRAM") || contains(message, "password is expired") ||
      (contains(message, "role \"") && contains(message, "does not exist")) ||
      contains(message, "permission denied for database")) {
    return {failure_kind::auth, text};
  }
  if (contains(message, "Connection refused"))
    return {failure_kind::refused, "connection refused" + at};
  if (contains(message, "Connection reset") || contains(message, "server closed the connection") ||
      contains(message, "no connection to the server") ||
      contains(message, "terminating connection") ||
      contains(message, "the database system is") ||  // starting up / shutting down / in recovery
      contains(message, "too many clients") ||
      contains(message, "remaining connection slots are reserved") ||
      contains(message, "No route to host") || contains(message, "Network is unreachable")) {
    return {failure_kind::refused, text + at};
  }
  if (contains(message, "could not translate host name") ||
      contains(message, "could not resolve")) {
    return {failure_kind::dns, text};
  }
  // Before the TLS test: "received invalid response to SSL negotiation" is a peer that does
  // not speak PostgreSQL at all, not a TLS problem.
  if (contains(message, "invalid response") || contains(message, "expected authentication") ||
      contains(message, "unexpected message") || contains(message, "invalid message")) {
    return {failure_kind::protocol, text + " (" + std::string(where) + ")"};
  }
  if (contains(message, "SSL") || contains(message, "certificate") || contains(message, "TLS")) {
    return {failure_kind::tls, text + at};
  }
  if (contains(message, "timeout expired") || contains(message, "timed out")) {
    return {failure_kind::timeout, text + at};
  }
  if (contains(message, "database \"") && contains(message, "does not exist")) {
    return {failure_kind::assertion, text};
  }
  if (contains(message, "out of memory")) return {failure_kind::internal, text};
  // Anything else during the handshake means the peer did not speak the protocol we expect
  // ("expected authentication request from server, but received ...", "invalid response").
  return {failure_kind::protocol, (text.empty() ? std::string("connection failed") : text) + at};
}

failure_kind kind_of_sqlstate(std::string_view s) noexcept {
  if (s.starts_with("28")) return failure_kind::auth;
  if (s.starts_with("08") || s == "57P01" || s == "57P02" || s == "57P03") {
    return failure_kind::refused;
  }
  return failure_kind::assertion;
}

}  // namespace detail

namespace {

using detail::steady_time;

struct conn_deleter {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_deleter>;

struct conninfo_options_deleter {
  void operator()(PQconninfoOption* o) const noexcept { PQconninfoFree(o); }
};

// A connection string libpq cannot parse cannot be taken apart either, so any fragment of it
// libpq quotes back may be the password ('missing "=" after "<password>"' when a `password:`
// typo or a bare word precedes it). Quoted fragments are masked; only the key named by "invalid
// connection option" (what stood before an '=') is kept when it looks like one.
std::string mask_quoted_fragments(std::string_view why) {
  const bool names_a_key = why.starts_with("invalid connection option \"");
  std::string out;
  std::size_t i = 0;
  while (i < why.size()) {
    const auto open = why.find('"', i);
    if (open == std::string_view::npos) {
      out.append(why.substr(i));
      break;
    }
    out.append(why.substr(i, open + 1 - i));
    const auto close = why.find('"', open + 1);
    if (close == std::string_view::npos) {
      out.append("***");
      break;
    }
    const auto inner = why.substr(open + 1, close - open - 1);
    const bool keyword = names_a_key && !inner.empty() && inner.size() <= 32 &&
                         std::all_of(inner.begin(), inner.end(),
                                     [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
    out.append(inner == "=" || keyword ? inner : "***").append("\"");
    i = close + 1;
  }
  return out;
}

bool valid_sslmode(std::string_view m) {
  constexpr std::array<std::string_view, 6> modes{"disable", "allow",     "prefer",
                                                  "require", "verify-ca", "verify-full"};
  return std::find(modes.begin(), modes.end(), m) != modes.end();
}

class postgres_check final : public detail::connection_check {
 public:
  explicit postgres_check(postgres_options o) : options_(std::move(o)) {
    if (!options_.url.empty() && !options_.conninfo.empty()) {
      throw std::invalid_argument("postgres: set either url or conninfo, not both");
    }
    conninfo_ = options_.url.empty() ? options_.conninfo : options_.url;
    if (conninfo_.empty()) throw std::invalid_argument("postgres: url (or conninfo) is required");
    redactor_.add_secret(conninfo_);
    if (!options_.sslmode.empty() && !valid_sslmode(options_.sslmode)) {
      throw std::invalid_argument("postgres: unknown sslmode \"" + options_.sslmode +
                                  "\" (disable, allow, prefer, require, verify-ca, verify-full)");
    }
    char* err = nullptr;
    std::unique_ptr<PQconninfoOption, conninfo_options_deleter> parsed{
        PQconninfoParse(conninfo_.c_str(), &err)};
    if (!parsed) {
      std::string why = err != nullptr ? err : "out of memory";
      if (err != nullptr) PQfreemem(err);
      while (!why.empty() && why.back() == '\n') why.pop_back();
      // libpq may quote the offending part of the string back: scrub before it travels. A URL
      // is shown without its userinfo; a keyword string not at all (masking its userinfo would
      // cut a password containing '@' in two and show the second half).
      const bool url =
          conninfo_.starts_with("postgres://") || conninfo_.starts_with("postgresql://");
      throw std::invalid_argument(
          "postgres: invalid connection string" +
          (url ? " \"" + redactor_.scrub(detail::mask_userinfo(conninfo_)) + "\"" : std::string{}) +
          ": " + redactor_.scrub(mask_quoted_fragments(why)));
    }
    for (auto* o = parsed.get(); o->keyword != nullptr; ++o) {
      const std::string_view k = o->keyword;
      const std::string v = o->val != nullptr ? o->val : "";
      if (k == "password") password_ = v;
      if (k == "host") host_ = v;
      if (k == "hostaddr") hostaddr_ = v;
      if (k == "port") port_ = v;
      if (k == "user") user_ = v;
      if (k == "dbname") dbname_ = v;
    }
    redactor_.add_secret(password_);
    // For messages only: the first host (libpq accepts lists) and its port.
    const std::string host = host_.empty() ? hostaddr_ : host_.substr(0, host_.find(','));
    const std::string port = port_.substr(0, port_.find(','));
    const std::uint16_t port_number = port.empty() ? 5432 : parse_port(port);
    where_ = host.empty() || host.starts_with('/')
                 ? (host.empty() ? "local socket" : host) + ":" + std::to_string(port_number)
                 : detail::host_port(host, port_number);
  }

  check_traits traits() const override {
    check_traits t{.type = "postgres",
                   .component_type = "datastore",
                   .measurement = "responseTime",
                   .dependency = true,
                   .secrets = {conninfo_}};
    if (!password_.empty()) t.secrets.push_back(password_);
    return t;
  }

 private:
  static std::uint16_t parse_port(const std::string& p) {
    try {
      const int v = std::stoi(p);
      return v > 0 && v < 65536 ? static_cast<std::uint16_t>(v) : 5432;
    } catch (const std::exception&) {
      return 5432;
    }
  }

  void drop(bool /*abandoned*/) noexcept override {
    conn_.reset();
    connecting_ = false;
  }

  // The connect is still waiting for the server (frozen, overloaded): keep the attempt so the
  // next run goes on with it rather than queue one more connection on the server.
  result still_connecting(steady_time deadline, steady_time start) {
    if (!connecting_) connecting_since_ = std::chrono::steady_clock::now();
    connecting_ = true;
    return timed_out(deadline, start, "connecting to " + where_);
  }

  result connection_error(std::string_view during) {
    connecting_ = false;
    const std::string msg = conn_ ? PQerrorMessage(conn_.get()) : "out of memory";
    if (msg.find("could not create socket") != std::string::npos &&
        (msg.find("Too many open files") != std::string::npos ||
         msg.find("Cannot allocate memory") != std::string::npos ||
         msg.find("No buffer space") != std::string::npos)) {
      return failed(failure_kind::internal, detail::descriptors_exhausted().message);
    }
    auto f = detail::classify_pg_connect_error(msg, where_);
    if (!during.empty() && f.kind != failure_kind::auth) f.text += std::string(during);
    return failed(f.kind, std::move(f.text));
  }

  // Bounded wait for the libpq socket; `events` POLLIN/POLLOUT.
  std::optional<result> wait(short events, steady_time deadline, steady_time start,
                             std::string_view what) {
    const int fd = PQsocket(conn_.get());
    if (fd < 0) return connection_error("");
    doing(std::string(what) + " " + where_);
    if (auto e = detail::wait_fd(fd, events, deadline)) {
      if (e->kind == failure_kind::timeout) return abandon(deadline, start, what);
      return failed(e->kind, e->message);
    }
    return std::nullopt;
  }

  std::optional<result> connect(steady_time deadline, steady_time start) {
    // libpq resolves host names inside PQconnectPoll with a blocking getaddrinfo(); resolve
    // here with a bound instead and hand libpq the address (host stays for TLS verification).
    std::string resolved;
    if (hostaddr_.empty() && !host_.empty() && !host_.starts_with('/') &&
        host_.find(',') == std::string::npos && !detail::numeric_address(host_, 0)) {
      doing("resolving " + host_);
      auto res = resolver_.resolve(host_, 0, deadline);
      if (!res) {
        if (res.error->kind == failure_kind::timeout) {
          return abandon(deadline, start, "resolving the host of");
        }
        return failed(res.error->kind, res.error->message);
      }
      if (!res.addresses.empty()) resolved = res.addresses.front().text();
    }
    std::vector<const char*> keys{"application_name", "dbname"};
    std::vector<const char*> values{options_.application_name.c_str(), conninfo_.c_str()};
    if (!resolved.empty()) {
      keys.push_back("hostaddr");
      values.push_back(resolved.c_str());
    }
    if (!options_.sslmode.empty()) {
      keys.push_back("sslmode");
      values.push_back(options_.sslmode.c_str());
    }
    if (!options_.sslrootcert.empty()) {
      keys.push_back("sslrootcert");
      values.push_back(options_.sslrootcert.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    doing("connecting to " + where_);
    conn_.reset(PQconnectStartParams(keys.data(), values.data(), 1));
    if (!conn_) return failed(failure_kind::internal, detail::descriptors_exhausted().message);
    if (PQstatus(conn_.get()) == CONNECTION_BAD) return connection_error("");
    poll_state_ = PGRES_POLLING_WRITING;
    return finish_connect(deadline, start);
  }

  // Drives PQconnectPoll from where it stands (a fresh attempt, or one kept pending by an
  // earlier run) until connected, failed or the deadline.
  std::optional<result> finish_connect(steady_time deadline, steady_time start) {
    auto& st = poll_state_;
    while (st != PGRES_POLLING_OK) {
      if (st == PGRES_POLLING_FAILED) return connection_error("");
      const int fd = PQsocket(conn_.get());
      if (fd < 0) return connection_error("");
      doing("connecting to " + where_);
      if (auto e = detail::wait_fd(fd, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline)) {
        if (e->kind == failure_kind::timeout) return still_connecting(deadline, start);
        return failed(e->kind, e->message);
      }
      st = PQconnectPoll(conn_.get());
    }
    connecting_ = false;
    if (PQsetnonblocking(conn_.get(), 1) != 0) return connection_error("");
    const char* v = PQparameterStatus(conn_.get(), "server_version");
    version_ = v != nullptr ? v : "";
    return std::nullopt;
  }

  [[nodiscard]] bool connected() const override { return conn_ && !connecting_; }
  [[nodiscard]] bool connecting() const override { return conn_ && connecting_; }
  void after_run() override {
    if (!options_.keep_connection && !connecting_) conn_.reset();
  }

  result attempt(steady_time deadline, steady_time start) override {
    // A pending attempt too old to trust (a black-holed connection would wait forever) is
    // given up: one new attempt per this long at most.
    constexpr auto pending_for_at_most = std::chrono::seconds{30};
    if (connecting_ && std::chrono::steady_clock::now() - connecting_since_ > pending_for_at_most) {
      conn_.reset();
      connecting_ = false;
    }
    if (conn_ && connecting_) {
      if (auto f = finish_connect(deadline, start)) return std::move(*f);
    } else if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
      conn_.reset();
      if (auto f = connect(deadline, start)) return std::move(*f);
    }
    PGconn* c = conn_.get();
    if (PQsendQuery(c, options_.query.c_str()) == 0) return connection_error("");
    for (;;) {
      const int rc = PQflush(c);
      if (rc == 0) break;
      if (rc < 0) return connection_error("");
      if (auto f = wait(POLLOUT | POLLIN, deadline, start, "sending the query to")) return *f;
      if (PQconsumeInput(c) == 0) return connection_error("");
    }
    std::optional<result> outcome;
    for (;;) {
      while (PQisBusy(c) != 0) {
        if (auto f = wait(POLLIN, deadline, start, "waiting for the query on")) return *f;
        if (PQconsumeInput(c) == 0) return connection_error("");
      }
      PGresult* res = PQgetResult(c);
      if (res == nullptr) break;
      const auto st = PQresultStatus(res);
      if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
        PQclear(res);
        return failed(failure_kind::assertion, "the check query must not start a COPY");
      }
      if ((st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE) && !outcome) {
        const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        const std::string sqlstate = state != nullptr ? state : "";
        std::string text = primary != nullptr ? primary : PQresultErrorMessage(res);
        while (!text.empty() && text.back() == '\n') text.pop_back();
        const auto kind =
            st == PGRES_BAD_RESPONSE ? failure_kind::protocol : detail::kind_of_sqlstate(sqlstate);
        outcome = vitals::fail(
            "query failed: " + text + (sqlstate.empty() ? "" : " (SQLSTATE " + sqlstate + ")"),
            kind);
        if (!sqlstate.empty()) outcome->detail("sqlstate", sqlstate);
      }
      PQclear(res);
    }
    if (PQstatus(c) != CONNECTION_OK) {
      if (outcome) {
        conn_.reset();
        return std::move(*outcome);
      }
      return connection_error("");
    }
    return outcome ? std::move(*outcome) : vitals::pass().detail("server_version", version_);
  }

  postgres_options options_;
  std::string conninfo_;
  std::string password_, host_, hostaddr_, port_, user_, dbname_;
  detail::bounded_resolver resolver_;
  conn_ptr conn_;
  std::string version_;
  // A connect still in progress (kept pending across runs) and where PQconnectPoll stands.
  bool connecting_ = false;
  std::chrono::steady_clock::time_point connecting_since_{};
  PostgresPollingStatusType poll_state_ = PGRES_POLLING_WRITING;
};

}  // namespace

std::shared_ptr<vitals::check> postgres(postgres_options options) {
  return std::make_shared<postgres_check>(std::move(options));
}

}  // namespace vitals::checks
