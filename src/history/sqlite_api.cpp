#include "sqlite_api.hpp"

#include "dl_api.hpp"

namespace vitals::history_detail {
namespace {

struct loaded {
  sqlite_api api{};
  std::string why;
  bool ok = false;
};

template <class F>
bool find(void* lib, const char* name, F& out, std::string& why) {
  return find_symbol(lib, "libsqlite3.so.0", name, out, why);
}

loaded load() {
  loaded l;
  void* lib = open_library("libsqlite3.so.0", "libsqlite3-0", l.why);
  if (lib == nullptr) return l;
  sqlite_api& a = l.api;
  std::string& w = l.why;
  // Every entry is looked up (the first missing one is named in `why`).
  int missing = 0;
  missing += find(lib, "sqlite3_open_v2", a.open_v2, w) ? 0 : 1;
  missing += find(lib, "sqlite3_close_v2", a.close_v2, w) ? 0 : 1;
  missing += find(lib, "sqlite3_errmsg", a.errmsg, w) ? 0 : 1;
  missing += find(lib, "sqlite3_errstr", a.errstr, w) ? 0 : 1;
  missing += find(lib, "sqlite3_exec", a.exec, w) ? 0 : 1;
  missing += find(lib, "sqlite3_free", a.free, w) ? 0 : 1;
  missing += find(lib, "sqlite3_prepare_v3", a.prepare_v3, w) ? 0 : 1;
  missing += find(lib, "sqlite3_finalize", a.finalize, w) ? 0 : 1;
  missing += find(lib, "sqlite3_bind_int64", a.bind_int64, w) ? 0 : 1;
  missing += find(lib, "sqlite3_bind_text", a.bind_text, w) ? 0 : 1;
  missing += find(lib, "sqlite3_bind_blob", a.bind_blob, w) ? 0 : 1;
  missing += find(lib, "sqlite3_step", a.step, w) ? 0 : 1;
  missing += find(lib, "sqlite3_reset", a.reset, w) ? 0 : 1;
  missing += find(lib, "sqlite3_clear_bindings", a.clear_bindings, w) ? 0 : 1;
  missing += find(lib, "sqlite3_column_int64", a.column_int64, w) ? 0 : 1;
  missing += find(lib, "sqlite3_column_type", a.column_type, w) ? 0 : 1;
  missing += find(lib, "sqlite3_column_blob", a.column_blob, w) ? 0 : 1;
  missing += find(lib, "sqlite3_column_bytes", a.column_bytes, w) ? 0 : 1;
  missing += find(lib, "sqlite3_extended_result_codes", a.extended_result_codes, w) ? 0 : 1;
  missing += find(lib, "sqlite3_busy_timeout", a.busy_timeout, w) ? 0 : 1;
  missing += find(lib, "sqlite3_last_insert_rowid", a.last_insert_rowid, w) ? 0 : 1;
  missing += find(lib, "sqlite3_changes", a.changes, w) ? 0 : 1;
  l.ok = missing == 0;
  return l;
}

}  // namespace

const sqlite_api* load_sqlite(std::string& why) {
  static const loaded l = load();
  if (!l.ok) {
    why = l.why;
    return nullptr;
  }
  return &l.api;
}

}  // namespace vitals::history_detail
