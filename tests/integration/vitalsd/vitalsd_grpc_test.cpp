// vitalsd's `grpc:` section end to end: the real binary, its gRPC health server loaded from
// vitals_grpc_server.so, asked by the grpc++ client (generated from the vendored
// grpc.health.v1 proto): Check per name kind and alias, Watch across a SIGHUP reload and through
// SIGTERM's drain, and no libgrpc mapped by a vitalsd without `grpc:`.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"

extern char** environ;

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using serving = grpc::health::v1::HealthCheckResponse::ServingStatus;

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string slurp(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// vitalsd on a config of its own, in a temp dir, with a `file` check flipped by a marker file.
class vitalsd {
 public:
  explicit vitalsd(bool with_grpc) {
    dir_ = fs::temp_directory_path() /
           ("vitalsd-grpc-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    fs::create_directories(dir_);
    marker_ = dir_ / "ready";
    std::ofstream{marker_} << "x";
    http_port_ = free_port();
    grpc_port_ = free_port();
    std::string cfg = "listen: \"127.0.0.1:" + std::to_string(http_port_) + "\"\n";
    cfg += "log: {format: text, level: debug}\n";
    cfg += "shutdown: {drain_delay: 1500ms, grace_period: 10s}\n";
    cfg += "checks:\n";
    cfg += "  - {name: marker, type: file, path: \"" + marker_.string() +
           "\", interval: 100ms, timeout: 50ms, probes: [ready]}\n";
    if (with_grpc) {
      cfg += "grpc:\n  listen: \"127.0.0.1:" + std::to_string(grpc_port_) + "\"\n";
      cfg += "  aliases: {my.pkg.Orders: readiness}\n";
    }
    std::ofstream{dir_ / "vitalsd.yaml"} << cfg;
    const std::string config = (dir_ / "vitalsd.yaml").string();
    const std::string log = (dir_ / "log").string();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    const char* argv[] = {VITALSD_BIN, "--config", config.c_str(), nullptr};
    const int rc = posix_spawn(&pid_, VITALSD_BIN, &fa, nullptr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) pid_ = -1;
  }
  ~vitalsd() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  vitalsd(const vitalsd&) = delete;
  vitalsd& operator=(const vitalsd&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string grpc_target() const {
    return "127.0.0.1:" + std::to_string(grpc_port_);
  }
  [[nodiscard]] std::string log() const { return slurp(dir_ / "log"); }
  void signal(int sig) const { ::kill(pid_, sig); }
  void set_ready(bool ready) const {
    if (ready) {
      std::ofstream{marker_} << "x";
    } else {
      fs::remove(marker_);
    }
  }
  /// Exit status, waiting at most `limit`; -1 if still running.
  int wait_exit(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }
  /// Waits until the log says the daemon started (or the limit passes).
  bool wait_started(std::chrono::milliseconds limit) const {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      const std::string text = log();
      if (text.find("vitalsd started") != std::string::npos) return true;
      if (text.find("nothing started") != std::string::npos) return false;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

 private:
  static inline int counter = 0;
  fs::path dir_;
  fs::path marker_;
  std::uint16_t http_port_ = 0;
  std::uint16_t grpc_port_ = 0;
  pid_t pid_ = -1;
};

struct answer {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  serving status = HealthCheckResponse::UNKNOWN;
};

answer check(Health::Stub& stub, const std::string& service) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 2s);
  HealthCheckRequest req;
  req.set_service(service);
  HealthCheckResponse resp;
  const grpc::Status st = stub.Check(&ctx, req, &resp);
  return {st.error_code(), resp.status()};
}

/// Polls Check until it answers `want` (or 5 s pass).
bool eventually(Health::Stub& stub, const std::string& service, serving want) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < until) {
    const answer a = check(stub, service);
    if (a.code == grpc::StatusCode::OK && a.status == want) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::unique_ptr<Health::Stub> connect(const vitalsd& d) {
  return Health::NewStub(grpc::CreateChannel(d.grpc_target(), grpc::InsecureChannelCredentials()));
}

TEST(vitalsd_grpc, check_answers_every_kind_of_name_from_the_engine) {
  vitalsd d{true};
  ASSERT_GT(d.pid(), 0);
  ASSERT_TRUE(d.wait_started(10s)) << d.log();
  EXPECT_NE(d.log().find("grpc_listen=127.0.0.1:"), std::string::npos) << d.log();
  auto stub = connect(d);
  EXPECT_TRUE(eventually(*stub, "", HealthCheckResponse::SERVING)) << d.log();
  EXPECT_TRUE(eventually(*stub, "readiness", HealthCheckResponse::SERVING));
  EXPECT_TRUE(eventually(*stub, "liveness", HealthCheckResponse::SERVING));
  EXPECT_TRUE(eventually(*stub, "my.pkg.Orders", HealthCheckResponse::SERVING));
  EXPECT_TRUE(eventually(*stub, "marker", HealthCheckResponse::SERVING));
  EXPECT_EQ(check(*stub, "no.such.Service").code, grpc::StatusCode::NOT_FOUND);

  d.set_ready(false);
  EXPECT_TRUE(eventually(*stub, "", HealthCheckResponse::NOT_SERVING));
  EXPECT_TRUE(eventually(*stub, "my.pkg.Orders", HealthCheckResponse::NOT_SERVING));
  EXPECT_TRUE(eventually(*stub, "marker", HealthCheckResponse::NOT_SERVING));
  // The check is in `ready` only: liveness does not depend on it.
  EXPECT_TRUE(eventually(*stub, "liveness", HealthCheckResponse::SERVING));
  d.set_ready(true);
  EXPECT_TRUE(eventually(*stub, "", HealthCheckResponse::SERVING));
}

TEST(vitalsd_grpc, a_watch_stream_survives_a_reload_and_ends_after_the_drain) {
  vitalsd d{true};
  ASSERT_GT(d.pid(), 0);
  ASSERT_TRUE(d.wait_started(10s)) << d.log();
  auto stub = connect(d);
  ASSERT_TRUE(eventually(*stub, "", HealthCheckResponse::SERVING)) << d.log();

  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  HealthCheckRequest req;
  req.set_service("");
  auto reader = stub->Watch(&ctx, req);
  HealthCheckResponse resp;
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVING);

  // A reload builds a new engine: the stream follows it (no end, no false NOT_SERVING).
  d.signal(SIGHUP);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (d.log().find("configuration reloaded") == std::string::npos &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_NE(d.log().find("configuration reloaded"), std::string::npos) << d.log();
  EXPECT_EQ(d.log().find("restarting the gRPC server"), std::string::npos) << d.log();

  // A real change after the reload reaches the same stream.
  d.set_ready(false);
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::NOT_SERVING);
  d.set_ready(true);
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVING);

  // SIGTERM: NOT_SERVING at once (the drain), liveness too stays answerable meanwhile; then the
  // stream ends cleanly and the process exits 0.
  const auto t0 = std::chrono::steady_clock::now();
  d.signal(SIGTERM);
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(check(*stub, "").status, HealthCheckResponse::NOT_SERVING);
  while (reader->Read(&resp)) {
    EXPECT_EQ(resp.status(), HealthCheckResponse::NOT_SERVING);
  }
  const grpc::Status end = reader->Finish();
  EXPECT_TRUE(end.ok() || end.error_code() == grpc::StatusCode::CANCELLED ||
              end.error_code() == grpc::StatusCode::UNAVAILABLE)
      << end.error_code() << " " << end.error_message();
  EXPECT_EQ(d.wait_exit(10s), 0) << d.log();
}

std::string maps_of(pid_t pid) { return slurp("/proc/" + std::to_string(pid) + "/maps"); }

TEST(vitalsd_grpc, libgrpc_is_mapped_only_with_a_grpc_section) {
  vitalsd plain{false};
  ASSERT_GT(plain.pid(), 0);
  ASSERT_TRUE(plain.wait_started(10s)) << plain.log();
  EXPECT_EQ(maps_of(plain.pid()).find("libgrpc"), std::string::npos);

  vitalsd with{true};
  ASSERT_GT(with.pid(), 0);
  ASSERT_TRUE(with.wait_started(10s)) << with.log();
  EXPECT_NE(maps_of(with.pid()).find("libgrpc"), std::string::npos);
}

}  // namespace
