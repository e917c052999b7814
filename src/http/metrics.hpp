#pragma once
// Private: `/metrics` — the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0, the
// series of a snapshot (cached per generation with the other renderings), and the live figures
// added on every scrape (engine, HTTP traffic, transports, process). Not installed.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "render.hpp"
#include "vitals/service.hpp"

namespace vitals::http::detail {

enum class metrics_format : std::uint8_t { prometheus, openmetrics };

inline constexpr std::string_view prometheus_text = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view openmetrics_text =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// OpenMetrics when the Accept header asks for `application/openmetrics-text` (with a non-zero
/// q), the Prometheus text format otherwise, as Prometheus' own negotiation expects.
[[nodiscard]] metrics_format negotiate_metrics(std::string_view accept) noexcept;

enum class metric_type : std::uint8_t { gauge, counter, histogram, info };

/// Writes metric families in either format. A family is declared once, then its samples follow
/// (the formats require a family's samples to be contiguous). Counter families are named
/// without `_total` and info families without `_info`: the writer adds the suffix to samples
/// (and, in the Prometheus format, to the TYPE/HELP name, as client libraries do).
///
///     metrics_writer w{metrics_format::prometheus, out};
///     w.family("vitals_check_runs", metric_type::counter, "Runs of the check by result.");
///     w.sample(R"(check="db",type="tcp",result="pass")", 42);
class metrics_writer {
 public:
  metrics_writer(metrics_format format, std::string& out) noexcept : format_(format), out_(out) {}

  void family(std::string_view name, metric_type type, std::string_view help);
  /// One sample of the current family; `labels` is a preformatted `a="x",b="y"` list.
  void sample(std::string_view labels, double value);
  void sample(std::string_view labels, std::uint64_t value);
  /// A sample whose labels are `labels` plus one more (`extra` = `status="pass"`).
  void sample(std::string_view labels, std::string_view extra, double value);
  /// The `_bucket`/`_sum`/`_count` samples of one histogram series: `counts[i]` runs in the
  /// bucket ending at `bounds[i]` (not cumulative), `counts[bounds.size()]` above the last.
  void histogram(std::string_view labels, std::span<const double> bounds,
                 std::span<const std::uint64_t> counts, double sum);
  /// Ends the exposition (`# EOF` in OpenMetrics).
  void finish();

  [[nodiscard]] metrics_format format() const noexcept { return format_; }

 private:
  void name_line(std::string_view suffix);
  void labels_and_value(std::string_view labels, std::string_view extra, std::string_view value);

  metrics_format format_;
  std::string& out_;
  std::string family_{};
  metric_type type_ = metric_type::gauge;
};

/// Appends `value` to `out` escaped for a label value (backslash, quote, newline), with bytes
/// outside printable ASCII replaced by `_` (a label is always valid UTF-8).
void append_label_value(std::string& out, std::string_view value);

/// The series that depend only on a snapshot: every check's, every probe's. Rendered once per
/// generation (a scrape never runs a check).
[[nodiscard]] typed_response render_snapshot_metrics(const render_context& ctx,
                                                     metrics_format format);

/// Adds figures of a transport to a scrape (the built-in server's connections, refusals, bad
/// requests). Called on the scraping thread; must not block.
using metrics_source = std::function<void(metrics_writer&)>;

/// Requests answered by the handler, by endpoint and code: `counts(i, j)` is endpoint `i`
/// (`endpoints[i]`, e.g. "/readyz" or "/readyz/{check}") answered with `codes[j]`.
struct request_counts {
  std::span<const std::string> endpoints;
  std::span<const int> codes;
  std::function<std::uint64_t(std::size_t endpoint, std::size_t code)> count;
};

/// The figures read at scrape time: the engine's, the handler's requests, the transports' and
/// the process' (`process_*`, `vitals_build_info`). Ends the exposition.
void write_live_metrics(metrics_writer& w, const service& svc, const service_info& info,
                        const request_counts& requests, std::span<const metrics_source> sources);

}  // namespace vitals::http::detail
