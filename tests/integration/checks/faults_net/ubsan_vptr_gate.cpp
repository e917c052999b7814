// Why: UBSan's vptr check proves that a vtable is readable before it reads it, by write()ing it
// into a pipe it opens for that (sanitizer_common's IsAccessibleMemoryRange, GCC 12 / LLVM 15
// runtimes). In a child that has used up every descriptor -- the point of this test -- the pipe
// cannot be made and the first virtual call on every (type, vtable) pair is reported as "invalid
// vptr", in our code and in Boost's and libstdc++'s alike. A suppression cannot help: the runtime
// reads its suppression file (open()) only at the first report, and a suppression by type name
// needs the same probe.
//
// So this test binary interposes the two entry points of that check (the executable's definition
// wins over libubsan.so's) and forwards every call to the runtime's, except in a process that has
// said it is out of descriptors on purpose (a child of this test): there the vptr check is skipped.
// ASan, and every other UBSan check, stay on there; a real wild pointer still crashes and is
// reported as such.
//
// Built only with GCC's shared UBSan runtime (VITALS_UBSAN_VPTR_GATE, see CMakeLists.txt); with
// a static runtime the duplicate definition would not link.
#include "ubsan_vptr_gate.hpp"

#include <atomic>

#ifdef VITALS_UBSAN_VPTR_GATE
#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#endif

namespace vitals::testkit {
namespace {
std::atomic<bool> out_of_descriptors_on_purpose{false};
}  // namespace

void vptr_check_needs_no_descriptor_from_now_on() noexcept {
  out_of_descriptors_on_purpose.store(true, std::memory_order_release);
}

}  // namespace vitals::testkit

#ifdef VITALS_UBSAN_VPTR_GATE
namespace {

using miss_handler = void (*)(void* data, std::uintptr_t pointer, std::uintptr_t hash);

miss_handler runtime_handler(const char* name) {
  auto* fn = reinterpret_cast<miss_handler>(::dlsym(RTLD_NEXT, name));
  if (fn == nullptr) std::abort();  // no UBSan runtime behind us: never skip silently
  return fn;
}

bool skip() {
  return vitals::testkit::out_of_descriptors_on_purpose.load(std::memory_order_acquire);
}

}  // namespace

// The runtime's signatures (ubsan_handlers_cxx.h): DynamicTypeCacheMissData*, ValueHandle x2.
extern "C" void __ubsan_handle_dynamic_type_cache_miss(void* data, std::uintptr_t pointer,
                                                       std::uintptr_t hash) {
  static const miss_handler real = runtime_handler("__ubsan_handle_dynamic_type_cache_miss");
  if (!skip()) real(data, pointer, hash);
}

extern "C" void __ubsan_handle_dynamic_type_cache_miss_abort(void* data, std::uintptr_t pointer,
                                                             std::uintptr_t hash) {
  static const miss_handler real = runtime_handler("__ubsan_handle_dynamic_type_cache_miss_abort");
  if (!skip()) real(data, pointer, hash);
}
#endif
