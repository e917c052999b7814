#include "sqlite_api.hpp"

#include "dl_api.hpp"

namespace vitals::history_detail {

const loaded_api<sqlite_api>& sqlite_library() {
  // Every entry is looked up (the first missing one is named in `why`).
  static const loaded_api<sqlite_api> l =
      load_api<sqlite_api>("libsqlite3.so.0", "libsqlite3-0", [](sqlite_api& a, const auto& find) {
        int missing = 0;
        missing += find("sqlite3_open_v2", a.open_v2);
        missing += find("sqlite3_close_v2", a.close_v2);
        missing += find("sqlite3_errmsg", a.errmsg);
        missing += find("sqlite3_errstr", a.errstr);
        missing += find("sqlite3_exec", a.exec);
        missing += find("sqlite3_free", a.free);
        missing += find("sqlite3_prepare_v3", a.prepare_v3);
        missing += find("sqlite3_finalize", a.finalize);
        missing += find("sqlite3_bind_int64", a.bind_int64);
        missing += find("sqlite3_bind_text", a.bind_text);
        missing += find("sqlite3_bind_blob", a.bind_blob);
        missing += find("sqlite3_step", a.step);
        missing += find("sqlite3_reset", a.reset);
        missing += find("sqlite3_clear_bindings", a.clear_bindings);
        missing += find("sqlite3_column_int64", a.column_int64);
        missing += find("sqlite3_column_type", a.column_type);
        missing += find("sqlite3_column_blob", a.column_blob);
        missing += find("sqlite3_column_bytes", a.column_bytes);
        missing += find("sqlite3_extended_result_codes", a.extended_result_codes);
        missing += find("sqlite3_busy_timeout", a.busy_timeout);
        missing += find("sqlite3_last_insert_rowid", a.last_insert_rowid);
        missing += find("sqlite3_changes", a.changes);
        return missing;
      });
  return l;
}

}  // namespace vitals::history_detail
