// Secrecy of the programs: vitalsd (its endpoints for anonymous and authorized callers, its logs in
// text and JSON, a rejected SIGHUP reload), `vitals check --output json|table`, `vitals wait`,
// `vitals probe`, `vitals validate` and `vitalsd --check-config`, all run as the built binaries on
// configurations carrying the canary (inline, in URL userinfo, through `*_file`, through ${ENV},
// in header tokens, in exec arguments and environment), with the checks failing in every way.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cli/run_process.hpp"
#include "secrecy_support.hpp"
#include "server_client.hpp"

extern char** environ;

namespace vitals::secrecy {
namespace {

namespace fs = std::filesystem;
using vitals::cli::testing::process_result;
using vitals::cli::testing::run_process;

const std::string C{canary};
const std::string P{canary_pct};
const std::string T{endpoint_token};

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

/// What a run of a program printed, for the scan and for failure messages.
std::string printed(const process_result& r) { return r.out + "\n--- stderr ---\n" + r.err; }

/// The hostile peers and, when scripts/test-servers.sh runs, the real servers (wrong password).
struct peers {
  std::uint16_t refused = refused_port();
  silent_listener silent;
  garbage_listener garbage;
  std::string pg = server_env("VITALS_TEST_PG_URL");
  std::string mysql = server_env("VITALS_TEST_MYSQL_URL");
  std::string redis = server_env("VITALS_TEST_REDIS_URL");
  std::string memcached = server_env("VITALS_TEST_MEMCACHED_ADDR");

