#include "probe/h2.hpp"

#include <dlfcn.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace vitals::cli::h2 {

namespace {

api g_api{};

template <class F>
bool sym(void* lib, const char* name, F& out) noexcept {
  out = reinterpret_cast<F>(dlsym(lib, name));
  return out != nullptr;
}

// ---- the arena ---------------------------------------------------------------------------
// Bump allocation with a 16-byte header holding the block size; freeing the newest block gives
// its space back (nghttp2 frees and reallocates its newest buffers most), anything else is
// reclaimed at exit. Past the arena, libc's heap.

constexpr std::size_t arena_size = std::size_t{256} * 1024;
constexpr std::size_t align = 16;
alignas(align) unsigned char g_arena[arena_size];
std::size_t g_used = 0;
std::size_t g_last = arena_size;  // offset of the newest block's header, or arena_size

bool in_arena(const void* p) noexcept {
  const auto* b = static_cast<const unsigned char*>(p);
  return b >= g_arena && b < g_arena + arena_size;
}

std::size_t block_size(const void* p) noexcept {
  std::size_t n = 0;
  std::memcpy(&n, static_cast<const unsigned char*>(p) - align, sizeof n);
  return n;
}

void* arena_malloc(std::size_t size, void* /*user*/) noexcept {
  const std::size_t rounded = (size + align - 1) / align * align;
  if (rounded < size || rounded > arena_size - g_used - align) return std::malloc(size);
  unsigned char* header = g_arena + g_used;
  std::memcpy(header, &size, sizeof size);
  g_last = g_used;
  g_used += align + rounded;
  return header + align;
}

void arena_free(void* p, void* /*user*/) noexcept {
  if (p == nullptr) return;
  if (!in_arena(p)) {
    std::free(p);
    return;
  }
  const auto off = static_cast<std::size_t>(static_cast<unsigned char*>(p) - g_arena) - align;
  if (off == g_last) {
    g_used = off;
    g_last = arena_size;  // the one before is not known: it stays
  }
}

void* arena_calloc(std::size_t n, std::size_t size, void* user) noexcept {
  if (size != 0 && n > static_cast<std::size_t>(-1) / size) return nullptr;
  void* p = arena_malloc(n * size, user);
  if (p != nullptr) std::memset(p, 0, n * size);
  return p;
}

void* arena_realloc(void* p, std::size_t size, void* user) noexcept {
  if (p == nullptr) return arena_malloc(size, user);
  if (!in_arena(p)) return std::realloc(p, size);
  const std::size_t old = block_size(p);
  const auto off = static_cast<std::size_t>(static_cast<unsigned char*>(p) - g_arena) - align;
  const std::size_t rounded = (size + align - 1) / align * align;
  if (off == g_last && rounded >= size && rounded <= arena_size - off - align) {
    // The newest block grows (or shrinks) in place.
    std::memcpy(g_arena + off, &size, sizeof size);
    g_used = off + align + rounded;
    return p;
  }
  void* q = arena_malloc(size, user);
  if (q == nullptr) return nullptr;
  std::memcpy(q, p, old < size ? old : size);
  arena_free(p, user);
  return q;
}

nghttp2_mem g_mem{nullptr, arena_malloc, arena_free, arena_calloc, arena_realloc};

}  // namespace

nghttp2_mem* arena_allocator() noexcept { return &g_mem; }

const api* load(const char*& error) noexcept {
  static bool loaded = false;
  if (loaded) return &g_api;
  // Lazy binding: of libnghttp2's imports, only the few a client session calls get resolved.
  void* lib = dlopen("libnghttp2.so.14", RTLD_LAZY | RTLD_LOCAL);
  if (lib == nullptr) lib = dlopen("libnghttp2.so", RTLD_LAZY | RTLD_LOCAL);
  if (lib == nullptr) {
    error =
        "grpc:// needs libnghttp2 (libnghttp2.so.14, Debian package libnghttp2-14), which "
        "could not be loaded";
    return nullptr;
  }
  api& a = g_api;
  const bool ok =
      sym(lib, "nghttp2_session_callbacks_new", a.callbacks_new) &&
      sym(lib, "nghttp2_session_callbacks_del", a.callbacks_del) &&
      sym(lib, "nghttp2_session_callbacks_set_on_header_callback", a.set_on_header) &&
      sym(lib, "nghttp2_session_callbacks_set_on_data_chunk_recv_callback",
          a.set_on_data_chunk_recv) &&
      sym(lib, "nghttp2_session_callbacks_set_on_frame_recv_callback", a.set_on_frame_recv) &&
      sym(lib, "nghttp2_session_callbacks_set_on_stream_close_callback", a.set_on_stream_close) &&
      sym(lib, "nghttp2_session_client_new3", a.client_new3) &&
      sym(lib, "nghttp2_session_del", a.session_del) &&
      sym(lib, "nghttp2_submit_settings", a.submit_settings) &&
      sym(lib, "nghttp2_submit_request", a.submit_request) &&
      sym(lib, "nghttp2_session_mem_send", a.mem_send) &&
      sym(lib, "nghttp2_session_mem_recv", a.mem_recv) &&
      sym(lib, "nghttp2_session_want_read", a.want_read) &&
      sym(lib, "nghttp2_session_want_write", a.want_write) &&
      sym(lib, "nghttp2_strerror", a.strerror) &&
      sym(lib, "nghttp2_http2_strerror", a.http2_strerror);
  if (!ok) {
    error = "libnghttp2.so.14 lacks an expected symbol";
    return nullptr;
  }
  loaded = true;
  return &g_api;
}

}  // namespace vitals::cli::h2
