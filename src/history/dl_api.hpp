#pragma once
// Private: looking up a library's entry points after dlopen() (sqlite_api.cpp, pq_api.cpp).

#include <dlfcn.h>

#include <string>

namespace vitals::history_detail {

/// Sets `out` to the entry point `name` of `lib`; on the first one missing, `why` names it.
template <class F>
bool find_symbol(void* lib, const char* library, const char* name, F& out, std::string& why) {
  out = reinterpret_cast<F>(::dlsym(lib, name));
  if (out == nullptr && why.empty()) why = std::string{library} + " has no " + name;
  return out != nullptr;
}

/// dlopen()s `library` for good (RTLD_NODELETE), or null with `why` naming the Debian package.
inline void* open_library(const char* library, const char* package, std::string& why) {
  void* lib = ::dlopen(library, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (lib == nullptr) {
    const char* e = ::dlerror();
    why = std::string{"cannot load "} + library + " (Debian: " + package +
          "): " + (e != nullptr ? e : "unknown error");
  }
  return lib;
}

}  // namespace vitals::history_detail
