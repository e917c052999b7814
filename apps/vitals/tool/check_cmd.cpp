#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <thread>

#include "tool/commands.hpp"
#include "tool/output.hpp"
#include "tool/url_checks.hpp"
#include "vitals/service.hpp"

namespace vitals::cli {

namespace {

// One run of each check, reported as is: no initial delay, no thresholds, no second run.
registry one_shot_registry(const config::daemon_config& cfg) {
  registry reg;
  for (const auto& c : cfg.checks) {
    check_options o = c.options;
    o.mode = schedule::background;
    o.initial_delay = std::chrono::milliseconds{0};
    o.jitter = 0;
    o.failure_threshold = 1;
    o.success_threshold = 1;
    o.interval = std::max<std::chrono::milliseconds>(std::chrono::hours{24}, o.timeout * 2);
    o.max_staleness = std::chrono::milliseconds{0};
    reg.add(c.name, c.impl, o);
  }
  return reg;
}

// A check name for a URL (1 to 64 of A-Z a-z 0-9 _ . -): what follows the scheme, password
// already masked, other characters as '_'; a repeated name gets a suffix.
std::string name_for(const std::string& shown, const std::vector<config::check_config>& taken) {
  const auto scheme = shown.find("://");
  std::string name;
  for (char c : shown.substr(scheme == std::string::npos ? 0 : scheme + 3)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    name += ok ? c : '_';
  }
  while (!name.empty() && name.back() == '_') name.pop_back();
  if (name.empty()) name = "dependency";
  name.resize(std::min<std::size_t>(name.size(), 60));
  const std::string base = name;
  for (int n = 2; std::any_of(taken.begin(), taken.end(),
                              [&](const config::check_config& c) { return c.name == name; });
       ++n) {
    name = base + "-" + std::to_string(n);
  }
  return name;
}

}  // namespace

int run_check(const check_args& args) {
  config::daemon_config cfg;
  if (args.urls.empty() == args.config.empty()) {
    std::cerr << "vitals check: give either --config FILE or dependency URLs\n";
    return bad_usage;
  }
  if (!args.urls.empty()) {
    for (const auto& url : args.urls) {
      try {
        dependency d = make_dependency(url);
        config::check_config c;
        c.name = name_for(d.shown, cfg.checks);
        c.type = d.type;
        c.options.timeout = args.timeout;
        c.impl = std::move(d.impl);
        cfg.checks.push_back(std::move(c));
      } catch (const std::exception& e) {
        std::cerr << "vitals check: " << e.what() << "\n";
        return bad_usage;
      }
    }
  } else {
    try {
      cfg = config::load_file(args.config);
    } catch (const config::error& e) {
      std::cerr << e.what() << (std::string_view{e.what()}.ends_with('\n') ? "" : "\n");
      return config_error;
    }
  }
  if (args.output != "table" && args.output != "json") {
    std::cerr << "vitals check: --output must be table or json\n";
    return bad_usage;
  }
  std::chrono::milliseconds longest{0};
  for (const auto& c : cfg.checks) longest = std::max(longest, c.options.timeout);

  service svc{one_shot_registry(cfg),
              {.info = cfg.info,
               .max_threads = cfg.max_threads,
               // The table tells the story; per-event log lines would only repeat it.
               .on_event = [](const event&) {}}};
  const bool tty = args.progress && isatty(STDOUT_FILENO) == 1;
  const auto started = std::chrono::steady_clock::now();
  // The runner enforces each timeout; the margin only covers scheduling.
  const auto give_up = started + longest + std::chrono::seconds{2};
  svc.start();
  std::shared_ptr<const snapshot> snap;
  for (;;) {
    snap = svc.current();
    std::size_t done = 0;
    std::string pending;
    for (const auto& c : snap->checks) {
      if (c.runs > 0 || c.reported.status != status::unknown) {
        ++done;
      } else if (pending.size() < 60) {
        pending += (pending.empty() ? "" : ", ") + c.name;
      }
    }
    if (done == snap->checks.size() || std::chrono::steady_clock::now() >= give_up) break;
    if (tty) {
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      std::printf("\r\033[K[%zu/%zu] %.1fs running: %s", done, snap->checks.size(), secs,
                  pending.c_str());
      std::fflush(stdout);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{tty ? 100 : 20});
  }
  if (tty) std::printf("\r\033[K");
  svc.stop();

  const auto rows = rows_from(*snap);
  std::fputs(args.output == "json" ? render_json(rows).c_str() : render_table(rows, tty).c_str(),
             stdout);
  std::fflush(stdout);
  return exit_code_for(overall(rows), args.strict);
}

int run_validate(const std::string& file) {
  try {
    const auto cfg = config::load_file(file);
    std::printf("ok: %zu check%s (%s)\n", cfg.checks.size(), cfg.checks.size() == 1 ? "" : "s",
                file.c_str());
    return ok;
  } catch (const config::error& e) {
    for (const auto& d : e.diagnostics()) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    if (e.diagnostics().empty()) std::fprintf(stderr, "%s\n", e.what());
    return not_ok;
  }
}

}  // namespace vitals::cli
