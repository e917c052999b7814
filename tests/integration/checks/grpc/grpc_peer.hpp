#pragma once
// Real gRPC servers for the grpc check's tests, each a child process on 127.0.0.1 that the test
// starts, drives and stops by PID:
//   - grpc_default_health_server (tests/peers): grpc++ with gRPC's own default health service;
//   - grpc_test_server.py: Python grpcio without any health servicer, or one that echoes the
//     request's metadata back in its error (a server that leaks what it was sent).
// Plus the test's own certificates (the openssl CLI), TCP connection counts from /proc/net/tcp
// and a runner for the built `vitals` binary.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace vitals::grpc_test {

/// A child process with a pipe to its stdin and one from its stdout.
class child {
 public:
  /// Starts `argv` (argv[0] is the path) and waits up to `ready` for a first stdout line
  /// "port <N>". Throws std::runtime_error (with the child's stderr tail) if it does not come.
  explicit child(const std::vector<std::string>& argv,
                 std::chrono::milliseconds ready = std::chrono::seconds{20});
  ~child();  // "shutdown", then SIGKILL after 5 s; waitpid by PID
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  /// Sends one command line and returns the reply line ("ok", "error: ...").
  std::string command(const std::string& line);
  void freeze();  ///< SIGSTOP
  void thaw();    ///< SIGCONT

 private:
  std::string read_line(std::chrono::milliseconds within);
  pid_t pid_ = -1;
  int in_ = -1;   // its stdin
  int out_ = -1;  // its stdout
  std::string buffered_;
  std::filesystem::path stderr_file_;
  std::uint16_t port_ = 0;
  bool frozen_ = false;
};

struct server_tls {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file{};  ///< non-empty: require a client certificate signed by it
};

/// gRPC's own default health service (the peer in tests/peers). `listen` "127.0.0.1:0" or a
/// fixed port.
[[nodiscard]] std::vector<std::string> default_health_server(
    std::optional<server_tls> tls = std::nullopt, bool no_health = false,
    const std::string& listen = "127.0.0.1:0");
/// The Python grpcio server: mode "no-health" or "echo-metadata".
[[nodiscard]] std::vector<std::string> python_server(const std::string& mode);

/// Certificates made with the openssl CLI in a fresh temporary directory (removed on
/// destruction): a CA, a server leaf for localhost / 127.0.0.1 / ::1, a client leaf.
class certificates {
 public:
  certificates();
  ~certificates();
  certificates(const certificates&) = delete;
  certificates& operator=(const certificates&) = delete;
  [[nodiscard]] std::string file(const std::string& name) const { return (dir_ / name).string(); }
  // ca.pem ca.key server.pem server.key client.pem client.key other_ca.pem

 private:
  std::filesystem::path dir_;
};

/// ESTABLISHED TCP connections of this process to 127.0.0.1:`port` / [::1]:`port`, each as its
/// local port (from /proc/net/tcp{,6}, matched to our socket inodes in /proc/self/fd).
[[nodiscard]] std::vector<std::uint16_t> connections_to(std::uint16_t port);

/// Threads of this process.
[[nodiscard]] std::size_t thread_count();

/// A port on 127.0.0.1 with nothing listening (bound, then closed).
[[nodiscard]] std::uint16_t closed_port();

/// Runs a program to its end (bounded by `limit`, then SIGKILL); stdout and stderr together.
struct run_output {
  int exit_code = -1;  ///< -1 if killed
  std::string text;
  std::chrono::milliseconds took{0};
};
[[nodiscard]] run_output run_program(const std::vector<std::string>& argv,
                                     std::chrono::milliseconds limit);

/// A program started now and collected later (vitals wait while the test changes the server).
class background_program {
 public:
  explicit background_program(const std::vector<std::string>& argv);
  ~background_program();  // SIGKILL if still running; waitpid by PID
  background_program(const background_program&) = delete;
  background_program& operator=(const background_program&) = delete;
  /// Waits up to `limit` for the exit; nullopt if still running.
  [[nodiscard]] std::optional<run_output> wait_for(std::chrono::milliseconds limit);

 private:
  pid_t pid_ = -1;
  std::filesystem::path output_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace vitals::grpc_test
