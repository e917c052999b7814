#include "lazy/loader.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <system_error>

#include "lazy/abi.hpp"

#ifndef VITALS_LAZY_RELDIR
#error "VITALS_LAZY_RELDIR must be defined (src/lazy/CMakeLists.txt)"
#endif

namespace vitals::lazy {

namespace {

std::string exe_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string{} : exe.parent_path().string();
}

}  // namespace

std::vector<std::string> module_dirs() {
  std::vector<std::string> dirs;
  // secure_getenv: a set-id caller must not be made to load code from a directory of the
  // caller's choosing.
  if (const char* env = ::secure_getenv("VITALS_MODULE_DIR"); env != nullptr && *env != '\0') {
    dirs.emplace_back(env);
  }
  if (auto dir = exe_dir(); !dir.empty()) {
    dirs.push_back(dir);
    dirs.push_back((std::filesystem::path{dir} / VITALS_LAZY_RELDIR).lexically_normal().string());
  }
  return dirs;
}

namespace {

[[noreturn]] void fail(std::initializer_list<std::string_view> parts) {
  std::string message;
  for (const std::string_view part : parts) message += part;
  throw std::runtime_error(message);
}

}  // namespace

void* load_entry(std::string_view file_name, std::string_view entry_name,
                 std::string_view what_name) {
  const std::string file{file_name};
  const std::string what{what_name};
  const auto dirs = module_dirs();
  std::string searched;
  for (const auto& dir : dirs) {
    const std::string path = dir + "/" + file;
    if (::access(path.c_str(), R_OK) != 0) {
      if (!searched.empty()) searched += ", ";
      searched += dir;
      continue;
    }
    // A module that exists but does not load is an error, not a reason to try the next
    // directory: silently picking another copy would hide a broken install. RTLD_NOW reports
    // a missing symbol here rather than in the middle of a check run; RTLD_LOCAL keeps one
    // module's libraries from resolving another's.
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* err = ::dlerror();
      fail({what, ": cannot load ", path, ": ", err != nullptr ? err : "unknown error"});
    }
    const auto* abi = static_cast<const char*>(::dlsym(handle, "vitals_lazy_abi"));
    if (abi == nullptr || std::string_view{abi} != VITALS_LAZY_ABI) {
      fail({what, ": ", path, " was built for ", abi != nullptr ? abi : "another program",
            ", this program is ", VITALS_LAZY_ABI});
    }
    const std::string entry{entry_name};
    void* address = ::dlsym(handle, entry.c_str());
    if (address == nullptr) {
      fail({what, ": ", path, " has no ", entry});
    }
    return address;
  }
  fail({what, " needs ", file, ", not found in ", searched.empty() ? "(no directory)" : searched,
        " (set VITALS_MODULE_DIR to its directory)"});
}

void* load_factory(std::string_view type) {
  auto* get = reinterpret_cast<void* (*)()>(load_entry("vitals_check_" + std::string{type} + ".so",
                                                       "vitals_lazy_factory_" + std::string{type},
                                                       "check type '" + std::string{type} + "'"));
  return get();
}

}  // namespace vitals::lazy