  [[nodiscard]] std::string at(std::uint16_t port) const {
    return "127.0.0.1:" + std::to_string(port);
  }
};

/// The checks of the daemon configuration: every secret-bearing key of every type, each check
/// failing differently. Returns the YAML list and the check names.
std::string checks_yaml(const peers& p, const temp_dir& dir, std::vector<std::string>* names) {
  dir.write("pg-url", "postgres://vitals:" + P + "@" + p.at(p.garbage.port()) + "/vitals\n");
  dir.write("redis-password", C + "\n");
  std::string y = "checks:\n";
  const auto add = [&](const std::string& name, const std::string& body) {
    names->push_back(name);
    y += "  - name: " + name + "\n" + body;
  };
  add("pg_refused", "    type: postgres\n    url: \"postgres://vitals:" + P + "@" +
                        p.at(p.refused) + "/vitals\"\n");
  add("pg_conninfo_silent",
      "    type: postgres\n    conninfo: \"host=127.0.0.1 port=" + std::to_string(p.silent.port()) +
          " user=vitals password=" + C + " dbname=vitals\"\n");
  add("pg_url_file_garbage", "    type: postgres\n    url_file: pg-url\n");
  add("pg_env", "    type: postgres\n    url: \"${VITALS_SECRECY_PG_URL}\"\n");
  add("mysql_silent", "    type: mysql\n    url: \"mysql://vitals:" + P + "@" +
                          p.at(p.silent.port()) + "/vitals\"\n");
  add("redis_garbage",
      "    type: redis\n    url: \"redis://vitals:" + P + "@" + p.at(p.garbage.port()) + "/0\"\n");
  add("redis_password_file", "    type: redis\n    url: \"redis://" + p.at(p.garbage.port()) +
                                 "/0\"\n    password_file: redis-password\n");
  add("redis_password_refused", "    type: redis\n    url: \"redis://" + p.at(p.refused) +
                                    "/0\"\n    password: \"" + C + "\"\n");
  add("memcached_garbage",
      "    type: memcached\n    address: \"memcached://" + p.at(p.garbage.port()) + "\"\n");
  add("http_basic_garbage", "    type: http\n    url: \"http://vitals:" + P + "@" +
                                p.at(p.garbage.port()) + "/health\"\n");
  add("http_headers_silent", "    type: http\n    url: \"http://" + p.at(p.silent.port()) +
                                 "/health\"\n    headers: {Authorization: \"Bearer " + C +
                                 "\", X-Api-Key: \"" + C + "\"}\n");
  add("https_garbage",
      "    type: http\n    url: \"https://vitals:" + P + "@" + p.at(p.garbage.port()) + "/\"\n");
  add("tcp_send_garbage",
      "    type: tcp\n    host: 127.0.0.1\n    port: " + std::to_string(p.garbage.port()) +
          "\n    send: \"AUTH vitals " + C + "\\r\\n\"\n    expect: \"+OK\"\n");
  add("tls_garbage",
      "    type: tls\n    host: 127.0.0.1\n    port: " + std::to_string(p.garbage.port()) + "\n");
  add("exec_prints",
      "    type: exec\n    command: /bin/sh\n    args: [\"-c\", \"echo \\\"$1 "
      "$VITALS_SECRET_TOKEN\\\"; exit 2\", sh, \"" +
          C + "\"]\n    env: {VITALS_SECRET_TOKEN: \"" + C + "\"}\n    secrets: [\"" + C + "\"]\n");
  if (!p.pg.empty()) {
    add("pg_wrong_password",
        "    type: postgres\n    url: \"" + with_canary_password(p.pg) + "\"\n");
  }
  if (!p.mysql.empty()) {
    add("mysql_wrong_password",
        "    type: mysql\n    url: \"" + with_canary_password(p.mysql) + "\"\n");
  }
  if (!p.redis.empty()) {
    add("redis_wrong_password",
        "    type: redis\n    url: \"" + with_canary_password(p.redis) + "\"\n");
  }
  return y;
}

std::vector<std::string> canary_env(const peers& p) {
  return {"VITALS_SECRECY_PG_URL=postgres://vitals:" + P + "@" + p.at(p.refused) + "/vitals"};
}

/// A vitalsd child with stdout and stderr in a file; killed by PID if still running at the end.
class daemon_process {
 public:
  daemon_process(const fs::path& config, const fs::path& log, std::vector<std::string> env)
      : log_(log) {
    std::vector<std::string> argv_s{VITALSD_BIN, "--config", config.string()};
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    if (posix_spawn(&pid_, VITALSD_BIN, &fa, nullptr, argv.data(), envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~daemon_process() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  daemon_process(const daemon_process&) = delete;
  daemon_process& operator=(const daemon_process&) = delete;

  [[nodiscard]] bool started() const { return pid_ > 0; }
  void signal(int sig) const { ::kill(pid_, sig); }
  [[nodiscard]] std::string log() const { return read_file(log_); }
  bool wait_log(const std::string& what, std::size_t n, std::chrono::milliseconds bound) const {
    const auto until = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < until) {
      if (count(log(), what) >= n) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  std::optional<int> wait_exit(std::chrono::milliseconds bound) {
    const auto until = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < until) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
  }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

std::optional<vitals::test::http_reply> get(std::uint16_t port, const std::string& target,
                                            const std::string& extra) {
  try {
    vitals::test::client c{port};
    if (!c.send(vitals::test::get(target, extra))) return std::nullopt;
    return c.read_reply(false, 3s);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void run_daemon(const std::string& format, const std::string& details) {
  SCOPED_TRACE("vitalsd log " + format + ", details " + details);
  peers p;
  temp_dir dir;
  std::vector<std::string> names;
  const auto listen_port = refused_port();
  const std::string head = "listen: 127.0.0.1:" + std::to_string(listen_port) +
                           "\nauth: {token: \"" + T + "\"}\nhttp: {details: " + details +
                           "}\nlog: {format: " + format +
                           ", level: debug}\nshutdown: {drain_delay: 100ms, grace_period: 5s}\n"
                           "defaults: {interval: 3s, timeout: 700ms, jitter: 0}\n";
  const auto config = dir.write("vitalsd.yaml", head + checks_yaml(p, dir, &names));
  daemon_process d{config, dir.path() / "vitalsd.log", canary_env(p)};
  ASSERT_TRUE(d.started());
  // Every check leaves `unknown` once: one transition line each.
  ASSERT_TRUE(d.wait_log("check transition", names.size(), 20s)) << masked(d.log());

  std::size_t answers = 0;
  std::vector<std::string> targets{"/livez",         "/readyz",         "/startupz",
                                   "/livez?verbose", "/readyz?verbose", "/startupz?verbose",
                                   "/health"};
  for (const auto& n : names) {
    targets.push_back("/readyz/" + n + "?verbose");
    targets.push_back("/health/" + n);
  }
  for (const std::string& who :
       std::vector<std::string>{"", "Authorization: Bearer " + T + "\r\n"}) {
    for (const auto& t : targets) {
      const auto r = get(listen_port, t, who);
      ASSERT_TRUE(r.has_value()) << t;
      ++answers;
      expect_clean("vitalsd GET " + t + (who.empty() ? " (anonymous)" : " (token)"),
                   r->head + "\r\n\r\n" + r->body);
      if (t.rfind("/health/", 0) == 0 && (details == "everyone" || !who.empty())) {
        EXPECT_NE(r->body.find("\"output\""), std::string::npos) << t << masked(r->body);
      }
    }
  }

  // A reload with a broken file that carries the canary everywhere: rejected, every error logged.
  dir.write("vitalsd.yaml", head +
                                "checks:\n"
                                "  - {name: r1, type: redis, url: \"redis://vitals:" +
                                P + "@127.0.0.1:1/0\", pasword: \"" + C +
                                "\", intervall: 5s}\n"
                                "  - {name: r2, type: postgres, url: \"postgres://vitals:" +
                                P +
                                "@h/db\", sslmode: sometimes}\n"
                                "  - {name: r3, type: http, url: \"http://vitals:" +
                                P + "@h/\", headers: {Authorization: \"Bearer " + C +
                                "\"}, body_regex: \"(\"}\n");
  d.signal(SIGHUP);
  EXPECT_TRUE(d.wait_log("reload rejected", 1, 10s)) << masked(d.log());

  d.signal(SIGTERM);
  const auto code = d.wait_exit(10s);
  EXPECT_EQ(code, std::optional<int>{0});
  const auto log = d.log();
  expect_clean("vitalsd log (" + format + ")", log);
  // The log really holds the failure reasons that were searched.
  EXPECT_GE(count(log, "check transition"), names.size());
  EXPECT_NE(log.find(format == "json" ? "\"output\":" : "output="), std::string::npos)
      << masked(log);
  std::printf("vitalsd (%s, %s): %zu checks, %zu answers and %zu log bytes scanned\n",
              format.c_str(), details.c_str(), names.size(), answers, log.size());
}

TEST(secrecy_apps, vitalsd_text_log_authorized) { run_daemon("text", "authorized"); }
TEST(secrecy_apps, vitalsd_json_log_everyone) { run_daemon("json", "everyone"); }

TEST(secrecy_apps, vitals_check_json_and_table) {
  peers p;
  temp_dir dir;
  std::vector<std::string> names;
  const auto config =
      dir.write("vitalsd.yaml", "defaults: {timeout: 700ms}\n" + checks_yaml(p, dir, &names));
  for (const std::string output : {"json", "table"}) {
    const auto r = run_process(
        {VITALS_CLI_BIN, "check", "--config", config.string(), "--output", output, "--no-progress"},
        30s, canary_env(p));
    EXPECT_EQ(r.exit_code, 1) << masked(printed(r));
    expect_clean("vitals check --output " + output, printed(r));
    for (const auto& n : names) EXPECT_NE(r.out.find(n), std::string::npos) << n;
    EXPECT_NE(r.out.find("timeout"), std::string::npos) << masked(r.out);
    EXPECT_NE(r.out.find("refused"), std::string::npos) << masked(r.out);
    std::printf("vitals check --output %s: %zu bytes scanned\n", output.c_str(), printed(r).size());
  }
}

TEST(secrecy_apps, vitals_wait_and_probe) {
  peers p;
  std::vector<std::string> urls{
      "postgres://vitals:" + P + "@" + p.at(p.refused) + "/vitals",
      "postgresql://vitals:" + P + "@" + p.at(p.garbage.port()) + "/vitals",
      "mysql://vitals:" + P + "@" + p.at(p.silent.port()) + "/vitals",
      "mariadb://vitals:" + P + "@" + p.at(p.garbage.port()) + "/vitals",
      "redis://vitals:" + P + "@" + p.at(p.garbage.port()) + "/0",
      "redis://:" + P + "@" + p.at(p.refused) + "/0",
      "memcached://" + p.at(p.garbage.port()),
      "http://vitals:" + P + "@" + p.at(p.garbage.port()) + "/readyz",
      "https://vitals:" + P + "@" + p.at(p.garbage.port()) + "/readyz",
      "tcp://vitals:" + P + "@" + p.at(p.refused),
  };
  if (!p.pg.empty()) urls.push_back(with_canary_password(p.pg));
  if (!p.mysql.empty()) urls.push_back(with_canary_password(p.mysql));
  if (!p.redis.empty()) urls.push_back(with_canary_password(p.redis));
  std::vector<std::string> argv{VITALS_CLI_BIN,      "wait",  "--timeout",     "3s",
                                "--attempt-timeout", "500ms", "--max-backoff", "500ms"};
  argv.insert(argv.end(), urls.begin(), urls.end());
  auto r = run_process(argv, 30s);
  EXPECT_EQ(r.exit_code, 1) << masked(printed(r));
  expect_clean("vitals wait", printed(r));
  EXPECT_GE(count(r.err, "fail/"), 5u) << masked(printed(r));
  // Bad URLs (usage errors) must not quote their password either.
  for (const auto& bad :
       {"postgres://vitals:" + P + "@" + p.at(p.refused) + ":x/db", "gopher://vitals:" + P + "@h/",
        "memcached://vitals:" + P + "@" + p.at(p.refused), "redis://vitals:" + C + "/x@h/0",
        "mysql://vitals:" + P + "@h:99999/db", "tcp://vitals:" + P + "@h"}) {
    r = run_process({VITALS_CLI_BIN, "wait", "--timeout", "1s", bad}, 30s);
    EXPECT_NE(r.exit_code, 0) << masked(bad);
    EXPECT_FALSE(r.err.empty()) << masked(bad);
    expect_clean("vitals wait (bad URL " + masked(bad) + ")", printed(r));
  }

  for (const auto& url : {"http://vitals:" + P + "@" + p.at(p.refused) + "/readyz",
                          "http://vitals:" + P + "@" + p.at(p.garbage.port()) + "/readyz",
                          "http://vitals:" + P + "@" + p.at(p.silent.port()) + "/readyz",
                          "https://vitals:" + P + "@" + p.at(p.garbage.port()) + "/readyz",
                          "http://vitals:" + C + "@" + p.at(p.refused) + "/readyz"}) {
    r = run_process({VITALS_CLI_BIN, "probe", "--timeout", "500ms", "-H",
                     "Authorization: Bearer " + C, "-H", "X-Api-Key: " + C, url},
                    10s);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_FALSE(r.err.empty());
    expect_clean("vitals probe " + masked(url), printed(r));
  }
}

TEST(secrecy_apps, validate_diagnostics) {
  temp_dir dir;
  dir.write("conninfo", "host=127.0.0.1 user=vitals password:" + C + "\n");
  dir.write("bad-url", "postgres://vitals:" + C + "%zz@127.0.0.1/db\n");
  dir.write("password", C + "\n");
  dir.write("token", T + "\n");
  const std::vector<std::pair<std::string, std::string>> configs{
      {"password next to a typo",
       "checks:\n  - {name: r, type: redis, url: \"redis://127.0.0.1:6379/0\", password: \"" + C +
           "\", intervall: 5s}\n"},
      {"misspelled password key",
       "checks:\n  - {name: r, type: redis, url: \"redis://127.0.0.1:6379/0\", pasword: \"" + C +
           "\"}\n"},
      {"password of the wrong type",
       "checks:\n  - {name: r, type: redis, url: \"redis://127.0.0.1:6379/0\", password: [\"" + C +
           "\"]}\n"},
      {"password as a mapping",
       "checks:\n  - {name: r, type: redis, url: \"redis://127.0.0.1:6379/0\", password: {\"" + C +
           "\": 1}}\n"},
      {"duplicate password key",
       "checks:\n  - name: r\n    type: redis\n    url: "
       "\"redis://127.0.0.1:6379/0\"\n    password: \"" +
           C + "\"\n    password: \"" + C + "x\"\n"},
      {"password and password_file",
       "checks:\n  - {name: r, type: redis, url: \"redis://127.0.0.1:6379/0\", password: \"" + C +
           "\", password_file: password}\n"},
      {"userinfo with bad sslmode",
       "checks:\n  - {name: db, type: postgres, url: \"postgres://vitals:" + P +
           "@127.0.0.1/db\", sslmode: sometimes}\n"},
      {"userinfo with raw '@'", "checks:\n  - {name: db, type: mysql, url: \"mysql://vitals:" + C +
                                    "@127.0.0.1:99999/db\"}\n"},
      {"rediss userinfo with an unreadable CA",
       "checks:\n  - {name: r, type: redis, url: \"rediss://vitals:" + P +
           "@127.0.0.1/0\", ca_file: /nonexistent/ca.pem}\n"},
      {"memcached userinfo",
       "checks:\n  - {name: m, type: memcached, address: \"memcached://vitals:" + P +
           "@127.0.0.1:11211\"}\n"},
      {"conninfo_file content with a syntax error",
       "checks:\n  - {name: db, type: postgres, conninfo_file: conninfo}\n"},
      {"url_file content with a bad escape",
       "checks:\n  - {name: db, type: postgres, url_file: bad-url}\n"},
      {"password_file with a typo next to it",
       "checks:\n  - {name: r, type: redis, url: \"redis://127.0.0.1:6379/0\", password_file: "
       "password, expect_role: leader}\n"},
      {"header token with a bad regex",
       "checks:\n  - {name: h, type: http, url: \"http://vitals:" + P +
           "@127.0.0.1/\", headers: {Authorization: \"Bearer " + C + "\", X-Api-Key: \"" + C +
           "\"}, body_regex: \"(\"}\n"},
      {"header token with a bad header name",
       "checks:\n  - {name: h, type: http, url: \"http://127.0.0.1/\", headers: {\"Bad Name\": "
       "\"Bearer " +
           C + "\"}}\n"},
      {"header token with a wrong type",
       "checks:\n  - {name: h, type: http, url: \"http://127.0.0.1/\", headers: {Authorization: "
       "[\"Bearer " +
           C + "\"]}}\n"},
      {"exec secrets with a bad env name",
       "checks:\n  - {name: e, type: exec, command: /bin/true, args: [\"" + C +
           "\"], env: {\"BAD=NAME\": \"" + C + "\"}, secrets: [\"" + C + "\"]}\n"},
      {"tcp send with a bad port",
       "checks:\n  - {name: t, type: tcp, host: 127.0.0.1, port: 0, send: \"AUTH " + C + "\"}\n"},
      {"env-substituted URL with a bad sslmode",
       "checks:\n  - {name: db, type: postgres, url: \"${VITALS_SECRECY_URL}\", sslmode: nope}\n"},
      {"auth token and token_file", "auth: {token: \"" + T +
                                        "\", token_file: token}\n"
                                        "checks:\n  - {name: m, type: memory}\n"},
      {"auth token of the wrong type", "auth: {token: [\"" + T +
                                           "\"]}\n"
                                           "checks:\n  - {name: m, type: memory}\n"},
      {"YAML syntax error on the password line",
       "checks:\n  - {name: r, type: redis, url: \"redis://127.0.0.1/0\", password: \"" + C +
           "\"\n  - ]\n"},
  };
  const std::vector<std::string> env{"VITALS_SECRECY_URL=postgres://vitals:" + P + "@h/db"};
  int i = 0;
  for (const auto& [what, yaml] : configs) {
    const auto file = dir.write("c" + std::to_string(i++) + ".yaml", yaml);
    for (const auto& argv : std::vector<std::vector<std::string>>{
             {VITALS_CLI_BIN, "validate", file.string()},
             {VITALSD_BIN, "--check-config", "--config", file.string()}}) {
      const auto r = run_process(argv, 20s, env);
      EXPECT_EQ(r.exit_code, 1) << what << ": " << masked(printed(r));
      // A diagnostic with its position was printed: the scan searched a real message.
      EXPECT_NE(printed(r).find(file.filename().string() + ":"), std::string::npos)
          << what << ": " << masked(printed(r));
      expect_clean(argv[1] + " (" + what + ")", printed(r));
    }
  }
}

}  // namespace
}  // namespace vitals::secrecy
