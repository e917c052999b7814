#include "shard.hpp"

#include <dlfcn.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

namespace vitalsd {

namespace {

// libcrypto's one-shot digest, looked up once. Its headers give the signatures only.
struct md5_api {
  decltype(&::EVP_Digest) digest = nullptr;
  decltype(&::EVP_md5) md5 = nullptr;
};

const md5_api& md5() {
  static const md5_api api = [] {
    md5_api a;
    void* lib = ::dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      const char* why = ::dlerror();
      throw std::runtime_error(std::string{"sharding needs MD5 from libcrypto.so.3 (OpenSSL 3): "} +
                               (why != nullptr ? why : "cannot be loaded"));
    }
    a.digest = reinterpret_cast<decltype(a.digest)>(::dlsym(lib, "EVP_Digest"));
    a.md5 = reinterpret_cast<decltype(a.md5)>(::dlsym(lib, "EVP_md5"));
    if (a.digest == nullptr || a.md5 == nullptr)
      throw std::runtime_error("sharding: libcrypto.so.3 lacks EVP_Digest or EVP_md5");
    return a;
  }();
  return api;
}

std::optional<std::uint64_t> number(std::string_view s) {
  std::uint64_t v = 0;
  const auto* end = s.data() + s.size();
  const auto [p, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc{} || p != end) return std::nullopt;
  return v;
}

}  // namespace

std::optional<shard_spec> parse_shard(std::string_view text, std::string& error) {
  const auto slash = text.find('/');
  const auto index = number(text.substr(0, slash));
  const auto count =
      slash == std::string_view::npos ? std::nullopt : number(text.substr(slash + 1));
  if (!index || !count) {
    error = "--shard: expected i/N (e.g. 0/4), got \"" + std::string{text} + "\"";
    return std::nullopt;
  }
  if (*count < 1 || *count > 65536) {
    error = "--shard: N must be between 1 and 65536, got " + std::to_string(*count);
    return std::nullopt;
  }
  if (*index >= *count) {
    error = "--shard: i must be below N (shards are numbered 0 to N-1), got " + std::string{text};
    return std::nullopt;
  }
  return shard_spec{.index = *index, .count = *count};
}

std::uint64_t hashmod(std::string_view value, std::uint64_t modulus) {
  const auto& api = md5();
  std::array<unsigned char, 16> sum{};
  unsigned int len = 0;
  if (api.digest(value.data(), value.size(), sum.data(), &len, api.md5(), nullptr) != 1 ||
      len != sum.size()) {
    throw std::runtime_error("sharding: MD5 failed");
  }
  std::uint64_t v = 0;
  for (std::size_t i = 8; i < 16; ++i) v = (v << 8) | sum[i];
  return v % modulus;
}

vitals::http::target_catalog::map keep_shard(vitals::config::daemon_config& cfg,
                                             const shard_spec& shard) {
  vitals::http::target_catalog::map all;
  if (shard.count <= 1) return all;
  for (const auto& c : cfg.checks) {
    all.emplace(c.name, vitals::http::target_meta{.group = c.group, .labels = c.labels});
  }
  std::erase_if(cfg.checks, [&](const vitals::config::check_config& c) {
    return hashmod(c.name, shard.count) != shard.index;
  });
  return all;
}

}  // namespace vitalsd
