#include "pq_api.hpp"

#include "dl_api.hpp"

namespace vitals::history_detail {
namespace {

struct loaded {
  pq_api api{};
  std::string why;
  bool ok = false;
};

template <class F>
bool find(void* lib, const char* name, F& out, std::string& why) {
  return find_symbol(lib, "libpq.so.5", name, out, why);
}

loaded load() {
  loaded l;
  void* lib = open_library("libpq.so.5", "libpq5", l.why);
  if (lib == nullptr) return l;
  pq_api& a = l.api;
  std::string& w = l.why;
  int missing = 0;
  missing += find(lib, "PQconnectdb", a.connectdb, w) ? 0 : 1;
  missing += find(lib, "PQstatus", a.status, w) ? 0 : 1;
  missing += find(lib, "PQerrorMessage", a.error_message, w) ? 0 : 1;
  missing += find(lib, "PQfinish", a.finish, w) ? 0 : 1;
  missing += find(lib, "PQexec", a.exec, w) ? 0 : 1;
  missing += find(lib, "PQexecParams", a.exec_params, w) ? 0 : 1;
  missing += find(lib, "PQresultStatus", a.result_status, w) ? 0 : 1;
  missing += find(lib, "PQresultErrorField", a.result_error_field, w) ? 0 : 1;
  missing += find(lib, "PQresultErrorMessage", a.result_error_message, w) ? 0 : 1;
  missing += find(lib, "PQclear", a.clear, w) ? 0 : 1;
  missing += find(lib, "PQntuples", a.ntuples, w) ? 0 : 1;
  missing += find(lib, "PQgetvalue", a.getvalue, w) ? 0 : 1;
  missing += find(lib, "PQgetlength", a.getlength, w) ? 0 : 1;
  missing += find(lib, "PQgetisnull", a.getisnull, w) ? 0 : 1;
  missing += find(lib, "PQcmdTuples", a.cmd_tuples, w) ? 0 : 1;
  l.ok = missing == 0;
  return l;
}

}  // namespace

const pq_api* load_pq(std::string& why) {
  static const loaded l = load();
  if (!l.ok) {
    why = l.why;
    return nullptr;
  }
  return &l.api;
}

}  // namespace vitals::history_detail
