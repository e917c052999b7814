// Valid configurations: values land where they should, env and *_file secrets resolve.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/suggest.hpp"
#include "vitals/config.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace cfgns = vitals::config;

class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "vitals-config-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() { fs::remove_all(path_); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  fs::path write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name, std::ios::binary) << content;
    return path_ / name;
  }

 private:
  fs::path path_;
};

TEST(config_load, full_document) {
  const auto cfg = cfgns::load_string(R"(
listen: "[::1]:9099"
service: {id: orders, version: 1.2.3, release_id: r42, description: order service}
http:
  details: everyone
  prefix: /_health
  status_codes: {warn: 207, fail: 500}
server: {io_threads: 2, max_connections: 100, header_timeout: 2s, idle_timeout: 1m30s}
engine: {max_threads: 8}
shutdown: {drain_delay: 2s, grace_period: 10s}
log: {format: json, level: debug}
defaults: {interval: 20s, timeout: 3s, failure_threshold: 3}
checks:
  - name: mem
    type: memory
    probes: [live, ready]
    warn_rss_bytes: 1000000
  - name: disk
    type: disk
    path: /
    interval: 1m
    critical: false
    mode: on_demand
    ttl_pass: 30s
    jitter: 0.25
)",
                                      "full.yaml");
  EXPECT_EQ(cfg.source, "full.yaml");
  EXPECT_EQ(cfg.server.address, "::1");
  EXPECT_EQ(cfg.server.port, 9099);
  EXPECT_EQ(cfg.server.io_threads, 2U);
  EXPECT_EQ(cfg.server.max_connections, 100U);
  EXPECT_EQ(cfg.server.header_timeout, 2s);
  EXPECT_EQ(cfg.server.idle_timeout, 90s);
  EXPECT_FALSE(cfg.server.tls.enabled());
  EXPECT_EQ(cfg.info.service_id, "orders");
  EXPECT_EQ(cfg.info.version, "1.2.3");
  EXPECT_EQ(cfg.info.release_id, "r42");
  EXPECT_EQ(cfg.http.details, vitals::http::detail_policy::everyone);
  EXPECT_EQ(cfg.http.prefix, "/_health");
  EXPECT_EQ(cfg.http.codes.warn, 207);
  EXPECT_EQ(cfg.http.codes.fail, 500);
  EXPECT_EQ(cfg.http.codes.pass, 200);
  EXPECT_EQ(cfg.max_threads, 8U);
  EXPECT_EQ(cfg.shutdown.drain_delay, 2s);
  EXPECT_EQ(cfg.log.format, cfgns::log_format::json);
  EXPECT_EQ(cfg.log.level, "debug");
  ASSERT_EQ(cfg.checks.size(), 2U);
  const auto& mem = cfg.checks[0];
  EXPECT_EQ(mem.name, "mem");
  EXPECT_EQ(mem.type, "memory");
  EXPECT_TRUE(mem.options.probes.contains(vitals::probe::live));
  EXPECT_EQ(mem.options.interval, 20s);  // from defaults
  EXPECT_EQ(mem.options.timeout, 3s);
  EXPECT_EQ(mem.options.failure_threshold, 3);
  ASSERT_NE(mem.impl, nullptr);
  EXPECT_EQ(mem.impl->traits().type, "memory");
  const auto& disk = cfg.checks[1];
  EXPECT_EQ(disk.options.interval, 1min);
  EXPECT_FALSE(disk.options.critical);
  EXPECT_EQ(disk.options.mode, vitals::schedule::on_demand);
  EXPECT_EQ(disk.options.ttl_pass, 30s);
  EXPECT_DOUBLE_EQ(disk.options.jitter, 0.25);
  EXPECT_EQ(disk.line, 18);

  const auto reg = cfgns::build_registry(cfg);
  EXPECT_EQ(reg.size(), 2U);
}

