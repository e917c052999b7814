#pragma once
// Private: the SQLite entry points the history uses, looked up with dlsym() after a dlopen()
// of libsqlite3.so.0 the first time a history is opened. A vitalsd without `storage:` maps no
// libsqlite3 (docs/memory.md; vitalsd_lazy.host_checks_map_no_dependency_library), as the
// built-in server does for libssl. SQLite's header gives the types, constants and signatures.

#include <sqlite3.h>

#include <string>

#include "dl_api.hpp"

namespace vitals::history_detail {

struct sqlite_api {
  decltype(&::sqlite3_open_v2) open_v2;
  decltype(&::sqlite3_close_v2) close_v2;
  decltype(&::sqlite3_errmsg) errmsg;
  decltype(&::sqlite3_errstr) errstr;
  decltype(&::sqlite3_exec) exec;
  decltype(&::sqlite3_free) free;
  decltype(&::sqlite3_prepare_v3) prepare_v3;
  decltype(&::sqlite3_finalize) finalize;
  decltype(&::sqlite3_bind_int64) bind_int64;
  decltype(&::sqlite3_bind_text) bind_text;
  decltype(&::sqlite3_bind_blob) bind_blob;
  decltype(&::sqlite3_step) step;
  decltype(&::sqlite3_reset) reset;
  decltype(&::sqlite3_clear_bindings) clear_bindings;
  decltype(&::sqlite3_column_int64) column_int64;
  decltype(&::sqlite3_column_type) column_type;
  decltype(&::sqlite3_column_blob) column_blob;
  decltype(&::sqlite3_column_bytes) column_bytes;
  decltype(&::sqlite3_extended_result_codes) extended_result_codes;
  decltype(&::sqlite3_busy_timeout) busy_timeout;
  decltype(&::sqlite3_last_insert_rowid) last_insert_rowid;
  decltype(&::sqlite3_changes) changes;
};

/// The library, loaded on the first call (thread-safe; `ok` false and `why` set if it cannot be).
[[nodiscard]] const loaded_api<sqlite_api>& sqlite_library();

}  // namespace vitals::history_detail
