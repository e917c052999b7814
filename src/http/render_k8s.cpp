// Kubernetes apiserver-style probe bodies (/livez, /readyz, /startupz).

#include <algorithm>
#include <string>
#include <vector>

#include "render.hpp"

namespace vitals::http::detail {

namespace {

bool is_check_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
  });
}

// One check must stay one line whatever its output holds, and a long output must not push the
// other checks out of the 1 KiB a load balancer reads: control characters become spaces and the
// text is cut on a UTF-8 boundary.
void append_one_line(std::string& out, std::string_view text, std::size_t max) {
  std::size_t n = text.size();
  const bool cut = n > max;
  if (cut) {
    n = max;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0U) == 0x80U) --n;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto ch = static_cast<unsigned char>(text[i]);
    out.push_back(ch < 0x20U || ch == 0x7FU ? ' ' : text[i]);
  }
  if (cut) out.append("...");
}

void append_reason(std::string& out, const render_context& ctx, const check_state& c) {
  if (ctx.detailed) {
    // Scrubbed again once control characters are spaces: "p@ss\x19word" must not be shown as a
    // secret "p@ss word" (found by fuzz_renderers).
    std::string text = describe(ctx, c);
    for (char& ch : text) {
      const auto u = static_cast<unsigned char>(ch);
      if (u < 0x20U || u == 0x7FU) ch = ' ';
    }
    append_one_line(out, ctx.scrubber.scrub(text), max_probe_output);
  } else {
    out.append("reason withheld");
  }
}

// A check fails its probe when it is critical and not ok, except in a latched startup probe:
// once startup has succeeded it stays succeeded for the process lifetime; and a live check
// without a result yet does not fail liveness (snapshot::probe_status, the same rule).
bool fails_probe(const snapshot& snap, probe p, const check_state& c) noexcept {
  if (p == probe::startup && snap.startup_latched) return false;
  if (p == probe::live && c.reported.status == status::unknown) return false;
  return c.options.critical && !is_ok(c.reported.status);
}

std::string check_line(const render_context& ctx, const check_state& c, bool failing) {
  std::string line;
  line.reserve(c.name.size() + 32);
  if (failing) {
    line.append("[-]").append(c.name).append(" failed: ");
    append_reason(line, ctx, c);
    line.push_back('\n');
  } else if (c.reported.status == status::pass) {
    line.append("[+]").append(c.name).append(" ok\n");
  } else if (c.reported.status == status::unknown && c.options.critical) {
    // Only in /livez: no result yet.
    line.append("[+]").append(c.name).append(" ok (not checked yet)\n");
  } else {
    // Anything that does not fail the probe but is not a pass (warn, a non-critical failure, a
    // failure after the startup latch) keeps the [+] of a passing line, so tools that count
    // [-] lines agree with the HTTP code, and says why in parentheses.
    line.append("[+]").append(c.name).append(" ok (warn: ");
    append_reason(line, ctx, c);
    line.append(")\n");
  }
  return line;
}

// Joins the lines and the final line, keeping the body strictly under 1 KiB: lines that do not
// fit are replaced, in order, by one "... N more" line.
// `unlisted` more lines were not even built (see render_probe): they only count in "N more".
std::string assemble(const std::vector<std::string>& lines, std::string_view final_line,
                     std::size_t unlisted = 0) {
  std::size_t total = final_line.size();
  for (const auto& l : lines) total += l.size();
  std::string body;
  if (unlisted == 0 && total <= max_probe_body) {
    body.reserve(total);
    for (const auto& l : lines) body.append(l);
    body.append(final_line);
    return body;
  }
  const std::size_t more_room = std::string_view{"... "}.size() +
                                std::to_string(lines.size() + unlisted).size() +
                                std::string_view{" more\n"}.size();
  const std::size_t budget = max_probe_body - final_line.size() - more_room;
  body.reserve(max_probe_body);
  std::size_t i = 0;
  for (; i < lines.size() && body.size() + lines[i].size() <= budget; ++i) body.append(lines[i]);
  body.append("... ").append(std::to_string(lines.size() - i + unlisted)).append(" more\n");
  body.append(final_line);
  return body;
}

}  // namespace

