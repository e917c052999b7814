// The real vitalsd and its lazy check modules: a daemon with host checks only maps none of the
// dependency libraries; each lazy type loads, runs and reports through its module; errors of a
// module (a factory's exception, a missing file) come out as configuration errors.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

// The C++ runtime and logging/YAML libraries are linked statically only in non-sanitizer builds
// (the sanitizers need the shared runtime), so they are checked there only.
const char* const kDependencyLibraries[] = {"libpq.",       "libmariadb.", "libhiredis.",
                                            "libsqlite3.",  "libssl.",     "libcrypto.",
                                            "libgnutls.",   "libgrpc",     "libprotobuf.",
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
                                            "libstdc++.",   "libspdlog.",  "libyaml-cpp.",
#endif
                                            "vitals_check_"};

std::string slurp(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "vitals-lazy-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A loopback listener the test owns: a port nothing else uses, and a peer for the tcp check.
struct listener {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  std::uint16_t port = 0;
  listener() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~listener() { ::close(fd); }
};

std::uint16_t free_port() {
  listener l;
  return l.port;
}

struct run_result {
  int exit_code = -1;
  std::string err;
};

// Runs `bin args...` with `env_add` appended to the environment, waits at most 20 s.
run_result run(const std::string& bin, const std::vector<std::string>& args,
               const std::vector<std::string>& env_add = {}) {
  temp_dir out;
  const auto err_path = out.path / "stderr";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> a{bin};
  a.insert(a.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> e;
  for (char** p = environ; *p != nullptr; ++p) {
    if (std::string_view{*p}.starts_with("VITALS_MODULE_DIR=")) continue;
    e.emplace_back(*p);
  }
  e.insert(e.end(), env_add.begin(), env_add.end());
  std::vector<char*> envp;
  for (auto& s : e) envp.push_back(s.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  run_result r;
  if (posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), envp.data()) != 0) return r;
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  const auto deadline = clock_type::now() + 20s;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (clock_type::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.err = "timed out";
      return r;
    }
    std::this_thread::sleep_for(10ms);
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.err = slurp(err_path);
  return r;
}

// GET on the daemon, bounded: {status code, body}, or nullopt if nothing answered in time.
std::optional<std::pair<int, std::string>> get(std::uint16_t port, const std::string& target) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  std::optional<std::pair<int, std::string>> res;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      std::string resp;
      char buf[4096];
      pollfd p{fd, POLLIN, 0};
      while (::poll(&p, 1, 2000) == 1) {
        const auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        resp.append(buf, static_cast<std::size_t>(n));
      }
      if (resp.starts_with("HTTP/1.1 ") && resp.size() >= 12) {
        const auto body = resp.find("\r\n\r\n");
        res.emplace(std::stoi(resp.substr(9, 3)),
                    body == std::string::npos ? "" : resp.substr(body + 4));
      }
    }
  }
  ::close(fd);
  return res;
}

