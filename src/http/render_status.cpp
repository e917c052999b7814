// The status page (docs/status-page.md): `/status`, every check grouped with its status, latest
// response time, uptime and 90 days of daily bars; `/status/<target>`, one target's history.
// Server-rendered HTML with inline CSS: readable on a phone and without JavaScript, filtered
// and paged by plain GET forms and links, never an output (the page is public).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "render.hpp"

namespace vitals::http::detail {

namespace {

using std::chrono::system_clock;

constexpr std::string_view css = R"css(
:root{--ok:#2e8540;--warn:#b07d00;--bad:#c62828;--none:#757575;--line:#ddd;--fg:#1b1b1b;--bg:#fff}
@media (prefers-color-scheme:dark){:root{--line:#444;--fg:#eee;--bg:#161616}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:72rem;padding:1rem;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.15rem;margin:1.6rem 0 .4rem}
a{color:inherit}
.overall{padding:.7rem 1rem;border-radius:6px;color:#fff;font-weight:600}
.overall.s-pass{background:var(--ok)}.overall.s-warn{background:var(--warn)}
.overall.s-fail{background:var(--bad)}.overall.s-unknown{background:var(--none)}
form{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;margin:1rem 0}
label{display:flex;flex-direction:column;font-size:.85rem}
input,select,button{font:inherit;padding:.3rem .4rem}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:.35rem .4rem;border-bottom:1px solid var(--line);vertical-align:middle}
th{font-size:.8rem;font-weight:600}
td.num,th.num{text-align:right;white-space:nowrap}
.st{white-space:nowrap}.st::before{content:"";display:inline-block;width:.7rem;height:.7rem;border-radius:50%;margin-right:.35rem;background:var(--none)}
.st.s-pass::before{background:var(--ok)}.st.s-warn::before{background:var(--warn)}.st.s-fail::before{background:var(--bad)}
.bars{display:block;width:100%;max-width:18rem;height:1.4rem}
.labels{font-weight:400;font-size:.8rem;color:var(--none)}
nav.pages{display:flex;gap:1rem;margin:1rem 0}
footer{margin-top:2rem;font-size:.8rem;color:var(--none)}
@media (max-width:40rem){.wide{display:none}}
)css";

std::string esc(std::string_view text) {
  std::string out;
  markup_escape_into(out, text);
  return out;
}

// Percent-encoding of a query value or a path segment.
std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string_view class_of(status s) {
  switch (s) {
    case status::pass:
      return "s-pass";
    case status::warn:
      return "s-warn";
    case status::fail:
      return "s-fail";
    case status::unknown:
      break;
  }
  return "s-unknown";
}

// "99.95%", rounded down ("—" without runs).
std::string percent(const std::optional<double>& ratio) {
  return ratio ? percent_text(*ratio, 2) : std::string{"—"};
}

std::optional<double> ratio_of(const target_uptime* u, std::string_view window) {
  if (u == nullptr) return std::nullopt;
  for (const auto& w : u->windows) {
    if (w.window == window) return w.ratio();
  }
  return std::nullopt;
}

std::string date_of(system_clock::time_point t) {
  const std::time_t tt = system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string time_of(system_clock::time_point t) {
  const std::time_t tt = system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// The last 90 UTC days of a target as bars: green (no failure), yellow (<= 1 % failed), red,
// grey without runs; the summary in aria-label. `detailed` (a target's own page): one rect per
// day with its day and figure in a <title> (a tooltip); in the list, one path per colour
// (about 1.5 KB a row instead of 9).
std::string day_bars(const history_reader& h, std::string_view name, system_clock::time_point now,
                     bool detailed) {
  constexpr int days = 90;
  const auto today = std::chrono::floor<std::chrono::days>(now);
  const auto from = today - std::chrono::days{days - 1};
  std::map<std::int64_t, const history_bucket*> by_day;
  const auto buckets = h.buckets(name, history_resolution::day, from, today + std::chrono::days{1});
  for (const auto& b : buckets) {
    by_day[std::chrono::floor<std::chrono::days>(b.start).time_since_epoch().count()] = &b;
  }
  std::uint64_t runs = 0;
  std::uint64_t failures = 0;
  std::string rects;
  std::map<std::string_view, std::string> paths;  // colour -> path data
  for (int i = 0; i < days; ++i) {
    const auto day = from + std::chrono::days{i};
    const auto it = by_day.find(day.time_since_epoch().count());
    const history_bucket* b = it == by_day.end() ? nullptr : it->second;
    std::string_view color = "#bdbdbd";
    std::string title = date_of(day) + ": no data";
    if (b != nullptr && b->count > 0) {
      runs += b->count;
      failures += b->failures;
      const double up = static_cast<double>(b->count - b->failures) / static_cast<double>(b->count);
      color = b->failures == 0 ? "#2e8540" : up >= 0.99 ? "#e0a800" : "#c62828";
      title = date_of(day) + ": " + percent(up) + " of " + std::to_string(b->count) + " runs";
    }
    if (!detailed) {
      paths[color] += "M" + std::to_string(i * 3) + " 0h2.4v14h-2.4z";
      continue;
    }
    char rect[160];
    std::snprintf(rect, sizeof rect, R"(<rect x="%d" width="2.4" height="14" rx="0.6" fill="%s">)",
                  i * 3, std::string{color}.c_str());
    rects += rect;
    rects += "<title>" + esc(title) + "</title></rect>";
  }
  for (const auto& [color, d] : paths) {
    rects += "<path fill=\"" + std::string{color} + "\" d=\"" + d + "\"/>";
  }
  const std::optional<double> total =
      runs == 0
          ? std::nullopt
          : std::optional<double>{static_cast<double>(runs - failures) / static_cast<double>(runs)};
  return R"(<svg class="bars" viewBox="0 0 270 14" preserveAspectRatio="none" role="img" )"
         R"(aria-label="last 90 days: )" +
         percent(total) + R"(">)" + rects + "</svg>";
}

std::string page_head(std::string_view title) {
  std::string out =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
      "<title>";
  markup_escape_into(out, title);
  out += "</title><style>";
  out += css;
  out += "</style></head><body>";
  return out;
}

std::string page_foot(system_clock::time_point now) {
  return "<footer>As of " + time_of(now) + " · vitals</footer></body></html>\n";
}

typed_response html(int code, std::string body) {
  return make_typed(code, "text/html; charset=utf-8", std::move(body));
}

struct row {
  const check_state* check = nullptr;
  const target_meta* meta = nullptr;
};

}  // namespace

typed_response render_status_page(const status_page_options& o, const snapshot& snap,
                                  const target_catalog::map* catalog, const history_reader* history,
                                  const status_page_query& q, system_clock::time_point now) {
  // Every check with its group, the filters applied; the groups in the order of their first
  // check, checks without a group last.
  std::vector<row> rows;
  std::vector<std::string> groups;
  std::unordered_map<std::string_view, std::size_t> rank_of;  // group -> its place in `groups`
  std::size_t counts[4] = {0, 0, 0, 0};  // pass, warn, fail, unknown over all checks
  for (const auto& c : snap.checks) {
    const target_meta* meta = nullptr;
    if (catalog != nullptr) {
      const auto it = catalog->find(c.name);
      if (it != catalog->end()) meta = &it->second;
    }
    const std::string group = meta != nullptr ? meta->group : std::string{};
    if (!group.empty() && !rank_of.contains(group)) {
      rank_of.emplace(meta->group, groups.size());
      groups.push_back(group);
    }
    const status s = c.reported.status;
    ++counts[s == status::pass ? 0 : s == status::warn ? 1 : s == status::fail ? 2 : 3];
    if (!q.text.empty() && c.name.find(q.text) == std::string::npos) continue;
    if (q.only && *q.only != s) continue;
    if (!q.group.empty() && group != q.group) continue;
    rows.push_back({&c, meta});
  }
  std::stable_sort(rows.begin(), rows.end(), [&](const row& a, const row& b) {
    const auto rank = [&](const row& r) {
      if (r.meta == nullptr || r.meta->group.empty()) return groups.size();
      return rank_of.at(r.meta->group);
    };
    return rank(a) < rank(b);
  });
  const std::size_t size = std::max<std::size_t>(o.page_size, 1);
  const std::size_t pages = std::max<std::size_t>((rows.size() + size - 1) / size, 1);
  const std::size_t page = std::min(q.page, pages);
  const std::size_t first = (page - 1) * size;
  const std::size_t last = std::min(rows.size(), first + size);

  std::string out = page_head(o.title);
  out += "<header><h1>";
  markup_escape_into(out, o.title);
  out += "</h1>";
  const std::size_t total = snap.checks.size();
  status overall = status::pass;
  std::string summary;
  if (counts[2] > 0) {
    overall = status::fail;
    summary = std::to_string(counts[2]) + " of " + std::to_string(total) + " down";
  } else if (counts[1] > 0) {
    overall = status::warn;
    summary = std::to_string(counts[1]) + " of " + std::to_string(total) + " degraded";
  } else if (counts[3] > 0) {
    overall = status::unknown;
    summary = std::to_string(counts[3]) + " of " + std::to_string(total) + " not checked yet";
  } else {
    summary = "All " + std::to_string(total) + " up";
  }
  out += R"(<p class="overall )" + std::string{class_of(overall)} + R"(" role="status">)" +
         esc(summary) + "</p></header><main>";

  // The filters: a plain GET form.
  out += R"(<form method="get" role="search"><label>Search <input type="search" name="q" value=")" +
         esc(q.text) + R"("></label><label>Status <select name="status">)";
  const std::pair<std::string_view, std::string_view> choices[] = {
      {"", "any"}, {"pass", "up"}, {"warn", "degraded"}, {"fail", "down"}, {"unknown", "unknown"}};
  for (const auto& [value, text] : choices) {
    const bool on = q.only ? to_string(*q.only) == value : value.empty();
    out += "<option value=\"" + std::string{value} + "\"" + (on ? " selected" : "") + ">" +
           std::string{text} + "</option>";
  }
  out += R"(</select></label><label>Group <select name="group"><option value="">any</option>)";
  for (const auto& g : groups) {
    out += "<option value=\"" + esc(g) + "\"" + (g == q.group ? " selected" : "") + ">" + esc(g) +
           "</option>";
  }
  out += "</select></label><button type=\"submit\">Filter</button></form>";
  out += "<p>" +
         (rows.empty() ? std::string{"No check matches."}
                       : "Showing " + std::to_string(first + 1) + "–" + std::to_string(last) +
                             " of " + std::to_string(rows.size())) +
         "</p>";

