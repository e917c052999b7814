#include "pq_api.hpp"

#include "dl_api.hpp"

namespace vitals::history_detail {

const loaded_api<pq_api>& pq_library() {
  // Every entry is looked up (the first missing one is named in `why`).
  static const loaded_api<pq_api> l =
      load_api<pq_api>("libpq.so.5", "libpq5", [](pq_api& a, const auto& find) {
        int missing = 0;
        missing += find("PQconnectdb", a.connectdb);
        missing += find("PQstatus", a.status);
        missing += find("PQerrorMessage", a.error_message);
        missing += find("PQfinish", a.finish);
        missing += find("PQexec", a.exec);
        missing += find("PQexecParams", a.exec_params);
        missing += find("PQresultStatus", a.result_status);
        missing += find("PQresultErrorField", a.result_error_field);
        missing += find("PQresultErrorMessage", a.result_error_message);
        missing += find("PQclear", a.clear);
        missing += find("PQntuples", a.ntuples);
        missing += find("PQgetvalue", a.getvalue);
        missing += find("PQgetlength", a.getlength);
        missing += find("PQgetisnull", a.getisnull);
        missing += find("PQcmdTuples", a.cmd_tuples);
        return missing;
      });
  return l;
}

}  // namespace vitals::history_detail
