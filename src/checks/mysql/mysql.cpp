#include "vitals/checks/mysql.hpp"

#include <mysql.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "common/connection_check.hpp"
#include "common/net.hpp"
#include "common/resolver.hpp"
#include "common/url.hpp"
#include "mysql/mysql_detail.hpp"
#include "vitals/redact.hpp"

namespace vitals::checks {
namespace detail {

namespace {

std::optional<mysql_ssl> parse_ssl_mode(std::string_view text) {
  std::string m;
  for (const char c : text) {
    m += c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (m == "disabled" || m == "disable") return mysql_ssl::disabled;
  if (m == "preferred" || m == "prefer") return mysql_ssl::preferred;
  if (m == "required" || m == "require") return mysql_ssl::required;
  if (m == "verify_ca") return mysql_ssl::verify_ca;
  if (m == "verify_identity" || m == "verify_full") return mysql_ssl::verify_identity;
  return std::nullopt;
}

}  // namespace

mysql_target parse_mysql_target(std::string_view text, std::string_view ssl_mode,
                                std::string_view ssl_ca) {
  const url u = parse_url(text);  // throws with the userinfo masked
  auto bad = [&](const std::string& why) {
    return std::invalid_argument("mysql: invalid URL \"" + u.redacted() + "\": " + why);
  };
  if (u.scheme != "mysql" && u.scheme != "mariadb") throw bad("scheme must be mysql://");
  if (u.host.empty()) throw bad("missing host");
  if (u.user.empty()) throw bad("missing user (mysql://user:password@host/db)");
  mysql_target t;
  t.host = u.host;
  t.port = u.port_or(3306);
  t.user = u.user;
  t.password = u.password;
  std::string_view db = u.path;
  if (db.starts_with('/')) db.remove_prefix(1);
  if (db.find('/') != std::string_view::npos) throw bad("database name must not contain '/'");
  t.database = percent_decode(db);
  std::string mode;
  for (const auto& [k, v] : u.query_params()) {
    if (k == "ssl-mode" || k == "ssl_mode" || k == "sslmode") {
      mode = v;
    } else if (k == "ssl-ca" || k == "ssl_ca" || k == "sslca") {
      t.ssl_ca = v;
    } else {
      throw bad("unknown parameter \"" + k + "\" (ssl-mode, ssl-ca)");
    }
  }
  if (!ssl_mode.empty()) mode = ssl_mode;
  if (!ssl_ca.empty()) t.ssl_ca = ssl_ca;
  if (!mode.empty()) {
    const auto m = parse_ssl_mode(mode);
    if (!m) {
      throw std::invalid_argument("mysql: unknown ssl_mode \"" + mode +
                                  "\" (disabled, preferred, required, verify_ca, "
                                  "verify_identity)");
    }
    t.ssl = *m;
  }
  return t;
}

failure_kind kind_of_mysql_error(unsigned code, std::string_view message,
                                 bool connecting) noexcept {
  switch (code) {
    case 1044:  // ER_DBACCESS_DENIED_ERROR
    case 1045:  // ER_ACCESS_DENIED_ERROR
    case 1130:  // ER_HOST_NOT_PRIVILEGED
    case 1251:  // ER_NOT_SUPPORTED_AUTH_MODE
    case 1698:  // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
    case 1820:  // ER_MUST_CHANGE_PASSWORD
    case 1862:  // ER_MUST_CHANGE_PASSWORD_LOGIN
    case 2059:  // CR_AUTH_PLUGIN_CANNOT_LOAD
    case 2061:  // CR_AUTH_PLUGIN_ERR
      return failure_kind::auth;
    case 2002:  // CR_CONNECTION_ERROR
    case 2003:  // CR_CONN_HOST_ERROR: "... (errno)"
      if (message.find("(110)") != std::string_view::npos) return failure_kind::timeout;
      return failure_kind::refused;
    case 2005:  // CR_UNKNOWN_HOST
      return failure_kind::dns;
    case 2026:  // CR_SSL_CONNECTION_ERROR
      return failure_kind::tls;
    case 1040:  // ER_CON_COUNT_ERROR (too many connections)
    case 1053:  // ER_SERVER_SHUTDOWN
    case 1129:  // ER_HOST_IS_BLOCKED
    case 1927:  // ER_CONNECTION_KILLED
    case 2006:  // CR_SERVER_GONE_ERROR
    case 4031:  // ER_CLIENT_INTERACTION_TIMEOUT
      return failure_kind::refused;
    case 2013:  // CR_SERVER_LOST
      // During the handshake the peer accepted TCP and then sent nothing sensible: not a
      // MySQL server (or a broken one). Later, it is a dropped connection.
      return connecting ? failure_kind::protocol : failure_kind::refused;
    case 2008:  // CR_OUT_OF_MEMORY
      return failure_kind::internal;
    default:
      break;
  }
  if (code >= 2000 && code < 3000) {
    // Other client errors: malformed packet (2027), handshake (2012), version (2007), ...
    if (message.find("SSL") != std::string_view::npos ||
        message.find("TLS") != std::string_view::npos) {
      return failure_kind::tls;
    }
    return connecting ? failure_kind::protocol : failure_kind::refused;
  }
  return failure_kind::assertion;
}

}  // namespace detail

namespace {

using detail::mysql_ssl;
using detail::steady_time;

void library_init_once() {
  // mysql_library_init is not thread-safe; mysql_init would call it lazily from any thread.
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

struct mysql_deleter {
  void operator()(MYSQL* m) const noexcept { mysql_close(m); }
};
using mysql_ptr = std::unique_ptr<MYSQL, mysql_deleter>;

class mysql_check final : public detail::connection_check {
 public:
  mysql_check(detail::mysql_target t, mysql_options o)
      : target_(std::move(t)), options_(std::move(o)) {
    where_ = detail::host_port(target_.host, target_.port);
    library_init_once();
    redactor_.add_secret(options_.url);
    redactor_.add_secret(target_.password);
  }

  check_traits traits() const override {
    check_traits t{.type = "mysql",
                   .component_type = "datastore",
                   .measurement = "responseTime",
                   .dependency = true,
                   .secrets = {options_.url}};
    if (!target_.password.empty()) t.secrets.push_back(target_.password);
    return t;
  }

 private:
  void drop(bool abandoned) noexcept override {
    // An operation abandoned half-way, the peer maybe frozen: shut the socket first so that the
    // COM_QUIT mysql_close() sends fails at once instead of waiting on a full buffer.
    if (abandoned && conn_) {
      const auto fd = mysql_get_socket(conn_.get());
      if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
    }
    conn_.reset();
  }

  result mysql_failure(bool connecting) {
    const unsigned code = mysql_errno(conn_.get());
    const std::string msg = mysql_error(conn_.get());
    // CR_IPSOCK_ERROR "Can't create TCP/IP socket (24)" (CR_SOCKET_CREATE_ERROR for Unix
    // sockets), CR_OUT_OF_MEMORY: the host's shortage, not the server's.
    const auto sys_errno = [&msg]() -> int {
      const auto open = msg.rfind('(');
      if (open == std::string::npos || msg.back() != ')') return 0;
      try {
        return std::stoi(msg.substr(open + 1));
      } catch (const std::exception&) {
        return 0;
      }
    };
    if (code == 2008 ||
        ((code == 2001 || code == 2004) && detail::out_of_descriptors(sys_errno()))) {
      return failed(failure_kind::internal, detail::descriptors_exhausted().message);
    }
    const auto kind = detail::kind_of_mysql_error(code, msg, connecting);
    switch (kind) {
      case failure_kind::refused:
        if (code == 2002 || code == 2003)
          return failed(kind, "connection refused (" + where_ + ")");
        return failed(kind, msg + " (" + where_ + ")");
      case failure_kind::auth:
        return failed(kind, "authentication failed: " + msg);
      case failure_kind::timeout:
        return failed(kind, "timed out connecting to " + where_);
      case failure_kind::protocol:
        return failed(kind, "not a MySQL server or broken handshake at " + where_ + ": " + msg);
      default:
        return failed(kind, connecting ? msg : "query failed: " + msg);
    }
  }

  // Drives one non-blocking operation: `status` is what _start returned; `step(ready)` calls the
  // matching _cont. Every wait is bounded by the run's deadline.
  template <class Step>
  std::optional<result> drive(int status, Step step, steady_time deadline, steady_time start,
                              std::string_view what) {
    if (status != 0) doing(std::string(what) + " " + where_);
    while (status != 0) {
      pollfd p{mysql_get_socket(conn_.get()), 0, 0};
      if ((status & MYSQL_WAIT_READ) != 0) p.events |= POLLIN;
      if ((status & MYSQL_WAIT_WRITE) != 0) p.events |= POLLOUT;
      if ((status & MYSQL_WAIT_EXCEPT) != 0) p.events |= POLLPRI;
      auto left = detail::remaining(deadline);
      bool library_timeout = false;
      if ((status & MYSQL_WAIT_TIMEOUT) != 0) {
        const std::chrono::milliseconds own{mysql_get_timeout_value_ms(conn_.get())};
        if (own < left) {
          left = own;
          library_timeout = true;
        }
      }
      if (left.count() == 0 && !library_timeout) return abandon(deadline, start, what);
      const int rc = ::poll(&p, 1, static_cast<int>(left.count()));
      if (rc < 0) {
        if (errno == EINTR) continue;
        return failed(failure_kind::internal, "poll: " + detail::errno_text(errno));
      }
      int ready = 0;
      if (rc == 0) {
        if (!library_timeout) return abandon(deadline, start, what);
        ready = MYSQL_WAIT_TIMEOUT;
      } else {
        if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) ready |= MYSQL_WAIT_READ;
        if ((p.revents & (POLLOUT | POLLHUP | POLLERR)) != 0) ready |= MYSQL_WAIT_WRITE;
        if ((p.revents & POLLPRI) != 0) ready |= MYSQL_WAIT_EXCEPT;
      }
      status = step(ready);
    }
    return std::nullopt;
  }

  std::optional<result> connect(steady_time deadline, steady_time start) {
    // Resolve with a bound ourselves (the connector's getaddrinfo would block unbounded), and
    // because "localhost" would make the connector use the Unix socket.
    std::string host = target_.host;
    if (target_.ssl != mysql_ssl::verify_identity && target_.ssl != mysql_ssl::verify_ca) {
      doing("resolving " + target_.host);
      auto res = resolver_.resolve(target_.host, target_.port, deadline);
      if (!res) {
        if (res.error->kind == failure_kind::timeout) {
          return abandon(deadline, start, "resolving the host of");
        }
        return failed(res.error->kind, res.error->message);
      }
      if (!res.addresses.empty()) host = res.addresses.front().text();
    }
    conn_.reset(mysql_init(nullptr));
    if (!conn_) return failed(failure_kind::internal, detail::descriptors_exhausted().message);
    MYSQL* m = conn_.get();
    ::mysql_options(m, MYSQL_OPT_NONBLOCK, nullptr);
    const unsigned protocol = MYSQL_PROTOCOL_TCP;
    ::mysql_options(m, MYSQL_OPT_PROTOCOL, &protocol);
    // Backstop only (whole seconds, rounded up): the deadline above is what bounds the run.
    const auto secs = static_cast<unsigned>(
        std::max<long long>(1, (detail::remaining(deadline).count() + 999) / 1000));
    ::mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &secs);
    ::mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &secs);
    ::mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &secs);
    if (target_.ssl != mysql_ssl::disabled) {
      // Any TLS setting makes the connector use TLS when the server offers it (preferred).
      mysql_ssl_set(m, nullptr, nullptr, target_.ssl_ca.empty() ? nullptr : target_.ssl_ca.c_str(),
                    nullptr, nullptr);
      const my_bool yes = 1;
      if (target_.ssl != mysql_ssl::preferred) ::mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &yes);
      if (target_.ssl == mysql_ssl::verify_ca || target_.ssl == mysql_ssl::verify_identity) {
        ::mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
      }
    }
    MYSQL* ret = nullptr;
    const char* db = target_.database.empty() ? nullptr : target_.database.c_str();
    const int status =
        mysql_real_connect_start(&ret, m, host.c_str(), target_.user.c_str(),
                                 target_.password.c_str(), db, target_.port, nullptr, 0);
    if (auto f = drive(
            status, [&](int ready) { return mysql_real_connect_cont(&ret, m, ready); }, deadline,
            start, "connecting to")) {
      return f;
    }
    if (ret == nullptr) return mysql_failure(true);
    // Connector/C 3.3 accepts MYSQL_OPT_SSL_ENFORCE and still goes on in clear text when the
    // server offers no TLS: enforce it here.
    if (target_.ssl != mysql_ssl::disabled && target_.ssl != mysql_ssl::preferred &&
        mysql_get_ssl_cipher(m) == nullptr) {
      return failed(failure_kind::tls,
                    "TLS required (ssl_mode) but the server does not offer it (" + where_ + ")");
    }
    const char* v = mysql_get_server_info(m);
    version_ = v != nullptr ? v : "";
    return std::nullopt;
  }

  [[nodiscard]] bool connected() const override { return static_cast<bool>(conn_); }
  void after_run() override {
    if (!options_.keep_connection) conn_.reset();
  }

  result attempt(steady_time deadline, steady_time start) override {
    if (!conn_) {
      if (auto f = connect(deadline, start)) return std::move(*f);
    }
    MYSQL* m = conn_.get();
    if (options_.query.empty()) {
      int ret = 0;
      const int status = mysql_ping_start(&ret, m);
      if (auto f = drive(
              status, [&](int ready) { return mysql_ping_cont(&ret, m, ready); }, deadline, start,
              "waiting for a ping reply from")) {
        return std::move(*f);
      }
      if (ret != 0) return mysql_failure(false);
      return vitals::pass().detail("server_version", version_);
    }
    int ret = 0;
    const int status =
        mysql_real_query_start(&ret, m, options_.query.data(), options_.query.size());
    if (auto f = drive(
            status, [&](int ready) { return mysql_real_query_cont(&ret, m, ready); }, deadline,
            start, "waiting for the query on")) {
      return std::move(*f);
    }
    if (ret != 0) return query_failure();
    MYSQL_RES* res = nullptr;
    const int st2 = mysql_store_result_start(&res, m);
    if (auto f = drive(
            st2, [&](int ready) { return mysql_store_result_cont(&res, m, ready); }, deadline,
            start, "reading the query result from")) {
      return std::move(*f);
    }
    if (res != nullptr) {
      mysql_free_result(res);
    } else if (mysql_errno(m) != 0) {
      return query_failure();
    }
    return vitals::pass().detail("server_version", version_);
  }

  // A failing query on a healthy connection keeps the connection; a lost one drops it.
  result query_failure() {
    const unsigned code = mysql_errno(conn_.get());
    const std::string msg = mysql_error(conn_.get());
    const auto kind = detail::kind_of_mysql_error(code, msg, false);
    if (kind != failure_kind::assertion) return mysql_failure(false);
    return vitals::fail("query failed: " + msg + " (error " + std::to_string(code) + ")", kind);
  }

  detail::mysql_target target_;
  mysql_options options_;
  detail::bounded_resolver resolver_;
  mysql_ptr conn_;
  std::string version_;
};

}  // namespace

std::shared_ptr<vitals::check> mysql(mysql_options options) {
  auto target = detail::parse_mysql_target(options.url, options.ssl_mode, options.ssl_ca);
  return std::make_shared<mysql_check>(std::move(target), std::move(options));
}

}  // namespace vitals::checks
