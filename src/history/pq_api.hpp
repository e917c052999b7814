#pragma once
// Private: the libpq entry points the PostgreSQL history uses, looked up with dlsym() after a
// dlopen() of libpq.so.5 the first time such a history is opened: a vitalsd without
// `storage: {postgres: ...}` maps no libpq (docs/memory.md), as for SQLite (sqlite_api.hpp).

#include <libpq-fe.h>

#include <string>

#include "dl_api.hpp"

namespace vitals::history_detail {

struct pq_api {
  decltype(&::PQconnectdb) connectdb;
  decltype(&::PQstatus) status;
  decltype(&::PQerrorMessage) error_message;
  decltype(&::PQfinish) finish;
  decltype(&::PQexec) exec;
  decltype(&::PQexecParams) exec_params;
  decltype(&::PQresultStatus) result_status;
  decltype(&::PQresultErrorField) result_error_field;
  decltype(&::PQresultErrorMessage) result_error_message;
  decltype(&::PQclear) clear;
  decltype(&::PQntuples) ntuples;
  decltype(&::PQgetvalue) getvalue;
  decltype(&::PQgetlength) getlength;
  decltype(&::PQgetisnull) getisnull;
  decltype(&::PQcmdTuples) cmd_tuples;
};

/// The library, loaded on the first call (thread-safe; `ok` false and `why` set if it cannot be).
[[nodiscard]] const loaded_api<pq_api>& pq_library();

}  // namespace vitals::history_detail
