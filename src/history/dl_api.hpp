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

/// A library's table of entry points, or why it could not be loaded.
template <class Api>
struct loaded_api {
  Api api{};
  std::string why;
  bool ok = false;
};

/// dlopen()s `library` and fills its table: `fill(api, find)` calls `find(name, member)` for each
/// entry point and returns how many were missing (the first one is named in `why`).
template <class Api, class Fill>
loaded_api<Api> load_api(const char* library, const char* package, Fill&& fill) {
  loaded_api<Api> l;
  void* lib = open_library(library, package, l.why);
  if (lib == nullptr) return l;
  const auto find = [&](const char* name, auto& out) {
    return find_symbol(lib, library, name, out, l.why) ? 0 : 1;
  };
  l.ok = fill(l.api, find) == 0;
  return l;
}

}  // namespace vitals::history_detail
