// The datastore checks' reply readers, fed a peer's bytes in pieces as the network delivers them:
//   - redis: hiredis' RESP reader (as the check creates it) and what the check reads from the
//     replies (error kinds, `redis_version` of INFO, the role of ROLE);
//   - memcached: the check's `version` line handling (parse_version_line, printable_excerpt).
// The first byte picks the piece size and which reader gets the rest.
#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_util.hpp"
#include "memcached/memcached_detail.hpp"
#include "redis/redis_detail.hpp"

namespace {

using vitals_fuzz::require;

struct reader_deleter {
  void operator()(redisReader* r) const noexcept { redisReaderFree(r); }
};
struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};

void read_reply(const redisReply& r, int depth) {
  require(depth < 64, "reply nested deeper than the reader allows");
  switch (r.type) {
    case REDIS_REPLY_ERROR: {
      const std::string_view e{r.str, r.len};
      (void)vitals::checks::detail::kind_of_redis_error(e);
      break;
    }
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS: {
      const std::string_view s{r.str, r.len};
      const std::string v = vitals::checks::detail::redis_version_from_info(s);
      require(v.size() <= s.size(), "version longer than the reply");
      require(v.find_first_of("\r\n") == std::string::npos, "version spans lines");
      break;
    }
    case REDIS_REPLY_ARRAY:  // hiredis 0.14 (Debian 12) reads RESP2 only
      for (std::size_t i = 0; i < r.elements; ++i) read_reply(*r.element[i], depth + 1);
      break;
    default:
      break;
  }
}

void redis(std::string_view bytes, std::size_t piece) {
  // The reader as the check creates it: arrays over max_reply_elements refused.
  const std::unique_ptr<redisReader, reader_deleter> reader{
      vitals::checks::detail::bounded_reader()};
  std::size_t fed = 0;
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK) {
      require(reader->errstr[0] != '\0', "reader error without a message");
      return;  // the check reports "not a Redis reply" and drops the connection
    }
    if (raw != nullptr) {
      const std::unique_ptr<redisReply, reply_deleter> reply{static_cast<redisReply*>(raw)};
      read_reply(*reply, 0);
      continue;
    }
    if (fed == bytes.size()) return;
    const std::size_t n = piece < bytes.size() - fed ? piece : bytes.size() - fed;
    require(redisReaderFeed(reader.get(), bytes.data() + fed, n) == REDIS_OK, "feed failed");
    fed += n;
  }
}

void memcached(std::string_view bytes, std::size_t piece) {
  // The check's loop: buffer what arrives, answer on the first CRLF or give up early.
  constexpr std::size_t max_line = 256;
  constexpr std::string_view expected = "VERSION ";
  std::string buffer;
  std::size_t fed = 0;
  for (;;) {
    if (const auto eol = buffer.find("\r\n"); eol != std::string::npos) {
      const std::string line = buffer.substr(0, eol);
      if (const auto v = vitals::checks::detail::parse_version_line(line)) {
        require(!v->empty() && line == std::string{expected} + *v, "version not from the line");
      }
      const std::string shown = vitals::checks::detail::printable_excerpt(line);
      for (const char c : shown) {
        require(c >= 0x20 && c < 0x7f, "excerpt shows an unprintable byte", shown);
      }
      require(shown.size() <= 32 + 3 + 3, "excerpt too long", shown);
      return;
    }
    const bool on_track = expected.starts_with(std::string_view(buffer).substr(0, expected.size()));
    if (!on_track || buffer.size() > max_line) {
      (void)vitals::checks::detail::printable_excerpt(buffer);
      return;
    }
    if (fed == bytes.size()) return;
    const std::size_t n = piece < bytes.size() - fed ? piece : bytes.size() - fed;
    buffer.append(bytes.data() + fed, n);
    fed += n;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vitals_fuzz::reader in{data, size};
  const unsigned choice = in.byte();
  const std::size_t piece = (choice >> 1) + 1;
  const std::string_view bytes = in.rest();
  if ((choice & 1) == 0) {
    redis(bytes, piece);
  } else {
    memcached(bytes, piece);
  }
  return 0;
}
