#include "grpc_peer.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace vitals::grpc_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

fs::path temp_path(const std::string& stem) {
  static int counter = 0;
  return fs::temp_directory_path() /
         (stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  out.reserve(argv.size() + 1);
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

// Spawns argv with stdin/stdout as given (-1: /dev/null) and stderr (and stdout when out_fd is
// -2) into `log`.
pid_t spawn(const std::vector<std::string>& argv, int in_fd, int out_fd, const fs::path& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (in_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  if (out_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
  } else {
    posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
  }
  auto args = c_argv(argv);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
  return pid;
}

// waitpid for our own child, up to `limit`; true if it ended (exit code in `code`).
bool reap(pid_t pid, std::chrono::milliseconds limit, int& code) {
  const auto until = steady::now() + limit;
  for (;;) {
    int st = 0;
    const pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) {
      code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      return true;
    }
    if (r < 0) {
      code = -1;
      return true;
    }
    if (steady::now() >= until) return false;
    std::this_thread::sleep_for(5ms);
  }
}

}  // namespace

child::child(const std::vector<std::string>& argv, std::chrono::milliseconds ready) {
  int to[2];
  int from[2];
  if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe");
  }
  stderr_file_ = temp_path("vitals-grpc-peer");
  pid_ = spawn(argv, to[0], from[1], stderr_file_);
  ::close(to[0]);
  ::close(from[1]);
  in_ = to[1];
  out_ = from[0];
  const std::string first = read_line(ready);
  if (!first.starts_with("port ")) {
    const std::string err = slurp(stderr_file_);
    throw std::runtime_error(argv[0] + " did not start (" + first +
                             "): " + err.substr(err.size() > 2000 ? err.size() - 2000 : 0));
  }
  port_ = static_cast<std::uint16_t>(std::stoi(first.substr(5)));
}

child::~child() {
  if (pid_ > 0) {
    if (frozen_) ::kill(pid_, SIGCONT);
    static constexpr char bye[] = "shutdown\n";
    [[maybe_unused]] const auto n = ::write(in_, bye, sizeof bye - 1);
    ::close(in_);
    int code = 0;
    if (!reap(pid_, 5s, code)) {
      ::kill(pid_, SIGKILL);
      reap(pid_, 5s, code);
    }
  }
  if (out_ >= 0) ::close(out_);
  std::error_code ec;
  fs::remove(stderr_file_, ec);
}