TEST(config_load, durations) {
  EXPECT_EQ(cfgns::parse_duration("250ms"), 250ms);
  EXPECT_EQ(cfgns::parse_duration("5s"), 5s);
  EXPECT_EQ(cfgns::parse_duration("1m30s"), 90s);
  EXPECT_EQ(cfgns::parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(cfgns::parse_duration("2h"), 2h);
  EXPECT_EQ(cfgns::parse_duration("14d"), 336h);
  EXPECT_EQ(cfgns::parse_duration("0"), 0ms);
  for (const char* bad : {"", "5", "s", "5x", "-1s", "1.5ms", "400d", "5 s"}) {
    EXPECT_THROW((void)cfgns::parse_duration(bad), std::invalid_argument) << bad;
  }
}

TEST(config_load, environment_substitution) {
  ::setenv("VITALS_TEST_PORT", "9123", 1);
  ::setenv("VITALS_TEST_EMPTY", "", 1);
  ::unsetenv("VITALS_TEST_UNSET");
  const auto cfg = cfgns::load_string(
      "listen: 127.0.0.1:${VITALS_TEST_PORT}\n"
      "service:\n"
      "  id: ${VITALS_TEST_UNSET:-fallback}\n"
      "  version: ${VITALS_TEST_EMPTY:-was-empty}\n"
      "  description: \"costs $${HOME} and $5\"\n",
      "env.yaml");
  EXPECT_EQ(cfg.server.port, 9123);
  EXPECT_EQ(cfg.info.service_id, "fallback");
  EXPECT_EQ(cfg.info.version, "was-empty");
  EXPECT_EQ(cfg.info.description, "costs ${HOME} and $5");
}

TEST(config_load, secret_files_are_read_and_trimmed_relative_to_the_config) {
  temp_dir dir;
  dir.write("token", "s3cret-token\n");
  dir.write("redis-password", "pa55word\r\n");
  const auto path = dir.write("vitalsd.yaml",
                              "auth:\n"
                              "  token_file: token\n"
                              "checks:\n"
                              "  - name: cache\n"
                              "    type: redis\n"
                              "    url: redis://127.0.0.1:6379\n"
                              "    password_file: redis-password\n");
  const auto cfg = cfgns::load_file(path.string());
  EXPECT_EQ(cfg.http.token, "s3cret-token");
  ASSERT_EQ(cfg.checks.size(), 1U);
  const auto traits = cfg.checks[0].impl->traits();
  EXPECT_NE(std::find(traits.secrets.begin(), traits.secrets.end(), "pa55word"),
            traits.secrets.end());
}

TEST(config_load, empty_secret_file_is_an_error) {
  temp_dir dir;
  dir.write("token", "\n");
  const auto path = dir.write("c.yaml", "auth:\n  token_file: token\n");
  try {
    (void)cfgns::load_file(path.string());
    FAIL() << "accepted an empty token";
  } catch (const cfgns::error& e) {
    ASSERT_EQ(e.diagnostics().size(), 1U);
    EXPECT_EQ(e.diagnostics()[0].message, "secret file \"token\" is empty");
    EXPECT_EQ(e.diagnostics()[0].line, 2);
  }
}

TEST(config_load, missing_file) {
  try {
    (void)cfgns::load_file("/nonexistent/vitalsd.yaml");
    FAIL();
  } catch (const cfgns::error& e) {
    EXPECT_STREQ(e.what(),
                 "/nonexistent/vitalsd.yaml:0:0: (document): cannot read: No such file or "
                 "directory");
  }
}

TEST(config_load, embedded_default_loads_and_has_host_checks) {
  const auto cfg = cfgns::load_string(cfgns::embedded_default(), "<embedded>");
  EXPECT_EQ(cfg.server.address, "127.0.0.1");
  EXPECT_EQ(cfg.server.port, 8081);
  std::vector<std::string> names;
  for (const auto& c : cfg.checks) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"event_loop", "disk", "memory", "load"}));
  for (const auto& c : cfg.checks) EXPECT_FALSE(c.impl->traits().dependency) << c.name;
}

TEST(config_load, fingerprint_changes_with_options_only) {
  const std::string a = "checks:\n  - name: d\n    type: disk\n    path: /\n";
  const std::string b = "checks:\n  - name: d\n    type: disk\n    path: /tmp\n";
  const std::string c = "checks:\n  - name: d\n    type: disk\n    path: /\n    timeout: 3s\n";
  const std::string a2 = "# same as a, other layout\nchecks: [{type: disk, path: /, name: d}]\n";
  const auto fa = cfgns::load_string(a).checks[0].fingerprint;
  EXPECT_EQ(fa, cfgns::load_string(a2).checks[0].fingerprint);
  EXPECT_NE(fa, cfgns::load_string(b).checks[0].fingerprint);
  EXPECT_NE(fa, cfgns::load_string(c).checks[0].fingerprint);
  EXPECT_EQ(fa.size(), 16U);
}

