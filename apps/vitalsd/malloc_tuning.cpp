// vitalsd's allocator settings, applied before main() by a constructor so that the daemon's
// code needs no call for them (docs/memory.md).
#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace {

// glibc gives every thread that allocates an arena of its own (up to 8 per core), each keeping
// its own partly used pages. vitalsd's threads are many and mostly asleep, and small
// allocations are served by the per-thread cache without touching an arena at all, so one
// arena is enough: measured -0.4 to -0.7 MiB of peak RSS under wrk -c50 (bench/daemon/; no
// requests/s difference resolvable on the shared test machine). A setting given by the operator
// (MALLOC_ARENA_MAX, or GLIBC_TUNABLES with glibc.malloc.arena_max) wins.
[[gnu::constructor]] void vitalsd_tune_malloc() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr ||
      (tunables != nullptr && std::strstr(tunables, "glibc.malloc.arena_max") != nullptr)) {
    return;
  }
  mallopt(M_ARENA_MAX, 1);
}

}  // namespace
