// The grpc check: grpc.health.v1.Health/Check over one grpc++ channel kept by the check.
//
// Why grpc++'s generic stub and hand-encoded messages (grpc_rules.cpp) rather than protoc's
// stubs: the two messages are one field each, and without protobuf and generated code the type
// links one library (grpc++), which is what lets vitalsd load it as a module like the others
// (src/lazy). The tests compare the encoding with protobuf's own.
//
// Why the callback API: a run is one asynchronous call whose completion (on gRPC's own
// threads, a fixed pool) hands the result to the engine; nothing waits, no thread per run, and
// a frozen server costs a pending call until the deadline, not a blocked thread.
#include <grpc/support/time.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/slice.h>
#include <grpcpp/support/status.h>
#include <grpcpp/support/stub_options.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/net.hpp"
#include "grpc/grpc_detail.hpp"
#include "vitals/checks/descriptors.hpp"
#include "vitals/checks/grpc.hpp"
#include "vitals/redact.hpp"

namespace vitals::checks {

namespace {

using steady = std::chrono::steady_clock;

constexpr const char* check_method = "/grpc.health.v1.Health/Check";

std::string read_pem(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in.good() && !in.eof()) text.clear();
  if (text.empty()) {
    throw std::invalid_argument("grpc check: cannot read " + std::string{what} + " \"" + path +
                                "\"");
  }
  return text;
}

// One call in flight: what the callback needs, kept alive by it.
struct call_state {
  ::grpc::ClientContext client;
  ::grpc::ByteBuffer request;
  ::grpc::ByteBuffer response;
  std::shared_ptr<const context> ctx;
  async_check::completion done;
  steady::time_point started;
  std::string activity;
  bool was_connected = false;
};

// gRPC must not lose its last reference to a channel on one of its own callback threads: the
// channel's destructor shuts down the completion queue that is running the callback (grpc 1.51
// aborts, "assertion failed: prior > 0"). A run's completion therefore hands its references (to
// the check, whose channel it is, and to the call, whose ClientContext holds the channel too) to
// this list instead of dropping them, and any other thread -- the next run's start(), a check
// being made -- releases them. Bounded by the runs in flight; leaked at exit on purpose (no
// destruction of gRPC objects while the process tears gRPC down).
class deferred_release {
 public:
  static deferred_release& instance() {
    static auto* list = new deferred_release();  // never destroyed
    return *list;
  }
  void keep(std::shared_ptr<void> a, std::shared_ptr<void> b) {
    std::lock_guard lk(mu_);
    items_.push_back(std::move(a));
    items_.push_back(std::move(b));
  }
  // From a thread that is not running a gRPC callback.
  void release() {
    if (on_callback_thread) return;
    std::vector<std::shared_ptr<void>> items;
    {
      std::lock_guard lk(mu_);
      items.swap(items_);
    }
  }

  // Set while a completion runs (the engine may start the next run from inside it).
  static thread_local bool on_callback_thread;