TEST(config_load, null_sections_keep_defaults) {
  const auto cfg = cfgns::load_string("log:\nchecks:\n");
  EXPECT_EQ(cfg.log.level, "info");
  EXPECT_TRUE(cfg.checks.empty());
}

TEST(config_suggest, edit_distance) {
  using vitals::config::detail::edit_distance;
  EXPECT_EQ(edit_distance("interval", "interval"), 0U);
  EXPECT_EQ(edit_distance("intervall", "interval"), 1U);
  EXPECT_EQ(edit_distance("itnerval", "interval"), 1U);  // transposition
  EXPECT_EQ(edit_distance("Timeout", "timeout"), 0U);
  EXPECT_EQ(edit_distance("", "abc"), 3U);
  EXPECT_EQ(vitals::config::detail::suggest("colour", {"level", "format"}), std::nullopt);
}

TEST(config_load, server_tls) {
  const auto cfg = vitals::config::load_string(R"(
server:
  tls:
    cert_file: /etc/vitals/tls/tls.crt
    key_file: /etc/vitals/tls/tls.key
    client_ca_file: /etc/vitals/tls/ca.crt
    require_client_cert: true
    min_version: "1.3"
)",
                                               "tls.yaml");
  const auto& t = cfg.server.tls;
  EXPECT_TRUE(t.enabled());
  EXPECT_EQ(t.cert_file, "/etc/vitals/tls/tls.crt");
  EXPECT_EQ(t.key_file, "/etc/vitals/tls/tls.key");
  EXPECT_EQ(t.client_ca_file, "/etc/vitals/tls/ca.crt");
  EXPECT_TRUE(t.require_client_cert);
  EXPECT_EQ(t.min_version, vitals::http::tls_version::tls1_3);
}

TEST(config_load, storage_sqlite_with_its_defaults_and_overrides) {
  EXPECT_TRUE(vitals::config::load_string("checks:\n").history.path.empty());  // no history
  const auto cfg = vitals::config::load_string(
      "storage:\n"
      "  sqlite: {path: /var/lib/vitalsd/h.db, raw_per_target: 20, keep_hours: 30d,\n"
      "           flush_interval: 250ms}\n");
  const vitals::history_options& h = cfg.history;
  EXPECT_EQ(h.path, "/var/lib/vitalsd/h.db");
  EXPECT_EQ(h.raw_per_target, 20U);
  EXPECT_EQ(h.keep_hours, std::chrono::hours{24 * 30});
  EXPECT_EQ(h.keep_minutes, std::chrono::hours{48});  // defaults
  EXPECT_EQ(h.keep_days, std::chrono::hours{24 * 730});
  EXPECT_EQ(h.flush_interval, std::chrono::milliseconds{250});
  EXPECT_EQ(h.max_pending, 100000U);
}

TEST(config_load, storage_postgres_with_its_defaults_and_overrides) {
  const auto cfg = vitals::config::load_string(
      "storage:\n"
      "  postgres: {url: \"postgresql://vitals:pw@db:5432/monitor\", schema: history_eu,\n"
      "             writer_lock: eu, keep_minutes: 24h, flush_interval: 2s}\n");
  const vitals::history_options& h = cfg.history;
  EXPECT_TRUE(h.path.empty());
  EXPECT_EQ(h.url, "postgresql://vitals:pw@db:5432/monitor");
  EXPECT_EQ(h.schema, "history_eu");
  EXPECT_EQ(h.writer_lock, "eu");
  EXPECT_EQ(h.keep_minutes, std::chrono::hours{24});
  EXPECT_EQ(h.flush_interval, std::chrono::seconds{2});
  EXPECT_EQ(h.raw_per_target, 100U);  // defaults
  const auto plain = vitals::config::load_string("storage: {postgres: {url: \"host=db\"}}\n");
  EXPECT_EQ(plain.history.schema, "vitals");
  EXPECT_TRUE(plain.history.writer_lock.empty());  // vitalsd derives it from the shard
}

}  // namespace
