#pragma once
// Private: the libpq entry points the PostgreSQL history uses, looked up with dlsym() after a
// dlopen() of libpq.so.5 the first time such a history is opened: a vitalsd without
// `storage: {postgres: ...}` maps no libpq (docs/memory.md), as for SQLite (sqlite_api.hpp).

#include <libpq-fe.h>

#include <string>

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

/// The entry points, loaded on first use (thread-safe); null with `why` set if libpq.so.5
/// cannot be loaded or lacks one of them.
[[nodiscard]] const pq_api* load_pq(std::string& why);

}  // namespace vitals::history_detail
