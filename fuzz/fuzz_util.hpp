#pragma once
// Shared by the fuzz targets: a failed property aborts with a message (libFuzzer saves the input).

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace vitals_fuzz {

[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
  // fwrite, not %s: the detail may hold NUL bytes.
  std::fprintf(stderr, "fuzz property violated: %s\n", what);
  std::fwrite(detail.data(), 1, detail.size(), stderr);
  std::fputc('\n', stderr);
  std::abort();
}

inline void require(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) fail(what, detail);
}

/// Reads the fuzz input front to back: small integers for choices, then strings.
class reader {
 public:
  reader(const unsigned char* data, std::size_t size) noexcept
      : p_(reinterpret_cast<const char*>(data)), n_(size) {}
  [[nodiscard]] bool empty() const noexcept { return n_ == 0; }
  [[nodiscard]] unsigned byte() noexcept {
    if (n_ == 0) return 0;
    --n_;
    return static_cast<unsigned char>(*p_++);
  }
  /// Up to the next '\x1f' separator (or the end).
  [[nodiscard]] std::string_view field() noexcept {
    std::size_t i = 0;
    while (i < n_ && p_[i] != '\x1f') ++i;
    const std::string_view f{p_, i};
    const std::size_t used = i < n_ ? i + 1 : i;
    p_ += used;
    n_ -= used;
    return f;
  }
  [[nodiscard]] std::string_view rest() noexcept {
    const std::string_view r{p_, n_};
    p_ += n_;
    n_ = 0;
    return r;
  }

 private:
  const char* p_;
  std::size_t n_;
};

}  // namespace vitals_fuzz