typed_response render_probe(const render_context& ctx, probe p, bool verbose,
                            std::span<const std::string> excluded) {
  const snapshot& snap = ctx.snap;
  status agg = status::pass;
  if (excluded.empty()) {
    agg = snap.probe_status(p);
  } else {
    const std::vector<std::string_view> views(excluded.begin(), excluded.end());
    agg = snap.probe_status(p, views);
  }
  const int code = code_for(ctx.codes, agg);
  const bool ok = is_ok(agg);
  if (ok && !verbose) return make_typed(code, text_plain, "ok");

  std::vector<bool> matched(excluded.size(), false);
  std::vector<std::string> lines;
  // A failing probe of thousands of checks: once the lines built overflow the body, the rest
  // are only counted, from the engine's tallies, instead of being built (or even visited).
  const bool countable = !verbose && excluded.empty() && snap.tallied &&
                         !(p == probe::startup && snap.startup_latched);
  const probe_tally& tally = snap.tallies[tally_index(p)];
  const std::size_t failing_total =
      tally.critical_fail + (p == probe::live ? 0 : tally.critical_unknown);
  std::size_t built = 0;
  std::size_t unlisted = 0;
  for (const check_state& c : snap.checks) {
    if (countable && built > max_probe_body) {
      unlisted = failing_total - std::min(failing_total, lines.size());
      break;
    }
    if (!c.options.probes.contains(p)) continue;
    bool is_excluded = false;
    for (std::size_t i = 0; i < excluded.size(); ++i) {
      if (excluded[i] == c.name) {
        matched[i] = true;
        is_excluded = true;
      }
    }
    if (is_excluded) {
      if (verbose) lines.push_back("[+]" + c.name + " excluded: ok\n");
      continue;
    }
    const bool failing = fails_probe(snap, p, c);
    if (!verbose && !failing) continue;
    lines.push_back(check_line(ctx, c, failing));
    built += lines.back().size();
  }
  if (p == probe::ready && snap.shutting_down) {
    lines.push_back(std::string{"[-]shutdown failed: "} +
                    (ctx.detailed ? "process is shutting down" : "reason withheld") + "\n");
  }
  if (verbose) {
    // As the apiserver does: an exclusion that matches nothing is ignored, and said so. Only
    // names that could be check names are echoed back, so the line cannot carry markup.
    std::vector<std::string_view> unmatched;
    for (std::size_t i = 0; i < excluded.size(); ++i) {
      if (matched[i] || !is_check_name(excluded[i])) continue;
      if (std::find(unmatched.begin(), unmatched.end(), excluded[i]) == unmatched.end()) {
        unmatched.push_back(excluded[i]);
      }
    }
    if (!unmatched.empty()) {
      std::string line = "warn: some health checks cannot be excluded: no matches for ";
      for (std::size_t i = 0; i < unmatched.size(); ++i) {
        if (i > 0) line.push_back(',');
        line.append("\"").append(unmatched[i]).append("\"");
      }
      line.push_back('\n');
      lines.push_back(std::move(line));
    }
  }
  std::string final_line{probe_path_name(p)};
  final_line.append(ok ? " check passed\n" : " check failed\n");
  return make_typed(code, text_plain, assemble(lines, final_line, unlisted));
}

typed_response render_probe_check(const render_context& ctx, probe p, const check_state& c,
                                  bool verbose) {
  status own = c.reported.status;
  if (p == probe::startup && ctx.snap.startup_latched && !is_ok(own)) own = status::pass;
  if (p == probe::live && own == status::unknown) own = status::pass;  // not checked yet
  const int code = code_for(ctx.codes, own);
  const bool failing = !is_ok(own);
  if (!failing && !verbose) return make_typed(code, text_plain, "ok");
  std::vector<std::string> lines{check_line(ctx, c, failing)};
  std::string final_line{probe_path_name(p)};
  final_line.append("/").append(c.name).append(failing ? " check failed\n" : " check passed\n");
  return make_typed(code, text_plain, assemble(lines, final_line));
}

}  // namespace vitals::http::detail
