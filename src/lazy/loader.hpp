#pragma once
// Run-time loading of the check types built as modules (vitals_check_<type>.so). Private to
// the executables that link the lazy shims (vitalsd); embedders link vitals::checks directly.

#include <string>
#include <string_view>
#include <vector>

namespace vitals::lazy {

/// Where load_factory() looks for vitals_check_<type>.so, in order: $VITALS_MODULE_DIR (if
/// set), the executable's own directory, then the module directory of the install tree
/// relative to the executable.
///
///     for (const auto& dir : vitals::lazy::module_dirs()) std::puts(dir.c_str());
[[nodiscard]] std::vector<std::string> module_dirs();

/// dlopen()s vitals_check_<type>.so (once per process; never unloaded, checks it made may
/// live until exit) and returns the address of its factory. Throws std::runtime_error naming
/// the module, every directory searched and dlerror()'s text when it cannot be loaded or was
/// built for another version.
///
///     auto make = reinterpret_cast<factory>(vitals::lazy::load_factory("postgres"));
[[nodiscard]] void* load_factory(std::string_view type);

/// The general form: dlopen()s the module `file` (e.g. "vitals_grpc_server.so") from
/// module_dirs(), checks its ABI string and returns the address of its symbol `entry`. `what`
/// names it in errors (e.g. "check type 'postgres'", "the gRPC server").
///
///     auto start = reinterpret_cast<start_fn>(
///         vitals::lazy::load_entry("vitals_grpc_server.so", "vitals_lazy_grpc_server",
///                                  "the gRPC server"));
[[nodiscard]] void* load_entry(std::string_view file, std::string_view entry,
                               std::string_view what);

}  // namespace vitals::lazy
