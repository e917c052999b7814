#pragma once
// Private to the built-in server: the OpenSSL server context behind `server_options::tls`, and
// the watch that rebuilds it when the certificate, key or client CA files change.
//
// A context is immutable once built. New connections take the current one; a connection keeps
// the context it started with (SSL_new holds a reference), so a reload never touches an open
// connection: rotated certificates apply to new connections only, nothing is dropped.

#include <sys/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>

#include "vitals/http/server.hpp"

// OpenSSL's types, without its headers in every user of this one.
struct ssl_ctx_st;
struct ssl_st;
struct bio_st;

namespace vitals::http::detail {

struct openssl_api;

/// A built server context. Throws std::runtime_error naming the file and OpenSSL's reason when
/// a file cannot be read or the key does not match the certificate.
class tls_context {
 public:
  explicit tls_context(const tls_options& options);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  /// A new server-side session reading and writing two memory BIOs (the caller moves the
  /// bytes between them and the socket); null when OpenSSL cannot allocate one.
  [[nodiscard]] ssl_st* new_session() const noexcept;

 private:
  const openssl_api& api_;
  ssl_ctx_st* ctx_ = nullptr;
};

/// What identifies one version of a file: a rotation (rename, symlink swap of a mounted
/// Secret, rewrite in place) changes at least one of these.
struct file_version {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  timespec mtime{};
  bool exists = false;
  friend bool operator==(const file_version& a, const file_version& b) noexcept {
    return a.dev == b.dev && a.ino == b.ino && a.size == b.size &&
           a.mtime.tv_sec == b.mtime.tv_sec && a.mtime.tv_nsec == b.mtime.tv_nsec &&
           a.exists == b.exists;
  }
};

/// The current context and its reload. `current()` may be called from any thread;
/// `poll()` from one thread at a time (the server calls it from its first worker, every
/// `tls_reload_period`).
class tls_state {
 public:
  /// Builds the first context (throws as tls_context does).
  explicit tls_state(tls_options options);

  [[nodiscard]] std::shared_ptr<const tls_context> current() const;
  /// Rebuilds the context if one of the files changed since the last look. A file caught
  /// half-written (a key that does not match its certificate yet) keeps the previous context
  /// and is tried again at the next change. Returns true if the context was replaced.
  bool poll();

  [[nodiscard]] std::uint64_t reloads() const noexcept {
    return reloads_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t reload_failures() const noexcept {
    return failures_.load(std::memory_order_relaxed);
  }
  /// Why the last reload failed ("" once one succeeds).
  [[nodiscard]] std::string last_error() const;

 private:
  using versions = std::array<file_version, 3>;
  [[nodiscard]] versions look() const;

  tls_options options_;
  versions seen_{};
  mutable std::mutex mutex_{};
  std::shared_ptr<const tls_context> current_;
  std::atomic<std::uint64_t> reloads_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::string last_error_{};
};

/// How often the files are looked at (three stat(2) calls).
inline constexpr std::chrono::milliseconds tls_reload_period{1000};

}  // namespace vitals::http::detail