  std::shared_ptr<const std::vector<target_uptime>> table;
  std::map<std::string_view, const target_uptime*> uptime_of;
  if (history != nullptr) {
    table = history->latest_uptimes();
    if (table) {
      for (const auto& u : *table) uptime_of[u.target] = &u;
    }
  }
  std::string current_group = "\x01";
  for (std::size_t i = first; i < last; ++i) {
    const row& r = rows[i];
    const std::string group = r.meta != nullptr ? r.meta->group : std::string{};
    if (group != current_group) {
      if (current_group != "\x01") out += "</tbody></table></section>";
      current_group = group;
      const std::string id = "g-" + url_encode(group.empty() ? "checks" : group);
      out += R"(<section aria-labelledby=")" + id + R"("><h2 id=")" + id + "\">";
      markup_escape_into(out, group.empty() ? std::string_view{"Checks"} : std::string_view{group});
      if (r.meta != nullptr && !r.meta->labels.empty()) {
        out += R"( <span class="labels">)";
        for (std::size_t k = 0; k < r.meta->labels.size(); ++k) {
          if (k > 0) out += ", ";
          out += esc(r.meta->labels[k].first) + "=" + esc(r.meta->labels[k].second);
        }
        out += "</span>";
      }
      out +=
          "</h2><table><thead><tr><th scope=\"col\">Target</th><th scope=\"col\">Status</th>"
          "<th scope=\"col\" class=\"num wide\">Response</th>";
      if (history != nullptr) {
        out +=
            "<th scope=\"col\" class=\"num\">24 h</th><th scope=\"col\" class=\"num wide\">30 "
            "days</th><th scope=\"col\" class=\"wide\">Last 90 days</th>";
      }
      out += "</tr></thead><tbody>";
    }
    const check_state& c = *r.check;
    out += "<tr><th scope=\"row\"><a href=\"status/" + url_encode(c.name) + "\">" + esc(c.name) +
           "</a></th><td><span class=\"st " + std::string{class_of(c.reported.status)} + "\">" +
           std::string{badge_word_of(c.reported.status)} + "</span></td><td class=\"num wide\">" +
           (c.runs > 0 ? latency_text(c.last_run.duration) : std::string{"—"}) + "</td>";
    if (history != nullptr) {
      const auto it = uptime_of.find(c.name);
      const target_uptime* u = it == uptime_of.end() ? nullptr : it->second;
      out += "<td class=\"num\">" + percent(ratio_of(u, "24h")) + "</td><td class=\"num wide\">" +
             percent(ratio_of(u, "30d")) + "</td><td class=\"wide\">" +
             day_bars(*history, c.name, now, false) + "</td>";
    }
    out += "</tr>";
  }
  if (current_group != "\x01") out += "</tbody></table></section>";

