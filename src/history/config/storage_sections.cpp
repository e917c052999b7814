// The `storage` row: where vitalsd keeps the history of results (vitals::sqlite_history or
// vitals::postgres_history, docs/history.md). Read here into daemon_config::history; vitalsd opens
// the store.
#include <chrono>
#include <optional>
#include <string>

#include "config/sections.hpp"

namespace vitals::config::detail {
namespace {

// Keys both stores share: what is kept, for how long, and how the writer batches.
void shared_keys(section_builder<history_options>& b) {
  b.key("raw_per_target", &history_options::raw_per_target,
        "The latest raw results kept per target (every transition is kept apart).",
        {.min = 1.0, .max = 100000.0});
  b.key("flush_interval", &history_options::flush_interval,
        "How often the writer commits what arrived (one transaction; 10ms to 1m).");
  b.key("keep_minutes", &history_options::keep_minutes,
        "Retention of the per-minute rollups (whole hours).");
  b.key("keep_hours", &history_options::keep_hours,
        "Retention of the per-hour rollups (whole hours).");
  b.key("keep_days", &history_options::keep_days,
        "Retention of the per-day rollups (whole hours).");
  b.key("keep_transitions", &history_options::keep_transitions,
        "Retention of the transitions (whole hours).");
  b.key("max_pending", &history_options::max_pending,
        "Results waiting for the writer before the oldest are dropped (and counted).",
        {.min = 100.0, .max = 10000000.0});
}

const section_spec& storage_sqlite_section() {
  static const section_spec s = [] {
    section_builder<history_options> b{"sqlite",
                                       "The history in one SQLite file (WAL, one writer)."};
    b.key("path", &history_options::path,
          "The database file, e.g. /var/lib/vitalsd/history.db; its directory must exist.");
    shared_keys(b);
    return b.section();
  }();
  return s;
}

const section_spec& storage_postgres_section() {
  static const section_spec s = [] {
    section_builder<history_options> b{
        "postgres",
        "The history in PostgreSQL, shared by instances: shards write their own targets into one "
        "database, so any of them reads all (docs/history.md)."};
    b.key("url", &history_options::url,
          "The server, as a libpq URL or keyword string "
          "(postgresql://vitals:secret@db:5432/monitor); a secret: use url_file or ${ENV}.",
          {.secret = true});
    b.key("schema", &history_options::schema,
          "The PostgreSQL schema holding the tables (created if missing).");
    b.key("writer_lock", &history_options::writer_lock,
          "The writer lock's name: of the instances sharing it, one writes and the others stand "
          "by, taking over within seconds (replicas of one shard). Default: the shard (\"shard "
          "i/N\"), or \"vitalsd\" without shards.");
    shared_keys(b);
    return b.section();
  }();
  return s;
}

const section_spec& storage_section() {
  static const section_spec s = [] {
    section_builder<history_options> b{
        "storage",
        "Where vitalsd keeps the history of results: rollups, uptime, transitions, the latest "
        "runs (docs/history.md), served by /api/v1/uptime and /api/v1/history/<target>. "
        "Absent: no history."};
    return b.section();
  }();
  return s;
}

std::optional<key_problem> storage_keys_agree(const document& d) {
  const history_options& h = d.cfg.history;
  if (h == history_options{}) return std::nullopt;
  if (!h.path.empty() && !h.url.empty()) {
    return key_problem{.key = "postgres",
                       .message = "one store at a time: sqlite or postgres, not both"};
  }
  const bool pg = !h.url.empty();
  const std::string store = pg ? "postgres" : "sqlite";
  if (h.path.empty() && !pg) {
    if (h.schema != history_options{}.schema || !h.writer_lock.empty()) {
      return key_problem{.key = "postgres",
                         .message = "a url is required (postgresql://user@host:5432/db)"};
    }
    return key_problem{
        .key = "sqlite",
        .message = "a path is required (the SQLite file, e.g. /var/lib/vitalsd/history.db)"};
  }
  if (pg &&
      (h.schema.empty() || h.schema.size() > 63 ||
       h.schema.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos ||
       (h.schema[0] >= '0' && h.schema[0] <= '9'))) {
    return key_problem{.key = "postgres.schema",
                       .message =
                           "schema must be a lower-case identifier (letters, digits, _; "
                           "at most 63, not starting with a digit)"};
  }
  for (const auto& c : d.cfg.checks) {
    if (c.name == "storage") {
      return key_problem{.key = store,
                         .message =
                             "with storage, the check name \"storage\" is vitalsd's own "
                             "(the history's health in readiness): rename that check"};
    }
  }
  using std::chrono::hours;
  for (const auto& [key, keep] :
       {std::pair{"keep_minutes", h.keep_minutes}, std::pair{"keep_hours", h.keep_hours},
        std::pair{"keep_days", h.keep_days}, std::pair{"keep_transitions", h.keep_transitions}}) {
    if (keep < hours{1}) {
      return key_problem{.key = store + "." + key,
                         .message = std::string{key} + " must be at least 1h"};
    }
  }
  if (h.keep_minutes > h.keep_hours || h.keep_hours > h.keep_days) {
    return key_problem{.key = store,
                       .message =
                           "retention must grow with the bucket: keep_minutes <= "
                           "keep_hours <= keep_days"};
  }
  if (h.flush_interval < std::chrono::milliseconds{10} ||
      h.flush_interval > std::chrono::minutes{1}) {
    return key_problem{.key = store + ".flush_interval",
                       .message = "flush_interval must be between 10ms and 1m"};
  }
  return std::nullopt;
}

}  // namespace

top_level_key storage_key() {
  return {.name = "storage",
          .doc = storage_section().doc,
          .section = &storage_section(),
          .children = {{"sqlite", &storage_sqlite_section()},
                       {"postgres", &storage_postgres_section()}},
          .bind = [](document& d) -> void* { return &d.cfg.history; },
          .rule = storage_keys_agree};
}

}  // namespace vitals::config::detail
