#include "tool/output.hpp"

#include "base/format.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <variant>

namespace vitals::cli {

namespace {

std::string observed_text(const std::optional<observation>& o) {
  if (!o) return {};
  std::string v = std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return x;
        } else if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%.3g", x);
          return buf;
        } else {
          return std::to_string(x);
        }
      },
      o->value);
  if (!o->unit.empty()) v += " " + o->unit;
  return v;
}

std::string probes_text(probe_set p) {
  std::string s;
  for (probe x : {probe::live, probe::ready, probe::startup}) {
    if (!p.contains(x)) continue;
    if (!s.empty()) s += ",";
    s += to_string(x);
  }
  return s;
}

// Output texts come from peers: one line, no control characters, bounded.
std::string one_line(const std::string& text, std::size_t max) {
  std::string s;
  s.reserve(std::min(text.size(), max));
  for (char c : text) {
    if (s.size() >= max) {
      s += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    s += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  return s;
}

}  // namespace

std::vector<check_row> rows_from(const snapshot& snap) {
  std::vector<check_row> rows;
  rows.reserve(snap.checks.size());
  for (const check_state& c : snap.checks) {
    const result& r = c.reported;
    rows.push_back(check_row{.name = c.name,
                             .type = c.traits.type,
                             .probes = c.options.probes,
                             .critical = c.options.critical,
                             .state = r.status,
                             .kind = r.kind,
                             .duration = r.duration,
                             .output = r.output,
                             .observed = observed_text(r.observed)});
  }
  return rows;
}

status overall(const std::vector<check_row>& rows) {
  status s = status::pass;
  for (const auto& r : rows) {
    status contribution = r.state;
    if (!r.critical && !is_ok(r.state)) contribution = status::warn;
    s = worst(s, contribution);
  }
  return s;
}

int exit_code_for(status s, bool strict) {
  if (s == status::pass) return 0;
  if (s == status::warn) return strict ? 1 : 0;
  return 1;
}

std::string short_duration(std::chrono::nanoseconds d) {
  return base::format_duration(d, base::duration_style::column);
}

std::string render_table(const std::vector<check_row>& rows, bool color) {
  struct line {
    std::string cells[5];
    status state;
  };
  std::vector<line> lines;
  lines.push_back({{"NAME", "TYPE", "STATUS", "DURATION", "OUTPUT"}, status::pass});
  for (const auto& r : rows) {
    std::string st{to_string(r.state)};
    if (r.kind != failure_kind::none) st += "/" + std::string{to_string(r.kind)};
    if (!r.critical) st += " (non-critical)";
    std::string out = one_line(r.output, 200);
    if (!r.observed.empty()) out = out.empty() ? r.observed : out + " [" + r.observed + "]";
    lines.push_back({{r.name, r.type, st, short_duration(r.duration), out}, r.state});
  }
  std::size_t width[4] = {};
  for (const auto& l : lines) {
    for (int i = 0; i < 4; ++i) width[i] = std::max(width[i], l.cells[i].size());
  }
  std::string s;
  for (std::size_t n = 0; n < lines.size(); ++n) {
    const auto& l = lines[n];
    std::string row;
    for (int i = 0; i < 5; ++i) {
      std::string cell = l.cells[i];
      if (i < 4) cell.append(width[i] - cell.size() + 2, ' ');
      if (i == 2 && color && n > 0) {
        const char* c = l.state == status::pass   ? "\033[32m"
                        : l.state == status::warn ? "\033[33m"
                                                  : "\033[31m";
        cell = c + cell + "\033[0m";
      }
      row += cell;
    }
    while (!row.empty() && row.back() == ' ') row.pop_back();
    s += row + "\n";
  }
  int counts[4] = {};
  for (const auto& r : rows) ++counts[static_cast<int>(r.state)];
  const status all = overall(rows);
  s += std::string{to_string(all)} + ": " + std::to_string(rows.size()) + " checks, " +
       std::to_string(counts[0]) + " pass, " + std::to_string(counts[1]) + " warn, " +
       std::to_string(counts[2]) + " fail";
  if (counts[3] > 0) s += ", " + std::to_string(counts[3]) + " unknown";
  s += "\n";
  return s;
}

std::string render_json(const std::vector<check_row>& rows) {
  nlohmann::ordered_json doc;
  doc["status"] = std::string{to_string(overall(rows))};
  auto& checks = doc["checks"] = nlohmann::ordered_json::array();
  for (const auto& r : rows) {
    nlohmann::ordered_json c;
    c["name"] = r.name;
    c["type"] = r.type;
    c["status"] = std::string{to_string(r.state)};
    if (r.kind != failure_kind::none) c["kind"] = std::string{to_string(r.kind)};
    c["durationMs"] = std::chrono::duration<double, std::milli>(r.duration).count();
    if (!r.output.empty()) c["output"] = r.output;
    if (!r.observed.empty()) c["observed"] = r.observed;
    c["critical"] = r.critical;
    c["probes"] = probes_text(r.probes);
    checks.push_back(std::move(c));
  }
  // Replace invalid UTF-8 from peers instead of throwing.
  return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace vitals::cli