 private:
  std::mutex mu_;
  std::vector<std::shared_ptr<void>> items_;
};
thread_local bool deferred_release::on_callback_thread = false;

std::string flatten(const ::grpc::ByteBuffer& buffer) {
  std::vector<::grpc::Slice> slices;
  if (!buffer.Valid() || !buffer.Dump(&slices).ok()) return {};
  std::string out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

class grpc_check final : public vitals::async_check,
                         public checks::descriptor_user,
                         public std::enable_shared_from_this<grpc_check> {
 public:
  explicit grpc_check(grpc_options o)
      : options_(std::move(o)),
        where_(detail::parse_grpc_address(options_.address)),
        metadata_(detail::normalized_metadata(options_.metadata)) {
    const bool tls_keys = !options_.ca_file.empty() || !options_.client_cert.empty() ||
                          !options_.client_key.empty() || !options_.sni.empty() ||
                          options_.insecure;
    if (!options_.tls && tls_keys) {
      throw std::invalid_argument(
          "grpc check: ca_file, client_cert, client_key, sni and insecure need tls: true");
    }
    if (options_.client_cert.empty() != options_.client_key.empty()) {
      throw std::invalid_argument("grpc check: client_cert and client_key go together");
    }
    // Files are read now, so that a mistake shows at startup rather than at the first run.
    if (!options_.ca_file.empty()) ca_ = read_pem(options_.ca_file, "ca_file");
    if (!options_.client_cert.empty()) {
      cert_ = read_pem(options_.client_cert, "client_cert");
      key_ = read_pem(options_.client_key, "client_key");
    }
    for (const auto& [key, value] : metadata_) {
      if (!detail::is_credential_metadata(key)) continue;
      secrets_.add_secret(value);
      // "Bearer abc", "Basic abc": the credential alone can be echoed too.
      if (const auto space = value.find(' '); space != std::string::npos) {
        secrets_.add_secret(value.substr(space + 1));
      }
    }
    request_ = detail::encode_health_request(options_.service);
  }

  [[nodiscard]] check_traits traits() const override {
    return {.type = "grpc",
            .component_type = "component",
            .measurement = "responseTime",
            .dependency = true,
            .secrets = secrets_.secrets()};
  }

  // The kept connection (gRPC's own resolver and event engine are shared by the process).
  [[nodiscard]] std::size_t descriptors() const noexcept override { return 1; }

  void start(std::shared_ptr<const context> ctx, completion done) override {
    deferred_release::instance().release();
    if (busy_.exchange(true, std::memory_order_acq_rel)) {
      done(fail("previous run still in progress", failure_kind::internal));
      return;
    }
    auto call = std::make_shared<call_state>();
    call->started = steady::now();
    call->ctx = std::move(ctx);
    call->done = std::move(done);
    const auto deadline = call->ctx->deadline();
    if (deadline <= call->started) {
      finish(*call, ::grpc::Status(::grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed"));
      return;
    }
    std::shared_ptr<::grpc::Channel> channel;
    try {
      channel = kept_channel();
    } catch (const std::exception& e) {
      busy_.store(false, std::memory_order_release);
      call->done(
          fail(std::string{"cannot create the gRPC channel: "} + e.what(), failure_kind::internal));
      return;
    }
    call->was_connected = channel->GetState(false) == GRPC_CHANNEL_READY;
    call->activity =
        (call->was_connected ? "waiting for the Health/Check answer from " : "connecting to ") +
        where_.shown;
    call->ctx->doing(call->activity);

    // The runner's deadline is the call's: gRPC ends the call there (DEADLINE_EXCEEDED), at the
    // same instant the runner reports the timeout. Monotonic, like the engine's clock.
    const auto left =
        std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - call->started);
    call->client.set_deadline(gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                           gpr_time_from_nanos(left.count(), GPR_TIMESPAN)));
    // Fail fast (the default): a refused connection is reported as refused now, not as a
    // timeout at the deadline.
    for (const auto& [key, value] : metadata_) call->client.AddMetadata(key, value);
    ::grpc::Slice slice(request_);
    call->request = ::grpc::ByteBuffer(&slice, 1);

    stub_->UnaryCall(&call->client, check_method, ::grpc::StubOptions(), &call->request,
                     &call->response,
                     [self = shared_from_this(), call](const ::grpc::Status& status) mutable {
                       deferred_release::on_callback_thread = true;
                       auto me = std::move(self);
                       auto state = std::move(call);
                       me->finish(*state, status);
                       deferred_release::on_callback_thread = false;
                       deferred_release::instance().keep(std::move(me), std::move(state));
                     });
  }

 private:
  // Created on the first run and kept: one HTTP/2 connection that gRPC re-establishes when it
  // drops. Runs never overlap, but a direct caller may start from any thread.
  std::shared_ptr<::grpc::Channel> kept_channel() {
    std::lock_guard lk(mu_);
    if (channel_) return channel_;
    ::grpc::ChannelArguments args;
    // This check's own connection, not one shared with other channels to the same address:
    // what a run sees (and the descriptor count) is the check's alone.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // gRPC's default reconnect backoff grows to 120 s, during which fail-fast calls report the
    // last error without trying: a recovered server would be seen two minutes late. 100 ms
    // doubling-ish up to 1 s keeps one attempt at a time and notices a recovery within a second.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // No retries of our own call: one run is one Check (the engine decides about the next).
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    args.SetUserAgentPrefix("vitals");
    if (options_.tls && !options_.sni.empty()) args.SetSslTargetNameOverride(options_.sni);
    channel_ = ::grpc::CreateCustomChannel(where_.target, credentials(), args);
    stub_ = std::make_unique<::grpc::GenericStub>(channel_);
    return channel_;
  }

  [[nodiscard]] std::shared_ptr<::grpc::ChannelCredentials> credentials() const {
    if (!options_.tls) return ::grpc::InsecureChannelCredentials();
    if (!options_.insecure) {
      ::grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs = ca_;  // empty = gRPC's default roots
      ssl.pem_private_key = key_;
      ssl.pem_cert_chain = cert_;
      return ::grpc::SslCredentials(ssl);
    }
    namespace ex = ::grpc::experimental;
    ex::TlsChannelCredentialsOptions tls;
    tls.set_verify_server_certs(false);
    tls.set_check_call_host(false);
    tls.set_certificate_verifier(std::make_shared<ex::NoOpCertificateVerifier>());
    if (!cert_.empty() || !ca_.empty()) {
      std::vector<ex::IdentityKeyCertPair> pairs;
      if (!cert_.empty()) pairs.push_back({.private_key = key_, .certificate_chain = cert_});
      tls.set_certificate_provider(std::make_shared<ex::StaticDataCertificateProvider>(ca_, pairs));
      if (!ca_.empty()) tls.watch_root_certs();
      if (!cert_.empty()) tls.watch_identity_key_cert_pairs();
    }
    return ex::TlsCredentials(tls);
  }

  void finish(call_state& call, const ::grpc::Status& status) {
    detail::grpc_outcome outcome{.code = static_cast<int>(status.error_code()),
                                 .message = status.error_message(),
                                 .tls = options_.tls,
                                 .was_connected = call.was_connected,
                                 .client_cert = !cert_.empty()};
    if (status.ok()) outcome.response = flatten(call.response);
    const auto deadline = call.ctx->deadline();
    result r = detail::classify_health_call(
        outcome, where_, options_.service,
        detail::timed_out_text(
            call.started, deadline,
            call.activity.empty() ? "connecting to " + where_.shown : call.activity));
    if (r.status == status::pass) {
      const std::chrono::duration<double, std::milli> took = steady::now() - call.started;
      r.observe(took.count(), "ms");
    } else if (r.kind != failure_kind::timeout) {
      r.detail("address", where_.shown);
    }
    r = detail::scrubbed(std::move(r), secrets_);
    auto done = std::move(call.done);
    // Free before the completion: the engine may start the next run from inside it.
    busy_.store(false, std::memory_order_release);
    done(std::move(r));
  }

  grpc_options options_;
  detail::grpc_address where_;
  std::vector<std::pair<std::string, std::string>> metadata_;
  std::string ca_;
  std::string cert_;
  std::string key_;
  std::string request_;
  vitals::redactor secrets_;
  std::atomic<bool> busy_{false};
  std::mutex mu_;
  std::shared_ptr<::grpc::Channel> channel_;
  std::unique_ptr<::grpc::GenericStub> stub_;
};

}  // namespace

std::shared_ptr<vitals::check> grpc(grpc_options options) {
  deferred_release::instance().release();
  return std::make_shared<grpc_check>(std::move(options));
}

}  // namespace vitals::checks
