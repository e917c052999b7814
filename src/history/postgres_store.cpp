// The PostgreSQL store of the history (store.hpp, docs/history.md): the tables in their own
// schema, migrated under an advisory lock (shards start together), the writer's rows gathered
// during a flush and sent at commit as one transaction of multi-row statements (a few round
// trips per flush, not one per row), an optional writer lock so that replicas of a shard stand
// by. libpq is dlopen()ed when the first such history opens.
#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pq_api.hpp"
#include "store.hpp"
#include "vitals/redact.hpp"

namespace vitals::history_detail {
namespace {

// The loaded library: need_pq() has succeeded before any connection exists.
const pq_api& pq() noexcept { return pq_library().api; }

// Loads libpq (once); a failure is a storage fault.
void need_pq() {
  if (const auto& l = pq_library(); !l.ok) throw store_error{l.why};
}

constexpr std::int64_t open_end = std::numeric_limits<std::int64_t>::max();
constexpr std::size_t rows_per_statement = 500;

struct conn_closer {
  void operator()(PGconn* c) const noexcept { pq().finish(c); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_closer>;

struct result_closer {
  void operator()(PGresult* r) const noexcept { pq().clear(r); }
};
using result_ptr = std::unique_ptr<PGresult, result_closer>;

// One statement's parameters: text values, except bytea sent as binary.
class params {
 public:
  params& add(std::int64_t v) {
    values_.push_back(std::to_string(v));
    binary_.push_back(0);
    return *this;
  }
  params& add(std::string_view text) {
    values_.emplace_back(text);
    binary_.push_back(0);
    return *this;
  }
  params& bytes(std::string_view b) {
    values_.emplace_back(b);
    binary_.push_back(1);
    return *this;
  }
  [[nodiscard]] std::size_t size() const noexcept { return values_.size(); }
  [[nodiscard]] bool empty() const noexcept { return values_.empty(); }
  void clear() {
    values_.clear();
    binary_.clear();
  }
  // Pointers into values_: valid until the next add.
  void view(std::vector<const char*>& v, std::vector<int>& len) const {
    v.clear();
    len.clear();
    for (const auto& s : values_) {
      v.push_back(s.data());
      len.push_back(static_cast<int>(s.size()));
    }
  }
  [[nodiscard]] const int* formats() const noexcept { return binary_.data(); }

 private:
  std::vector<std::string> values_;
  std::vector<int> binary_;
};

// A connection, with the error handling every call shares.
class connection {
 public:
  explicit connection(const std::string& url, const std::string& schema) : schema_(schema) {
    need_pq();
    c_.reset(pq().connectdb(url.c_str()));
    if (!c_ || pq().status(c_.get()) != CONNECTION_OK) {
      throw store_error{scrub_patterns(std::string{"connect: "} +
                                       (c_ ? pq().error_message(c_.get()) : "out of memory"))};
    }
    exec("SET client_min_messages = warning");
  }

  // Runs a statement; binary results when `binary` (integers are then read as int8/int4).
  result_ptr run(const std::string& sql, const params& p = params{}, bool binary = true) {
    std::vector<const char*> v;
    std::vector<int> len;
    p.view(v, len);
    result_ptr r{pq().exec_params(c_.get(), sql.c_str(), static_cast<int>(p.size()), nullptr,
                                  v.data(), len.data(), p.formats(), binary ? 1 : 0)};
    check(r.get(), sql);
    return r;
  }

  void exec(const std::string& sql) {
    result_ptr r{pq().exec(c_.get(), sql.c_str())};
    check(r.get(), sql);
  }

  [[nodiscard]] PGconn* raw() const noexcept { return c_.get(); }
  [[nodiscard]] const std::string& schema() const noexcept { return schema_; }

 private:
  void check(PGresult* r, const std::string& sql) {
    const ExecStatusType st = r == nullptr ? PGRES_FATAL_ERROR : pq().result_status(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return;
    std::string what = r != nullptr ? pq().result_error_message(r) : pq().error_message(c_.get());
    while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
    const std::string first_word = sql.substr(0, sql.find(' '));
    throw store_error{scrub_patterns(first_word + ": " + what)};
  }

  std::string schema_;
  conn_ptr c_;
};

std::int64_t integer(const PGresult* r, int row, int col) {
  if (pq().getisnull(r, row, col) != 0) return 0;
  const char* p = pq().getvalue(r, row, col);
  const int n = pq().getlength(r, row, col);
  std::int64_t v = 0;
  if (n == 8) {
    std::uint64_t u = 0;
    for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<unsigned char>(p[i]);
    std::memcpy(&v, &u, sizeof v);
  } else if (n == 4) {
    std::uint32_t u = 0;
    for (int i = 0; i < 4; ++i) u = (u << 8) | static_cast<unsigned char>(p[i]);
    v = static_cast<std::int32_t>(u);
  } else if (n == 2) {
    const auto u = static_cast<std::uint16_t>((static_cast<unsigned char>(p[0]) << 8) |
                                              static_cast<unsigned char>(p[1]));
    v = static_cast<std::int16_t>(u);
  }
  return v;
}

std::string_view bytes(const PGresult* r, int row, int col) {
  return {pq().getvalue(r, row, col), static_cast<std::size_t>(pq().getlength(r, row, col))};
}

// Array literals for `= ANY($1::text[])` and `bigint[]` parameters.
std::string text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (const auto& v : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (const char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + '}';
}

std::string int_array(const std::vector<std::int64_t>& values) {
  std::string out = "{";
  for (const auto v : values) {
    if (out.size() > 1) out += ',';
    out += std::to_string(v);
  }
  return out + '}';
}

std::uint64_t u64(std::int64_t v) { return v < 0 ? 0 : static_cast<std::uint64_t>(v); }
std::int64_t i64(std::uint64_t v) { return static_cast<std::int64_t>(v); }

// Versioned migrations: migrations[i] brings the schema from version i to i + 1. Rollup rows
// are keyed by period first (retention deletes a key range, the uptime of every target reads
// one run of rows per period); a target's own rows are found through the *_by_target indexes.
constexpr std::array<const char*, 1> migrations{
    R"sql(
CREATE TABLE targets(id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE minutes(hour BIGINT NOT NULL, target BIGINT NOT NULL, count BIGINT NOT NULL,
  failures BIGINT NOT NULL, data BYTEA NOT NULL, PRIMARY KEY(hour, target));
CREATE INDEX minutes_by_target ON minutes(target, hour);
CREATE TABLE hours(day BIGINT NOT NULL, target BIGINT NOT NULL, count BIGINT NOT NULL,
  failures BIGINT NOT NULL, data BYTEA NOT NULL, PRIMARY KEY(day, target));
CREATE INDEX hours_by_target ON hours(target, day);
CREATE TABLE days(day BIGINT NOT NULL, target BIGINT NOT NULL, count BIGINT NOT NULL,
  failures BIGINT NOT NULL, cum_count BIGINT NOT NULL, cum_failures BIGINT NOT NULL,
  data BYTEA NOT NULL, PRIMARY KEY(day, target));
CREATE INDEX days_by_target ON days(target, day);
CREATE TABLE results(id BIGSERIAL PRIMARY KEY, target BIGINT NOT NULL, t BIGINT NOT NULL,
  status SMALLINT NOT NULL, kind SMALLINT NOT NULL, duration_us BIGINT NOT NULL,
  output TEXT NOT NULL);
CREATE INDEX results_by_target ON results(target, id);
CREATE TABLE transitions(id BIGSERIAL PRIMARY KEY, target BIGINT NOT NULL, t BIGINT NOT NULL,
  from_status SMALLINT NOT NULL, to_status SMALLINT NOT NULL, output TEXT NOT NULL);
CREATE INDEX transitions_by_target ON transitions(target, t);
CREATE INDEX transitions_by_time ON transitions(t);
CREATE TABLE incidents(id BIGSERIAL PRIMARY KEY, target BIGINT NOT NULL, start_ms BIGINT NOT NULL,
  end_ms BIGINT NOT NULL, cause TEXT NOT NULL);
CREATE INDEX incidents_by_end ON incidents(end_ms);
CREATE INDEX incidents_by_target ON incidents(target, end_ms);
)sql"};
static_assert(migrations.size() == postgres_history::schema_version);

// A quoted identifier.
std::string ident(const std::string& name) {
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

void use_schema(connection& c, bool create) {
  if (create) c.exec("CREATE SCHEMA IF NOT EXISTS " + ident(c.schema()));
  c.exec("SET search_path TO " + ident(c.schema()));
}

void migrate(connection& c) {
  c.exec("BEGIN");
  try {
    // Shards opening the same database together migrate one after the other.
    c.run("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
          params{}.add("vitals history schema " + c.schema()));
    use_schema(c, true);
    c.exec("CREATE TABLE IF NOT EXISTS meta(version INTEGER NOT NULL)");
    result_ptr r = c.run("SELECT version FROM meta");
    int v = 0;
    if (pq().ntuples(r.get()) == 0) {
      c.exec("INSERT INTO meta(version) VALUES(0)");
    } else {
      v = static_cast<int>(integer(r.get(), 0, 0));
    }
    if (v > postgres_history::schema_version) {
      throw store_error{"the history schema " + c.schema() + " has version " + std::to_string(v) +
                        ", newer than this vitals (" +
                        std::to_string(postgres_history::schema_version) + ")"};
    }
    for (; v < postgres_history::schema_version; ++v) {
      c.exec(migrations[static_cast<std::size_t>(v)]);
    }
    c.run("UPDATE meta SET version = $1", params{}.add(v));
    c.exec("COMMIT");
  } catch (...) {
    result_ptr r{pq().exec(c.raw(), "ROLLBACK")};
    throw;
  }
}

// The table of a rollup level and its period column.
std::pair<const char*, const char*> table_of(rollup level) {
  switch (level) {
    case rollup::minutes:
      return {"minutes", "hour"};
    case rollup::hours:
      return {"hours", "day"};
    case rollup::days:
      break;
  }
  return {"days", "day"};
}

class postgres_writer final : public writer_store {
 public:
  postgres_writer(const history_options& o) : c_(o.url, o.schema) {
    if (!o.writer_lock.empty()) {
      result_ptr r = c_.run("SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                            params{}.add("vitals history writer " + o.writer_lock), false);
      if (std::string_view{pq().getvalue(r.get(), 0, 0)} != "t") {
        throw store_error{
            "another instance writes the history (writer lock \"" + o.writer_lock + "\")", false,
            true};
      }
    }
    migrate(c_);
    use_schema(c_, false);
  }

  void begin() override { clear(); }

  // A few statements for all the new targets of a flush, instead of four or five round trips
  // each (10,000 targets starting together: ≈ 10 s of the writer's time otherwise).
  void preload(const std::vector<first_seen>& fresh) override {
    std::vector<std::string> names;
    names.reserve(fresh.size());
    for (const auto& f : fresh) names.push_back(f.name);
    const std::string name_list = text_array(names);
    c_.run("INSERT INTO targets(name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING",
           params{}.add(name_list));
    result_ptr r = c_.run("SELECT id, name FROM targets WHERE name = ANY($1::text[])",
                          params{}.add(name_list));
    std::unordered_map<std::string, std::int64_t> id_of;
    for (int i = 0, n = pq().ntuples(r.get()); i < n; ++i) {
      id_of.emplace(std::string{bytes(r.get(), i, 1)}, integer(r.get(), i, 0));
    }
    std::vector<std::int64_t> ids;
    // The periods asked for, with the targets first seen in each.
    std::map<std::int64_t, std::vector<std::int64_t>> by_hour, by_day;
    for (const auto& f : fresh) {
      const auto it = id_of.find(f.name);
      if (it == id_of.end()) continue;
      ids.push_back(it->second);
      known_[f.name] = {it->second, 0};
      by_hour[f.hour].push_back(it->second);
      by_day[f.day].push_back(it->second);
    }
    if (ids.empty()) return;
    std::unordered_map<std::int64_t, std::uint64_t> counts;
    result_ptr n = c_.run(
        "SELECT target, count(*) FROM results WHERE target = ANY($1::bigint[]) GROUP BY target",
        params{}.add(int_array(ids)));
    for (int i = 0, rows = pq().ntuples(n.get()); i < rows; ++i) {
      counts[integer(n.get(), i, 0)] = u64(integer(n.get(), i, 1));
    }
    for (auto& [name, known] : known_) known.second = counts[known.first];
    // At most a few periods (a backlog spans more): the others are read one by one.
    constexpr std::size_t max_periods = 4;
    std::size_t periods = 0;
    for (const auto& [hour, targets] : by_hour) {
      if (++periods > max_periods) break;
      const std::string list = int_array(targets);
      result_ptr m =
          c_.run("SELECT target, data FROM minutes WHERE hour = $1 AND target = ANY($2::bigint[])",
                 params{}.add(hour).add(list));
      for (int i = 0, rows = pq().ntuples(m.get()); i < rows; ++i) {
        rows_[{rollup::minutes, integer(m.get(), i, 0), hour}] = std::string{bytes(m.get(), i, 1)};
      }
      for (const auto t : targets) loaded_.insert({rollup::minutes, t, hour});
    }
    periods = 0;
    for (const auto& [day, targets] : by_day) {
      if (++periods > max_periods) break;
      const std::string list = int_array(targets);
      result_ptr h =
          c_.run("SELECT target, data FROM hours WHERE day = $1 AND target = ANY($2::bigint[])",
                 params{}.add(day).add(list));
      for (int i = 0, rows = pq().ntuples(h.get()); i < rows; ++i) {
        rows_[{rollup::hours, integer(h.get(), i, 0), day}] = std::string{bytes(h.get(), i, 1)};
      }
      result_ptr d = c_.run(
          "SELECT target, data, cum_count - count, cum_failures - failures, count, failures FROM "
          "days WHERE day = $1 AND target = ANY($2::bigint[])",
          params{}.add(day).add(list));
      for (int i = 0, rows = pq().ntuples(d.get()); i < rows; ++i) {
        const PGresult* x = d.get();
        days_[{integer(x, i, 0), day}] =
            day_row{.data = std::string{bytes(x, i, 1)},
                    .before = {u64(integer(x, i, 2)), u64(integer(x, i, 3))},
                    .day = {u64(integer(x, i, 4)), u64(integer(x, i, 5))}};
      }
      result_ptr b = c_.run(
          "SELECT DISTINCT ON (target) target, cum_count, cum_failures FROM days WHERE target = "
          "ANY($1::bigint[]) AND day < $2 ORDER BY target, day DESC",
          params{}.add(list).add(day));
      for (int i = 0, rows = pq().ntuples(b.get()); i < rows; ++i) {
        before_[{integer(b.get(), i, 0), day}] = {u64(integer(b.get(), i, 1)),
                                                  u64(integer(b.get(), i, 2))};
      }
      for (const auto t : targets) {
        loaded_.insert({rollup::hours, t, day});
        loaded_.insert({rollup::days, t, day});
      }
    }
  }

  std::uint64_t commit() override {
    c_.exec("BEGIN");
    for (const rollup level : {rollup::minutes, rollup::hours, rollup::days}) {
      send_rollups(level);
    }
    send_results();
    for (auto& [sql, p] : ordered_) c_.run(sql, p);
    for (const auto& [target, keep] : trims_) {
      c_.run(
          "DELETE FROM results WHERE target = $1 AND id <= (SELECT id FROM results WHERE "
          "target = $1 ORDER BY id DESC OFFSET $2 LIMIT 1)",
          params{}.add(target).add(i64(keep)));
    }
    std::uint64_t expired = 0;
    if (expiry_) {
      const expiry& e = *expiry_;
      const auto del = [&](const char* table, const char* column, std::int64_t before) {
        const std::string sql = std::string{"DELETE FROM "} + table +
                                " WHERE ctid IN (SELECT ctid FROM " + table + " WHERE " + column +
                                " < $1 LIMIT " + std::to_string(e.batch) + ")";
        result_ptr r = c_.run(sql, params{}.add(before));
        expired += u64(std::strtoll(pq().cmd_tuples(r.get()), nullptr, 10));
      };
      del("minutes", "hour", e.minutes_before);
      del("hours", "day", e.hours_before);
      del("days", "day", e.days_before);
      del("transitions", "t", e.events_before_ms);
      del("incidents", "end_ms", e.events_before_ms);
    }
    c_.exec("COMMIT");
    clear();
    return expired;
  }

  void rollback() noexcept override {
    clear();
    result_ptr r{pq().exec(c_.raw(), "ROLLBACK")};
  }

  std::pair<std::int64_t, std::uint64_t> target(const std::string& name) override {
    if (const auto it = known_.find(name); it != known_.end()) return it->second;
    result_ptr r = c_.run(
        "WITH added AS (INSERT INTO targets(name) VALUES($1) ON CONFLICT (name) DO NOTHING "
        "RETURNING id) SELECT id FROM added UNION ALL SELECT id FROM targets WHERE name = $1",
        params{}.add(name));
    if (pq().ntuples(r.get()) == 0) throw store_error{"the target " + name + " was not added"};
    const std::int64_t id = integer(r.get(), 0, 0);
    result_ptr n = c_.run("SELECT count(*) FROM results WHERE target = $1", params{}.add(id));
    return {id, u64(integer(n.get(), 0, 0))};
  }

  std::string rollup_data(rollup level, std::int64_t target, std::int64_t period) override {
    if (loaded_.contains({level, target, period})) {
      const auto it = rows_.find({level, target, period});
      return it == rows_.end() ? std::string{} : it->second;
    }
    const auto [table, column] = table_of(level);
    result_ptr r = c_.run(
        std::string{"SELECT data FROM "} + table + " WHERE target = $1 AND " + column + " = $2",
        params{}.add(target).add(period));
    return pq().ntuples(r.get()) == 0 ? std::string{} : std::string{bytes(r.get(), 0, 0)};
  }

  std::optional<day_row> day(std::int64_t target, std::int64_t day) override {
    if (loaded_.contains({rollup::days, target, day})) {
      const auto it = days_.find({target, day});
      if (it == days_.end()) return std::nullopt;
      return it->second;
    }
    result_ptr r = c_.run(
        "SELECT data, cum_count - count, cum_failures - failures, count, failures FROM days "
        "WHERE target = $1 AND day = $2",
        params{}.add(target).add(day));
    if (pq().ntuples(r.get()) == 0) return std::nullopt;
    const PGresult* x = r.get();
    return day_row{.data = std::string{bytes(x, 0, 0)},
                   .before = {u64(integer(x, 0, 1)), u64(integer(x, 0, 2))},
                   .day = {u64(integer(x, 0, 3)), u64(integer(x, 0, 4))}};
  }

  totals totals_before(std::int64_t target, std::int64_t day) override {
    if (loaded_.contains({rollup::days, target, day})) {
      const auto it = before_.find({target, day});
      return it == before_.end() ? totals{} : it->second;
    }
    result_ptr r = c_.run(
        "SELECT cum_count, cum_failures FROM days WHERE target = $1 AND day < $2 ORDER BY day "
        "DESC LIMIT 1",
        params{}.add(target).add(day));
    if (pq().ntuples(r.get()) == 0) return {};
    return {u64(integer(r.get(), 0, 0)), u64(integer(r.get(), 0, 1))};
  }

  void put(rollup level, const rollup_row& row) override {
    // The latest row of a key wins (a flush may write a target's day twice).
    rollups_[static_cast<std::size_t>(level)][{row.period, row.target}] = row;
  }

  void put_result(std::int64_t target, std::int64_t t_ms, status result, failure_kind kind,
                  std::int64_t duration_us, const std::string& output) override {
    results_.add(target)
        .add(t_ms)
        .add(static_cast<std::int64_t>(result))
        .add(static_cast<std::int64_t>(kind))
        .add(duration_us)
        .add(output);
  }

  void put_transition(std::int64_t target, std::int64_t t_ms, status from, status to,
                      const std::string& output) override {
    ordered_.emplace_back(
        "INSERT INTO transitions(target, t, from_status, to_status, output) "
        "VALUES($1, $2, $3, $4, $5)",
        params{}
            .add(target)
            .add(t_ms)
            .add(static_cast<std::int64_t>(from))
            .add(static_cast<std::int64_t>(to))
            .add(output));
  }

  void open_incident(std::int64_t target, std::int64_t t_ms, const std::string& cause) override {
    ordered_.emplace_back(
        "INSERT INTO incidents(target, start_ms, end_ms, cause) SELECT $1::bigint, $2::bigint, "
        "$3::bigint, $4::text WHERE NOT EXISTS (SELECT 1 FROM incidents WHERE target = $1 AND "
        "end_ms = $3)",
        params{}.add(target).add(t_ms).add(open_end).add(cause));
  }

  void close_incident(std::int64_t target, std::int64_t t_ms) override {
    ordered_.emplace_back("UPDATE incidents SET end_ms = $2 WHERE target = $1 AND end_ms = $3",
                          params{}.add(target).add(t_ms).add(open_end));
  }

  void trim_results(std::int64_t target, std::uint64_t keep) override {
    trims_.emplace_back(target, keep);
  }

  void expire(const expiry& e) override { expiry_ = e; }

  connection& conn() { return c_; }

 private:
  void clear() {
    known_.clear();
    loaded_.clear();
    rows_.clear();
    days_.clear();
    before_.clear();
    for (auto& m : rollups_) m.clear();
    results_.clear();
    ordered_.clear();
    trims_.clear();
    expiry_.reset();
  }

  void send_rollups(rollup level) {
    auto& rows = rollups_[static_cast<std::size_t>(level)];
    if (rows.empty()) return;
    const auto [table, column] = table_of(level);
    const bool days = level == rollup::days;
    const std::size_t width = days ? 7 : 5;
    std::string head = std::string{"INSERT INTO "} + table + "(target, " + column +
                       ", count, failures, " + (days ? "cum_count, cum_failures, " : "") +
                       "data) VALUES ";
    const std::string tail = std::string{" ON CONFLICT ("} + column +
                             ", target) DO UPDATE SET count = excluded.count, failures = "
                             "excluded.failures, " +
                             (days ? "cum_count = excluded.cum_count, cum_failures = "
                                     "excluded.cum_failures, "
                                   : "") +
                             "data = excluded.data";
    params p;
    std::string sql = head;
    std::size_t n = 0;
    const auto send = [&] {
      if (n == 0) return;
      c_.run(sql + tail, p);
      p.clear();
      sql = head;
      n = 0;
    };
    for (const auto& [key, row] : rows) {
      if (n > 0) sql += ',';
      sql += '(';
      for (std::size_t i = 0; i < width; ++i) {
        if (i > 0) sql += ',';
        sql += '$' + std::to_string(n * width + i + 1);
      }
      sql += ')';
      p.add(row.target).add(row.period).add(i64(row.own.count)).add(i64(row.own.failures));
      if (days) p.add(i64(row.cumulative.count)).add(i64(row.cumulative.failures));
      p.bytes(row.data);
      if (++n == rows_per_statement) send();
    }
    send();
  }

  void send_results() {
    constexpr std::size_t width = 6;
    const std::size_t rows = results_.size() / width;
    if (rows == 0) return;
    // The gathered values are sent in statements of rows_per_statement rows.
    std::vector<const char*> v;
    std::vector<int> len;
    results_.view(v, len);
    for (std::size_t first = 0; first < rows; first += rows_per_statement) {
      const std::size_t n = std::min(rows_per_statement, rows - first);
      std::string sql = "INSERT INTO results(target, t, status, kind, duration_us, output) VALUES ";
      for (std::size_t i = 0; i < n; ++i) {
        if (i > 0) sql += ',';
        sql += '(';
        for (std::size_t j = 0; j < width; ++j) {
          if (j > 0) sql += ',';
          sql += '$' + std::to_string(i * width + j + 1);
        }
        sql += ')';
      }
      const std::size_t at = first * width;
      result_ptr r{pq().exec_params(c_.raw(), sql.c_str(), static_cast<int>(n * width), nullptr,
                                    v.data() + at, len.data() + at, nullptr, 1)};
      const ExecStatusType st = r ? pq().result_status(r.get()) : PGRES_FATAL_ERROR;
      if (st != PGRES_COMMAND_OK) {
        throw store_error{
            scrub_patterns(std::string{"INSERT: "} + (r ? pq().result_error_message(r.get())
                                                        : pq().error_message(c_.raw())))};
      }
    }
  }

  connection c_;
  std::array<std::map<std::pair<std::int64_t, std::int64_t>, rollup_row>, 3> rollups_;
  params results_;
  std::vector<std::pair<std::string, params>> ordered_;
  std::vector<std::pair<std::int64_t, std::uint64_t>> trims_;
  std::optional<expiry> expiry_;
  // What preload() read for this flush (cleared with the rest).
  using row_key = std::tuple<rollup, std::int64_t, std::int64_t>;  // level, target, period
  std::unordered_map<std::string, std::pair<std::int64_t, std::uint64_t>> known_;
  std::set<row_key> loaded_;
  std::map<row_key, std::string> rows_;
  std::map<std::pair<std::int64_t, std::int64_t>, day_row> days_;
  std::map<std::pair<std::int64_t, std::int64_t>, totals> before_;
};

class postgres_reader final : public reader_store {
 public:
  explicit postgres_reader(const history_options& o) : c_(o.url, o.schema) {
    use_schema(c_, false);
  }

  std::optional<std::int64_t> id_of(std::string_view name) override {
    result_ptr r = c_.run("SELECT id FROM targets WHERE name = $1", params{}.add(name));
    if (pq().ntuples(r.get()) == 0) return std::nullopt;
    return integer(r.get(), 0, 0);
  }

  void rows(rollup level, std::int64_t target, std::int64_t lo, std::int64_t hi,
            const row_fn& fn) override {
    const auto [table, column] = table_of(level);
    const std::string col{column};
    result_ptr r = c_.run("SELECT " + col + ", data FROM " + table + " WHERE target = $1 AND " +
                              col + " >= $2 AND " + col + " < $3 ORDER BY " + col,
                          params{}.add(target).add(lo).add(hi));
    for (int i = 0, n = pq().ntuples(r.get()); i < n; ++i) {
      fn(target, integer(r.get(), i, 0), bytes(r.get(), i, 1));
    }
  }

  void rows_since(rollup level, std::int64_t lo, const row_fn& fn) override {
    const auto [table, column] = table_of(level);
    const std::string col{column};
    result_ptr r =
        c_.run("SELECT target, " + col + ", data FROM " + table + " WHERE " + col + " >= $1",
               params{}.add(lo));
    for (int i = 0, n = pq().ntuples(r.get()); i < n; ++i) {
      fn(integer(r.get(), i, 0), integer(r.get(), i, 1), bytes(r.get(), i, 2));
    }
  }

  totals totals_at(std::int64_t target, std::int64_t day) override {
    result_ptr r = c_.run(
        "SELECT cum_count, cum_failures FROM days WHERE target = $1 AND day <= $2 ORDER BY day "
        "DESC LIMIT 1",
        params{}.add(target).add(day));
    if (pq().ntuples(r.get()) == 0) return {};
    return {u64(integer(r.get(), 0, 0)), u64(integer(r.get(), 0, 1))};
  }

  void totals_on(std::int64_t day, const std::function<void(std::int64_t, totals)>& fn) override {
    result_ptr r = c_.run("SELECT target, cum_count, cum_failures FROM days WHERE day = $1",
                          params{}.add(day));
    for (int i = 0, n = pq().ntuples(r.get()); i < n; ++i) {
      fn(integer(r.get(), i, 0), {u64(integer(r.get(), i, 1)), u64(integer(r.get(), i, 2))});
    }
  }

  std::optional<std::int64_t> first_day() override {
    result_ptr r = c_.run("SELECT min(day) FROM days");
    if (pq().ntuples(r.get()) == 0 || pq().getisnull(r.get(), 0, 0) != 0) return std::nullopt;
    return integer(r.get(), 0, 0);
  }

  void names(const std::function<void(std::int64_t, std::string_view)>& fn) override {
    result_ptr r = c_.run("SELECT id, name FROM targets ORDER BY name");
    for (int i = 0, n = pq().ntuples(r.get()); i < n; ++i) {
      fn(integer(r.get(), i, 0), bytes(r.get(), i, 1));
    }
  }

  std::vector<history_result> recent(std::int64_t target, std::size_t limit) override {
    result_ptr r = c_.run(
        "SELECT t, status, kind, duration_us, output FROM results WHERE target = $1 ORDER BY id "
        "DESC LIMIT $2",
        params{}.add(target).add(static_cast<std::int64_t>(limit)));
    std::vector<history_result> out;
    for (int i = 0, n = pq().ntuples(r.get()); i < n; ++i) {
      const PGresult* x = r.get();
      out.push_back({.time = from_ms(integer(x, i, 0)),
                     .result = static_cast<status>(integer(x, i, 1)),
                     .kind = static_cast<failure_kind>(integer(x, i, 2)),
                     .duration = std::chrono::microseconds{integer(x, i, 3)},
                     .output = std::string{bytes(x, i, 4)}});
    }
    return out;
  }

  std::vector<history_transition> transitions(std::int64_t target, std::int64_t lo_ms,
                                              std::int64_t hi_ms, std::size_t limit) override {
    result_ptr r = c_.run(
        "SELECT t, from_status, to_status, output FROM transitions WHERE target = $1 AND t >= $2 "
        "AND t < $3 ORDER BY t DESC, id DESC LIMIT $4",
        params{}.add(target).add(lo_ms).add(hi_ms).add(static_cast<std::int64_t>(limit)));
    std::vector<history_transition> out;
    for (int i = 0, n = pq().ntuples(r.get()); i < n; ++i) {
      const PGresult* x = r.get();
      out.push_back({.time = from_ms(integer(x, i, 0)),
                     .from = static_cast<status>(integer(x, i, 1)),
                     .to = static_cast<status>(integer(x, i, 2)),
                     .output = std::string{bytes(x, i, 3)}});
    }
    return out;
  }

  std::vector<history_incident> incidents(std::int64_t lo_ms, std::int64_t hi_ms,
                                          std::string_view target, std::size_t limit) override {
    params p;
    p.add(lo_ms).add(hi_ms).add(static_cast<std::int64_t>(limit));
    std::string sql =
        "SELECT t.name, i.start_ms, i.end_ms, i.cause FROM incidents i JOIN targets t ON t.id = "
        "i.target WHERE i.end_ms >= $1 AND i.start_ms < $2";
    if (!target.empty()) {
      sql += " AND t.name = $4";
      p.add(target);
    }
    sql += " ORDER BY i.start_ms DESC, i.id DESC LIMIT $3";
    result_ptr r = c_.run(sql, p);
    std::vector<history_incident> out;
    for (int i = 0, n = pq().ntuples(r.get()); i < n; ++i) {
      const PGresult* x = r.get();
      history_incident inc{.target = std::string{bytes(x, i, 0)},
                           .start = from_ms(integer(x, i, 1)),
                           .cause = std::string{bytes(x, i, 3)}};
      if (integer(x, i, 2) != open_end) inc.end = from_ms(integer(x, i, 2));
      out.push_back(std::move(inc));
    }
    return out;
  }

 private:
  connection c_;
};

class postgres_store final : public store {
 public:
  explicit postgres_store(history_options o) : o_(std::move(o)) {}
  [[nodiscard]] std::string where() const override {
    return scrub_patterns(o_.url) + " (schema " + o_.schema + ")";
  }
  std::unique_ptr<writer_store> open_writer() override {
    return std::make_unique<postgres_writer>(o_);
  }
  std::unique_ptr<reader_store> open_reader() override {
    return std::make_unique<postgres_reader>(o_);
  }
  std::string move_aside(std::int64_t) override {
    return "the history schema " + o_.schema + " could not be read";
  }
  std::uint64_t bytes(writer_store& w) override {
    auto& c = static_cast<postgres_writer&>(w).conn();
    result_ptr r = c.run(
        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c JOIN "
        "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
        params{}.add(o_.schema));
    return u64(integer(r.get(), 0, 0));
  }

 private:
  history_options o_;
};

}  // namespace

std::unique_ptr<store> make_postgres_store(const history_options& options) {
  if (options.url.empty()) throw std::runtime_error("history: the PostgreSQL url is empty");
  if (options.schema.empty()) throw std::runtime_error("history: the PostgreSQL schema is empty");
  return std::make_unique<postgres_store>(options);
}

}  // namespace vitals::history_detail
