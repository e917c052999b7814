#pragma once
// Test support for the vitals gRPC health server: grpc++ clients (generated stubs), a Watch
// stream on the callback API, a child process driven through its stdin, /proc figures and
// throw-away certificates made with the openssl CLI. Only processes started here are signalled,
// by their PID.

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"

extern char** environ;

namespace vitals::grpc::testing {

namespace hv1 = ::grpc::health::v1;
using serving = hv1::HealthCheckResponse::ServingStatus;
constexpr serving SERVING = hv1::HealthCheckResponse::SERVING;
constexpr serving NOT_SERVING = hv1::HealthCheckResponse::NOT_SERVING;
constexpr serving SERVICE_UNKNOWN = hv1::HealthCheckResponse::SERVICE_UNKNOWN;

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A channel of its own (a distinct argument keeps grpc++ from sharing one connection).
inline std::shared_ptr<::grpc::Channel> make_channel(
    const std::string& target,
    std::shared_ptr<::grpc::ChannelCredentials> creds = ::grpc::InsecureChannelCredentials(),
    int id = 0, const std::string& tls_name = {}) {
  ::grpc::ChannelArguments args;
  args.SetInt("vitals.test.channel", id);
  if (!tls_name.empty()) args.SetSslTargetNameOverride(tls_name);
  return ::grpc::CreateCustomChannel(target, std::move(creds), args);
}

struct check_answer {
  ::grpc::StatusCode code = ::grpc::StatusCode::UNKNOWN;
  serving status = hv1::HealthCheckResponse::UNKNOWN;
};

inline std::unique_ptr<::grpc::ClientContext> context(const std::string& token,
                                                      std::chrono::milliseconds deadline) {
  auto ctx = std::make_unique<::grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

inline check_answer check(hv1::Health::Stub& stub, const std::string& service,
                          const std::string& token = {},
                          std::chrono::milliseconds deadline = std::chrono::seconds{5}) {
  auto ctx = context(token, deadline);
  hv1::HealthCheckRequest req;
  req.set_service(service);
  hv1::HealthCheckResponse resp;
  const ::grpc::Status s = stub.Check(ctx.get(), req, &resp);
  return {s.error_code(), resp.status()};
}

struct list_answer {
  ::grpc::StatusCode code = ::grpc::StatusCode::UNKNOWN;
  std::map<std::string, serving> statuses;
};

inline list_answer list(hv1::Health::Stub& stub, const std::string& token = {}) {
  auto ctx = context(token, std::chrono::seconds{5});
  hv1::HealthListRequest req;
  hv1::HealthListResponse resp;
  const ::grpc::Status s = stub.List(ctx.get(), req, &resp);
  list_answer a{s.error_code(), {}};
  for (const auto& [name, st] : resp.statuses()) a.statuses[name] = st.status();
  return a;
}

/// One Watch stream on grpc++'s callback client API. With `read = false` it never reads a
/// message (the slow reader of the tests). The destructor cancels the call and waits for its end.
class watch_stream final : public ::grpc::ClientReadReactor<hv1::HealthCheckResponse> {
 public:
  watch_stream(hv1::Health::Stub& stub, const std::string& service, const std::string& token = {},
               bool read = true)
      : read_(read) {
    if (!token.empty()) ctx_.AddMetadata("authorization", "Bearer " + token);
    req_.set_service(service);
    stub.async()->Watch(&ctx_, &req_, this);
    if (read_) StartRead(&msg_);
    StartCall();
  }
  ~watch_stream() override {
    ctx_.TryCancel();
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, std::chrono::seconds{10}, [this] { return done_; });
  }
  watch_stream(const watch_stream&) = delete;
  watch_stream& operator=(const watch_stream&) = delete;

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended; OnDone follows
    {
      std::lock_guard lk(mu_);
      got_.push_back(msg_.status());
    }
    cv_.notify_all();
    StartRead(&msg_);
  }
  void OnDone(const ::grpc::Status& s) override {
    {
      std::lock_guard lk(mu_);
      done_ = true;
      final_ = s;
    }
    cv_.notify_all();
  }

  /// Waits until the last message received is `s`.
  bool wait_last(serving s, std::chrono::milliseconds bound = std::chrono::seconds{10}) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, bound, [&] { return !got_.empty() && got_.back() == s; });
  }
  /// Waits until at least `n` messages arrived.
  bool wait_count(std::size_t n, std::chrono::milliseconds bound = std::chrono::seconds{10}) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, bound, [&] { return got_.size() >= n; });
  }
  bool wait_done(std::chrono::milliseconds bound = std::chrono::seconds{10}) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, bound, [&] { return done_; });
  }
  [[nodiscard]] std::vector<serving> messages() {
    std::lock_guard lk(mu_);
    return got_;
  }
  [[nodiscard]] bool done() {
    std::lock_guard lk(mu_);
    return done_;
  }
  [[nodiscard]] ::grpc::Status final_status() {
    std::lock_guard lk(mu_);
    return final_;
  }

 private:
  bool read_;
  ::grpc::ClientContext ctx_;
  hv1::HealthCheckRequest req_;
  hv1::HealthCheckResponse msg_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<serving> got_;
  bool done_ = false;
  ::grpc::Status final_;
};

