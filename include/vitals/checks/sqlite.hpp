#pragma once

#include <memory>
#include <string>

#include "vitals/check.hpp"

namespace vitals::checks {

/// An SQLite database file opens and reads (its schema is loaded), optionally passes
/// `PRAGMA quick_check`, and, unless `read_only`, can take a write lock (BEGIN IMMEDIATE,
/// rolled back: nothing is written). The file is never created. Each run opens the file
/// afresh (cheap, and it notices a replaced or deleted file); the run is bounded by the
/// deadline (busy timeout and a progress handler).
///
/// It is the application's datastore, so it is a dependency (componentType "datastore"): a
/// broken database file is not cured by restarting the process, so it stays out of `live`.
///
///     reg.add("db", vitals::checks::sqlite({.path = "/var/lib/app/app.db",
///                                           .quick_check = true}),
///             {.interval = 1min, .timeout = 5s});
struct sqlite_options {
  /// Path of the database file, or an SQLite URI ("file:/var/lib/app.db?mode=ro").
  std::string path{};
  /// Open read-only. When false, the check also proves a write lock can be taken.
  bool read_only = true;
  /// Run `PRAGMA quick_check` (O(N) in the database size: give it a suitable timeout).
  bool quick_check = false;
};

/// Builds an SQLite check (observed value: run time in ms). Throws std::invalid_argument for
/// an empty path.
[[nodiscard]] std::shared_ptr<vitals::check> sqlite(sqlite_options options);

}  // namespace vitals::checks