std::string child::read_line(std::chrono::milliseconds within) {
  const auto until = steady::now() + within;
  for (;;) {
    if (const auto nl = buffered_.find('\n'); nl != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now());
    if (left <= 0ms) return "<no answer>";
    pollfd p{.fd = out_, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[512];
    const auto n = ::read(out_, buf, sizeof buf);
    if (n <= 0) return "<closed>";
    buffered_.append(buf, static_cast<std::size_t>(n));
  }
}

std::string child::command(const std::string& line) {
  const std::string text = line + "\n";
  if (::write(in_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return "<write failed>";
  }
  return read_line(10s);
}

namespace {

// True once every thread of `pid` is stopped ('T' in /proc/<pid>/task/*/stat): kill() returns
// before a multi-threaded process has stopped, and a thread still running may answer one more
// call.
bool all_threads_stopped(pid_t pid) {
  std::error_code ec;
  for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    const std::string stat = slurp(t.path() / "stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] != 'T') {
      return false;
    }
  }
  return !ec;
}

}  // namespace

void child::freeze() {
  ::kill(pid_, SIGSTOP);
  frozen_ = true;
  const auto until = steady::now() + 5s;
  while (!all_threads_stopped(pid_) && steady::now() < until) std::this_thread::sleep_for(1ms);
}

void child::thaw() {
  ::kill(pid_, SIGCONT);
  frozen_ = false;
}

std::vector<std::string> default_health_server(std::optional<server_tls> tls, bool no_health,
                                               const std::string& listen) {
  std::vector<std::string> argv{VITALS_GRPC_PEER_SERVER, "--listen", listen};
  if (tls) {
    argv.insert(argv.end(), {"--tls-cert", tls->cert_file, "--tls-key", tls->key_file});
    if (!tls->client_ca_file.empty()) argv.insert(argv.end(), {"--client-ca", tls->client_ca_file});
  }
  if (no_health) argv.emplace_back("--no-health");
  return argv;
}

std::vector<std::string> python_server(const std::string& mode) {
  return {VITALS_TEST_PYTHON, VITALS_GRPC_PY_SERVER, "--mode", mode};
}

certificates::certificates() : dir_(temp_path("vitals-grpc-certs")) {
  fs::create_directories(dir_);
  const auto d = [&](const char* name) { return (dir_ / name).string(); };
  const auto openssl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/openssl");
    const auto r = run_program(args, 30s);
    if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.text);
  };
  const std::vector<std::string> ec{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                    "-nodes"};
  const auto ca = [&](const char* name, const char* cn) {
    std::vector<std::string> a{"req", "-x509"};
    a.insert(a.end(), ec.begin(), ec.end());
    a.insert(a.end(), {"-keyout", d(name) + ".key", "-out", d(name) + ".pem", "-days", "2", "-subj",
                       std::string{"/CN="} + cn, "-addext", "basicConstraints=critical,CA:TRUE",
                       "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
    openssl(a);
  };
  ca("ca", "vitals grpc test CA");
  ca("other_ca", "some other CA");
  const auto leaf = [&](const char* name, const char* ext) {
    std::ofstream(d(name) + ".ext") << ext;
    std::vector<std::string> a{"req"};
    a.insert(a.end(), ec.begin(), ec.end());
    a.insert(a.end(),
             {"-keyout", d(name) + ".key", "-out", d(name) + ".csr", "-subj", "/CN=localhost"});
    openssl(a);
    openssl({"x509", "-req", "-in", d(name) + ".csr", "-CA", d("ca.pem"), "-CAkey", d("ca.key"),
             "-CAcreateserial", "-out", d(name) + ".pem", "-days", "2", "-extfile",
             d(name) + ".ext"});
  };
  leaf("server",
       "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n"
       "basicConstraints=CA:FALSE\n");
  leaf("client", "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n");
}

certificates::~certificates() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::vector<std::uint16_t> connections_to(std::uint16_t port) {
  std::set<std::string> inodes;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = fs::read_symlink(e.path(), ec).string();
    if (target.starts_with("socket:[")) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::vector<std::uint16_t> out;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, st, queues, timer, retr, uid, timeout, inode;
      f >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> inode;
      if (st != "01" || inodes.count(inode) == 0) continue;  // 01 = ESTABLISHED
      const auto rport = std::stoul(remote.substr(remote.find(':') + 1), nullptr, 16);
      if (rport != port) continue;
      out.push_back(
          static_cast<std::uint16_t>(std::stoul(local.substr(local.find(':') + 1), nullptr, 16)));
    }
  }
  return out;
}

std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/task")) ++n;
  return n;
}

std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("closed_port: cannot bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

run_output run_program(const std::vector<std::string>& argv, std::chrono::milliseconds limit) {
  background_program p{argv};
  if (auto r = p.wait_for(limit)) return *r;
  return {.exit_code = -1, .text = "<killed after the limit>", .took = limit};
}

background_program::background_program(const std::vector<std::string>& argv)
    : output_(temp_path("vitals-grpc-run")), started_(steady::now()) {
  pid_ = spawn(argv, -1, -2, output_);
}

background_program::~background_program() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int code = 0;
    reap(pid_, 5s, code);
  }
  std::error_code ec;
  fs::remove(output_, ec);
}

std::optional<run_output> background_program::wait_for(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return std::nullopt;
  int code = 0;
  if (!reap(pid_, limit, code)) return std::nullopt;
  pid_ = -1;
  return run_output{
      .exit_code = code,
      .text = slurp(output_),
      .took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started_)};
}

}  // namespace vitals::grpc_test