  if (pages > 1) {
    const auto link = [&](std::size_t p, std::string_view text) {
      std::string href = "?page=" + std::to_string(p);
      if (!q.text.empty()) href += "&q=" + url_encode(q.text);
      if (q.only) href += "&status=" + std::string{to_string(*q.only)};
      if (!q.group.empty()) href += "&group=" + url_encode(q.group);
      return "<a href=\"" + esc(href) + "\">" + std::string{text} + "</a>";
    };
    out += R"(<nav class="pages" aria-label="pages">)";
    if (page > 1) out += link(page - 1, "← Previous");
    out += "<span>Page " + std::to_string(page) + " of " + std::to_string(pages) + "</span>";
    if (page < pages) out += link(page + 1, "Next →");
    out += "</nav>";
  }
  out += "</main>" + page_foot(now);
  return html(200, std::move(out));
}

typed_response render_status_target(const status_page_options& o, const check_state& c,
                                    const target_meta* meta, const history_reader* history,
                                    system_clock::time_point now) {
  std::string out = page_head(c.name + " · " + o.title);
  out += "<header><p><a href=\"../status\">← ";
  markup_escape_into(out, o.title);
  out += "</a></p><h1>";
  markup_escape_into(out, c.name);
  out += "</h1>";
  out += R"(<p class="overall )" + std::string{class_of(c.reported.status)} +
         R"(" role="status">)" + std::string{badge_word_of(c.reported.status)} +
         "</p></header><main>";
  out += "<table><tbody>";
  const auto field = [&](std::string_view key, const std::string& value) {
    out += "<tr><th scope=\"row\">" + std::string{key} + "</th><td>" + value + "</td></tr>";
  };
  field("Type", esc(c.traits.type));
  if (meta != nullptr && !meta->group.empty()) field("Group", esc(meta->group));
  if (meta != nullptr) {
    for (const auto& [k, v] : meta->labels) field(esc(k), esc(v));
  }
  field("Checked",
        std::to_string(c.runs) + " times" +
            (c.runs > 0 ? ", latest " + latency_text(c.last_run.duration) : std::string{}));
  if (c.runs > 0 && c.reported.time != system_clock::time_point{}) {
    field("Latest result", time_of(c.reported.time));
  }
  out += "</tbody></table>";
  if (history == nullptr) {
    out += "<p>No history is kept (vitalsd: <code>storage:</code>).</p></main>" + page_foot(now);
    return html(200, std::move(out));
  }
  const auto up = history->uptime(c.name, now);
  out += "<h2>Uptime</h2><table><thead><tr>";
  const char* windows[] = {"1h", "24h", "7d", "30d", "365d"};
  for (const char* w : windows)
    out += std::string{"<th scope=\"col\" class=\"num\">"} + w + "</th>";
  out += "</tr></thead><tbody><tr>";
  for (const char* w : windows) {
    out += "<td class=\"num\">" + percent(up ? ratio_of(&*up, w) : std::nullopt) + "</td>";
  }
  out += "</tr></tbody></table><h2>Last 90 days</h2>" + day_bars(*history, c.name, now, true);
  // The last 24 hours, hour by hour, newest first: runs, failures, latency percentiles.
  out +=
      "<h2>Last 24 hours</h2><table><thead><tr><th scope=\"col\">Hour (UTC)</th>"
      "<th scope=\"col\" class=\"num\">Runs</th><th scope=\"col\" class=\"num\">Failed</th>"
      "<th scope=\"col\" class=\"num\">p50</th><th scope=\"col\" class=\"num\">p95</th>"
      "<th scope=\"col\" class=\"num wide\">max</th></tr></thead><tbody>";
  auto hours = history->buckets(c.name, history_resolution::hour, now - std::chrono::hours{24},
                                now + std::chrono::seconds{1});
  std::reverse(hours.begin(), hours.end());
  for (const auto& b : hours) {
    if (b.count == 0) continue;
    const auto ms = [](double v) {
      return latency_text(std::chrono::nanoseconds{static_cast<std::int64_t>(v * 1e6)});
    };
    out += "<tr><td>" + time_of(b.start).substr(11, 5) + "</td><td class=\"num\">" +
           std::to_string(b.count) + "</td><td class=\"num\">" + std::to_string(b.failures) +
           "</td><td class=\"num\">" + ms(b.p50_ms) + "</td><td class=\"num\">" + ms(b.p95_ms) +
           "</td><td class=\"num wide\">" + ms(b.max_ms) + "</td></tr>";
  }
  if (hours.empty()) out += "<tr><td colspan=\"6\">No runs.</td></tr>";
  out += "</tbody></table>";
  // Incidents of the last 90 days (their causes are outputs: not on a public page).
  out += "<h2>Incidents</h2>";
  const auto incidents = history->incidents(now - std::chrono::hours{24 * 90},
                                            now + std::chrono::seconds{1}, c.name, 50);
  if (incidents.empty()) {
    out += "<p>None in the last 90 days.</p>";
  } else {
    out +=
        "<table><thead><tr><th scope=\"col\">Start</th><th scope=\"col\">End</th>"
        "<th scope=\"col\" class=\"num\">Duration</th></tr></thead><tbody>";
    for (const auto& i : incidents) {
      const auto end = i.end.value_or(now);
      const auto s = std::chrono::duration_cast<std::chrono::seconds>(end - i.start).count();
      char d[48];
      std::snprintf(d, sizeof d, "%lldh %02lldm %02llds", static_cast<long long>(s / 3600),
                    static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
      out += "<tr><td>" + time_of(i.start) + "</td><td>" +
             (i.end ? time_of(*i.end) : std::string{"ongoing"}) + "</td><td class=\"num\">" + d +
             "</td></tr>";
    }
    out += "</tbody></table>";
  }
  // The latest runs (status and duration only).
  out +=
      "<h2>Latest runs</h2><table><thead><tr><th scope=\"col\">Time</th>"
      "<th scope=\"col\">Status</th><th scope=\"col\" class=\"num\">Duration</th></tr></thead>"
      "<tbody>";
  const auto recent = history->recent(c.name, 20);
  for (const auto& r : recent) {
    out += "<tr><td>" + time_of(r.time) + "</td><td><span class=\"st " +
           std::string{class_of(r.result)} + "\">" + std::string{badge_word_of(r.result)} +
           "</span></td><td class=\"num\">" +
           latency_text(std::chrono::duration_cast<std::chrono::nanoseconds>(r.duration)) +
           "</td></tr>";
  }
  if (recent.empty()) out += "<tr><td colspan=\"3\">No runs kept.</td></tr>";
  out += "</tbody></table></main>" + page_foot(now);
  return html(200, std::move(out));
}

}  // namespace vitals::http::detail