/// True if no two consecutive messages are equal (Watch never resends a status).
inline bool no_duplicates(const std::vector<serving>& m) {
  for (std::size_t i = 1; i < m.size(); ++i) {
    if (m[i] == m[i - 1]) return false;
  }
  return true;
}

/// VmRSS (KiB) and Threads of a process, from /proc/<pid>/status.
struct proc_figures {
  long rss_kib = -1;
  long threads = -1;
};
inline proc_figures figures_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  proc_figures f;
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") in >> f.rss_kib;
    if (key == "Threads:") in >> f.threads;
    std::string rest;
    std::getline(in, rest);
  }
  return f;
}

/// A child process with its stdin and stdout piped to the test, killed by PID at the end.
class child_process {
 public:
  explicit child_process(const std::vector<std::string>& argv) {
    int in_pipe[2];
    int out_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe failed");
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_pipe[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in_pipe[0]);
    close(out_pipe[1]);
    if (rc != 0) {
      close(in_pipe[1]);
      close(out_pipe[0]);
      throw std::runtime_error("cannot spawn " + argv[0]);
    }
    in_ = in_pipe[1];
    out_ = out_pipe[0];
  }
  ~child_process() {
    if (in_ >= 0) close(in_);
    if (out_ >= 0) close(out_);
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }

  void send(const std::string& line) {
    const std::string l = line + "\n";
    if (write(in_, l.data(), l.size()) != static_cast<ssize_t>(l.size())) {
      throw std::runtime_error("write to child failed");
    }
  }
  /// The next line on stdout, or "" if none within `bound`.
  std::string read_line(std::chrono::milliseconds bound = std::chrono::seconds{15}) {
    const auto end = std::chrono::steady_clock::now() + bound;
    while (buffer_.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char c[512];
      const ssize_t n = read(out_, c, sizeof c);
      if (n <= 0) return "";
      buffer_.append(c, static_cast<std::size_t>(n));
    }
    const auto nl = buffer_.find('\n');
    std::string line = buffer_.substr(0, nl);
    buffer_.erase(0, nl + 1);
    return line;
  }
  /// Sends a command and returns its one-line answer.
  std::string ask(const std::string& line,
                  std::chrono::milliseconds bound = std::chrono::seconds{15}) {
    send(line);
    return read_line(bound);
  }
  /// Waits (bounded) for the child to exit; its exit code, or -1.
  int wait_exit(std::chrono::milliseconds bound = std::chrono::seconds{15}) {
    const auto end = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      pollfd p{out_, POLLIN, 0};
      static_cast<void>(poll(&p, 1, 20));
      if ((p.revents & POLLIN) != 0) {
        char c[512];
        static_cast<void>(read(out_, c, sizeof c));
      }
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  bool reaped_ = false;
  std::string buffer_;
};

/// A temporary directory removed at the end.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vitals-grpc-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// A CA, a server certificate for "localhost" / 127.0.0.1 / ::1 and a client certificate, made
/// with the openssl CLI into `dir`: ca.crt, server.{crt,key}, client.{crt,key}. Throws if
/// openssl fails.
inline void make_certs(const temp_dir& dir) {
  const auto q = [&](const std::string& f) { return "'" + dir.file(f) + "'"; };
  std::ofstream(dir.file("server.ext"))
      << "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n";
  std::ofstream(dir.file("client.ext")) << "extendedKeyUsage=clientAuth\n";
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::vector<std::string> cmds = {
      "openssl req -x509" + ec + " -keyout " + q("ca.key") + " -out " + q("ca.crt") +
          " -days 2 -subj /CN=vitals-test-ca",
      "openssl req" + ec + " -keyout " + q("server.key") + " -out " + q("server.csr") +
          " -subj /CN=localhost",
      "openssl x509 -req -in " + q("server.csr") + " -CA " + q("ca.crt") + " -CAkey " +
          q("ca.key") + " -CAcreateserial -out " + q("server.crt") + " -days 2 -extfile " +
          q("server.ext"),
      "openssl req" + ec + " -keyout " + q("client.key") + " -out " + q("client.csr") +
          " -subj /CN=vitals-test-client",
      "openssl x509 -req -in " + q("client.csr") + " -CA " + q("ca.crt") + " -CAkey " +
          q("ca.key") + " -CAcreateserial -out " + q("client.crt") + " -days 2 -extfile " +
          q("client.ext"),
  };
  for (const auto& c : cmds) {
    if (std::system((c + " >/dev/null 2>&1").c_str()) != 0) {
      throw std::runtime_error("openssl failed: " + c);
    }
  }
}

}  // namespace vitals::grpc::testing
