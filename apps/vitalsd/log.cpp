#include "log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>

namespace vitalsd {

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

log::log(const vitals::config::log_config& cfg)
    // stderr_sink_mt: unbuffered lines, so a crash never loses the last transition.
    : logger_(std::make_shared<spdlog::logger>("vitalsd",
                                               std::make_shared<spdlog::sinks::stderr_sink_mt>())) {
  configure(cfg);
}

void log::configure(const vitals::config::log_config& cfg) {
  json_ = cfg.format == vitals::config::log_format::json;
  logger_->set_level(spdlog::level::from_str(cfg.level));
  logger_->flush_on(spdlog::level::trace);
  if (json_) {
    logger_->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l",%v})");
  } else {
    logger_->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %-5l %v");
  }
}

void log::write(level lvl, std::string_view msg, const fields& f) const {
  std::string line;
  if (json_) {
    line = "\"msg\":\"" + json_escape(msg) + "\"";
    for (const auto& [k, v] : f) line += ",\"" + json_escape(k) + "\":\"" + json_escape(v) + "\"";
  } else {
    line.assign(msg);
    for (const auto& [k, v] : f) {
      const bool quote = v.empty() || v.find_first_of(" \"=") != std::string::npos;
      line += " " + k + "=" + (quote ? "\"" + json_escape(v) + "\"" : v);
    }
  }
  const auto l = lvl == level::debug  ? spdlog::level::debug
                 : lvl == level::info ? spdlog::level::info
                 : lvl == level::warn ? spdlog::level::warn
                                      : spdlog::level::err;
  logger_->log(l, line);
}

void log::event(const vitals::event& e) const {
  using t = vitals::event::type;
  fields f;
  if (!e.check.empty()) f.emplace_back("check", e.check);
  switch (e.what) {
    case t::transition: {
      f.emplace_back("from", std::string{vitals::to_string(e.from)});
      f.emplace_back("to", std::string{vitals::to_string(e.to)});
      if (e.kind != vitals::failure_kind::none) {
        f.emplace_back("kind", std::string{vitals::to_string(e.kind)});
      }
      if (!e.message.empty()) f.emplace_back("output", e.message);
      const bool worse = vitals::worst(e.from, e.to) == e.to && e.from != vitals::status::unknown;
      write(worse && e.to != vitals::status::pass ? level::warn : level::info, "check transition",
            f);
      break;
    }
    case t::timeout:
      if (!e.message.empty()) f.emplace_back("output", e.message);
      write(level::warn, "check timed out", f);
      break;
    case t::late_result:
      if (!e.message.empty()) f.emplace_back("output", e.message);
      write(level::debug, "late result discarded", f);
      break;
    case t::shutdown:
      if (!e.message.empty()) f.emplace_back("output", e.message);
      write(level::info, "engine shutdown", f);
      break;
    case t::error:
      if (!e.message.empty()) f.emplace_back("output", e.message);
      write(level::error, "engine error", f);
      break;
  }
}

}  // namespace vitalsd
