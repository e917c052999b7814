#include "vitals/checks/sqlite.hpp"
#include "vitals/checks/descriptors.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace vitals::checks {
namespace {

using std::chrono::steady_clock;

struct db_closer {
  void operator()(sqlite3* db) const noexcept { ::sqlite3_close_v2(db); }
};
struct stmt_finalizer {
  void operator()(sqlite3_stmt* s) const noexcept { ::sqlite3_finalize(s); }
};
using db_ptr = std::unique_ptr<sqlite3, db_closer>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

struct run_bounds {
  steady_clock::time_point deadline;
  const vitals::context* ctx;
};

/// Called every few thousand VM steps: a non-zero answer interrupts the statement, so a long
/// quick_check on a huge file still returns by the deadline.
int on_progress(void* arg) {
  const auto* b = static_cast<const run_bounds*>(arg);
  return steady_clock::now() >= b->deadline || b->ctx->cancelled() ? 1 : 0;
}

vitals::failure_kind kind_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_INTERRUPT:
      return vitals::failure_kind::timeout;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_FORMAT:
      return vitals::failure_kind::protocol;
    case SQLITE_AUTH:
      return vitals::failure_kind::auth;
    case SQLITE_READONLY:
      return vitals::failure_kind::assertion;
    default:
      return vitals::failure_kind::internal;
  }
}

class sqlite_check final : public vitals::check, public checks::descriptor_user {
 public:
  // The database, its journal or WAL, and the WAL index.
  [[nodiscard]] std::size_t descriptors() const noexcept override { return 3; }

  explicit sqlite_check(sqlite_options options) : options_(std::move(options)) {}

  vitals::result run(const vitals::context& ctx) override {
    const auto start = steady_clock::now();
    run_bounds bounds{.deadline = ctx.deadline(), .ctx = &ctx};
    if (start >= bounds.deadline) {
      return vitals::fail("deadline passed before opening " + options_.path,
                          vitals::failure_kind::timeout);
    }

    // Never SQLITE_OPEN_CREATE: a missing database must fail, not appear empty.
    int flags = options_.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    flags |= SQLITE_OPEN_NOMUTEX;  // the connection lives within one run on one thread
    if (options_.path.starts_with("file:")) {
      flags |= SQLITE_OPEN_URI;
    }
    sqlite3* raw = nullptr;
    const int open_rc = ::sqlite3_open_v2(options_.path.c_str(), &raw, flags, nullptr);
    db_ptr db{raw};
    if (open_rc != SQLITE_OK) {
      return failure(db.get(), open_rc, "cannot open");
    }
    ::sqlite3_extended_result_codes(db.get(), 1);
    const auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(bounds.deadline - start);
    ::sqlite3_busy_timeout(db.get(), static_cast<int>(std::clamp<std::int64_t>(
                                         remaining.count(), 1, 24LL * 3600 * 1000)));
    ::sqlite3_progress_handler(db.get(), 1000, on_progress, &bounds);

    // Opening is lazy: reading the schema is what proves the file is a database.
    if (int rc = ::sqlite3_exec(db.get(), "SELECT count(*) FROM sqlite_schema", nullptr, nullptr,
                                nullptr);
        rc != SQLITE_OK) {
      return failure(db.get(), rc, "cannot read");
    }
    if (!options_.read_only) {
      if (::sqlite3_db_readonly(db.get(), "main") == 1) {
        return vitals::fail(options_.path + ": opened read-only (file or directory not writable)");
      }
      // Takes the RESERVED lock without writing anything.
      if (int rc = ::sqlite3_exec(db.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
          rc != SQLITE_OK) {
        return failure(db.get(), rc, "cannot lock for writing");
      }
      ::sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    if (options_.quick_check) {
      if (auto r = quick_check(db.get()); r.status != vitals::status::pass) {
        return r;
      }
    }
    const double ms =
        std::chrono::duration<double, std::milli>(steady_clock::now() - start).count();
    return vitals::pass().observe(ms, "ms").detail("sqlite_version", ::sqlite3_libversion());
  }

  [[nodiscard]] vitals::check_traits traits() const override {
    return {.type = "sqlite",
            .component_type = "datastore",
            .measurement = "responseTime",
            .dependency = true,
            .secrets = {}};
  }

 private:
  vitals::result quick_check(sqlite3* db) const {
    sqlite3_stmt* raw = nullptr;
    // At most 5 problems: enough to diagnose, short enough for a probe body.
    int rc = ::sqlite3_prepare_v2(db, "PRAGMA quick_check(5)", -1, &raw, nullptr);
    stmt_ptr stmt{raw};
    if (rc != SQLITE_OK) {
      return failure(db, rc, "quick_check");
    }
    std::string problems;
    while ((rc = ::sqlite3_step(stmt.get())) == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(::sqlite3_column_text(stmt.get(), 0));
      const std::string line = text != nullptr ? text : "";
      if (line == "ok") {
        continue;
      }
      problems += (problems.empty() ? "" : "; ") + line;
    }
    if (rc != SQLITE_DONE) {
      return failure(db, rc, "quick_check");
    }
    if (!problems.empty()) {
      return vitals::fail(options_.path + ": quick_check: " + problems);
    }
    return vitals::pass();
  }

  vitals::result failure(sqlite3* db, int rc, const char* what) const {
    std::string message = db != nullptr ? ::sqlite3_errmsg(db) : ::sqlite3_errstr(rc);
    const auto kind = kind_of(rc);
    if (kind == vitals::failure_kind::timeout) {
      message += " (deadline reached)";
    }
    return vitals::fail(options_.path + ": " + what + ": " + message, kind)
        .detail("sqlite_code", std::to_string(rc));
  }

  sqlite_options options_;
};

}  // namespace

std::shared_ptr<vitals::check> sqlite(sqlite_options options) {
  if (options.path.empty()) {
    throw std::invalid_argument("sqlite: path must not be empty");
  }
  return std::make_shared<sqlite_check>(std::move(options));
}

}  // namespace vitals::checks