// A vitalsd serving `config` (listen and shutdown settings added here), stopped by SIGTERM.
class daemon_process {
 public:
  explicit daemon_process(const std::string& checks) : port_(free_port()) {
    const auto cfg = dir_.path / "vitalsd.yaml";
    std::ofstream{cfg} << "listen: 127.0.0.1:" << port_
                       << "\nlog: {level: warn}\nshutdown: {drain_delay: 10ms, grace_period: 5s}\n"
                       << checks;
    std::string bin = VITALSD_BIN;
    std::string flag = "--config";
    std::string path = cfg.string();
    char* argv[] = {bin.data(), flag.data(), path.data(), nullptr};
    EXPECT_EQ(posix_spawn(&pid_, bin.c_str(), nullptr, nullptr, argv, environ), 0);
  }
  ~daemon_process() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    const auto deadline = clock_type::now() + 10s;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (clock_type::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
  }
  // Polls `target` until it answers `code` (at most 10 s).
  bool wait_for(const std::string& target, int code) const {
    const auto deadline = clock_type::now() + 10s;
    while (clock_type::now() < deadline) {
      if (auto r = get(port_, target); r && r->first == code) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  std::string maps() const { return slurp("/proc/" + std::to_string(pid_) + "/maps"); }
  std::uint16_t port() const { return port_; }

 private:
  temp_dir dir_;
  std::uint16_t port_;
  pid_t pid_ = -1;
};

TEST(vitalsd_lazy, host_checks_map_no_dependency_library) {
  daemon_process d{
      "checks:\n"
      "  - {name: disk, type: disk, path: /, interval: 1s, timeout: 500ms}\n"
      "  - {name: mem, type: memory, interval: 1s, timeout: 500ms}\n"
      "  - {name: loop, type: event_loop, probes: [live, ready], interval: 1s, timeout: 500ms}\n"};
  ASSERT_TRUE(d.wait_for("/readyz", 200));
  const std::string maps = d.maps();
  ASSERT_NE(maps.find("vitalsd"), std::string::npos);
  for (const char* lib : kDependencyLibraries) {
    EXPECT_EQ(maps.find(lib), std::string::npos) << lib << " is mapped:\n" << maps;
  }
}

// The history (storage:) loads libsqlite3 when it opens its file, and only then.
TEST(vitalsd_lazy, libsqlite3_is_mapped_only_with_storage) {
  temp_dir db;
  daemon_process d{"storage: {sqlite: {path: " + (db.path / "history.db").string() + "}}\n" +
                   "checks:\n  - {name: mem, type: memory, interval: 1s, timeout: 500ms}\n"};
  ASSERT_TRUE(d.wait_for("/readyz/storage", 200));
  const std::string maps = d.maps();
  EXPECT_NE(maps.find("libsqlite3."), std::string::npos) << maps;
  EXPECT_EQ(maps.find("libpq."), std::string::npos);
  EXPECT_TRUE(fs::exists(db.path / "history.db"));
}

TEST(vitalsd_lazy, a_lazy_type_runs_through_its_module) {
  temp_dir db;
  const auto db_path = db.path / "app.db";
  std::ofstream{db_path};  // SQLite accepts an empty file as an empty database
  listener peer;
  daemon_process d{"checks:\n  - {name: db, type: sqlite, path: " + db_path.string() +
                   ", interval: 1s, timeout: 500ms}\n" +
                   "  - {name: port, type: tcp, host: 127.0.0.1, port: " +
                   std::to_string(peer.port) + ", interval: 1s, timeout: 500ms}\n"};
  ASSERT_TRUE(d.wait_for("/readyz/db", 200));
  ASSERT_TRUE(d.wait_for("/readyz/port", 200));
  const std::string maps = d.maps();
  EXPECT_NE(maps.find("vitals_check_sqlite.so"), std::string::npos);
  EXPECT_NE(maps.find("libsqlite3."), std::string::npos);
  EXPECT_NE(maps.find("vitals_check_tcp.so"), std::string::npos);
  EXPECT_EQ(maps.find("libpq."), std::string::npos);
  EXPECT_EQ(maps.find("libmariadb."), std::string::npos);
  // The module reports failures too: a file that is not a database fails the check.
  std::ofstream{db_path, std::ios::trunc} << std::string(4096, 'x');
  EXPECT_TRUE(d.wait_for("/readyz/db", 503));
}

TEST(vitalsd_lazy, every_lazy_type_loads) {
  temp_dir dir;
  const auto cfg = dir.path / "all.yaml";
  std::ofstream{cfg} << "listen: 127.0.0.1:1\nchecks:\n"
                     << "  - {name: pg, type: postgres, url: 'postgres://u:pw@127.0.0.1:1/db'}\n"
                     << "  - {name: my, type: mysql, url: 'mysql://u:pw@127.0.0.1:1/db'}\n"
                     << "  - {name: rd, type: redis, url: 'redis://127.0.0.1:1'}\n"
                     << "  - {name: sq, type: sqlite, path: /nonexistent.db}\n"
                     << "  - {name: web, type: http, url: 'https://127.0.0.1:1/'}\n"
                     << "  - {name: g, type: grpc, address: '127.0.0.1:1'}\n"
                     << "  - {name: cert, type: tls, host: 127.0.0.1, port: 1}\n"
                     << "  - {name: port, type: tcp, host: 127.0.0.1, port: 1}\n";
  const auto r = run(VITALSD_BIN, {"--check-config", "--config", cfg.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(vitalsd_lazy, a_module_factory_exception_is_a_config_error) {
  temp_dir dir;
  const auto cfg = dir.path / "bad.yaml";
  std::ofstream{cfg} << "checks:\n  - name: pg\n    type: postgres\n"
                     << "    conninfo: 'host=127.0.0.1 password=s3cr3t-pw bogus'\n";
  const auto r = run(VITALSD_BIN, {"--check-config", "--config", cfg.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("postgres: invalid connection string"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.yaml:2:"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("s3cr3t-pw"), std::string::npos) << r.err;
}

TEST(vitalsd_lazy, a_missing_module_is_a_clear_error_and_the_dir_can_be_given) {
  temp_dir dir;
  const auto bin = dir.path / "vitalsd";
  fs::copy_file(VITALSD_BIN, bin);
  const auto cfg = dir.path / "pg.yaml";
  std::ofstream{cfg}
      << "checks:\n  - {name: pg, type: postgres, url: 'postgres://127.0.0.1:1/db'}\n";

  const auto missing = run(bin.string(), {"--check-config", "--config", cfg.string()});
  EXPECT_EQ(missing.exit_code, 1) << missing.err;
  EXPECT_NE(missing.err.find("needs vitals_check_postgres.so, not found in"), std::string::npos)
      << missing.err;
  EXPECT_NE(missing.err.find(dir.path.string()), std::string::npos) << missing.err;

  const auto given = run(bin.string(), {"--check-config", "--config", cfg.string()},
                         {std::string{"VITALS_MODULE_DIR="} + VITALS_MODULE_BUILD_DIR});
  EXPECT_EQ(given.exit_code, 0) << given.err;

  // A host-only configuration does not need the modules at all.
  const auto host = dir.path / "host.yaml";
  std::ofstream{host} << "checks:\n  - {name: mem, type: memory}\n";
  EXPECT_EQ(run(bin.string(), {"--check-config", "--config", host.string()}).exit_code, 0);
}

TEST(vitalsd_lazy, a_module_of_another_build_is_refused) {
  temp_dir dir;
  const auto bin = dir.path / "vitalsd";
  fs::copy_file(VITALSD_BIN, bin);
  // Patch the version string inside a copy of the module: same code, different build.
  std::string mod = slurp(fs::path{VITALS_MODULE_BUILD_DIR} / "vitals_check_sqlite.so");
  const std::string abi = "vitals ";
  const auto at = mod.find(abi + VITALS_PROJECT_VERSION " ");
  ASSERT_NE(at, std::string::npos);
  mod[at + abi.size()] = 'X';
  std::ofstream{dir.path / "vitals_check_sqlite.so", std::ios::binary} << mod;
  const auto cfg = dir.path / "sq.yaml";
  std::ofstream{cfg} << "checks:\n  - {name: sq, type: sqlite, path: /nonexistent.db}\n";
  const auto r = run(bin.string(), {"--check-config", "--config", cfg.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("was built for"), std::string::npos) << r.err;
}

}  // namespace
