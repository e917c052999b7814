// SVG badges of `/badge/<target>` (docs/api.md): a label on grey and a value on a colour, in the
// flat style READMEs and wikis show (the layout of shields.io's, drawn here: two boxes and four
// texts). Text widths come from a table of Verdana 11 px advance widths, so the boxes fit
// without a font at hand.
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>

#include "render.hpp"

namespace vitals::http::detail {

namespace {

// Advance widths of Verdana at 11 px, in tenths of a pixel, for ASCII 32..126 (measured from the
// font's metrics: 2048 units per em scaled to 11 px); other bytes count as an average letter.
constexpr std::array<std::uint8_t, 95> verdana_11{
    38,  43, 50, 90, 70, 121, 80, 29,  50, 50, 70, 90, 40, 50,  40, 50,  // ' ' .. '/'
    70,  70, 70, 70, 70, 70,  70, 70,  70, 70, 50, 50, 90, 90,  90, 60,  // '0' .. '?'
    110, 75, 75, 77, 85, 70,  63, 85,  83, 46, 50, 76, 61, 94,  82, 87,  // '@' .. 'O'
    66,  87, 77, 75, 68, 81,  75, 109, 75, 68, 75, 50, 50, 50,  90, 70,  // 'P' .. '_'
    70,  66, 68, 58, 68, 65,  39, 68,  70, 30, 37, 65, 30, 107, 70, 67,  // '`' .. 'o'
    68,  68, 47, 57, 43, 70,  65, 90,  65, 65, 58, 70, 50, 70,  90};     // 'p' .. '~'

double text_width(std::string_view text) {
  int tenths = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 32 && c <= 126) {
      tenths += verdana_11[c - 32];
    } else if (c >= 0xC0 || c < 0x80) {
      tenths += 70;  // the first byte of a UTF-8 sequence, or a control byte
    }
  }
  return tenths / 10.0;
}

std::string num(double v) {
  std::string s = std::to_string(std::round(v * 10.0) / 10.0);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

void markup_escape_into(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters are not XML text.
        out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    }
  }
}

std::string latency_text(std::chrono::nanoseconds d) {
  const double ms = std::chrono::duration<double, std::milli>(d).count();
  char buf[32];
  if (ms >= 1000) {
    std::snprintf(buf, sizeof buf, "%.2f s", ms / 1000);
  } else if (ms >= 10) {
    std::snprintf(buf, sizeof buf, "%.0f ms", ms);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f ms", ms);
  }
  return buf;
}

std::string percent_text(double ratio, int decimals) {
  const double scale = std::pow(10.0, decimals);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals,
                std::floor(ratio * 100.0 * scale + 1e-6) / scale);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
  }
  return s + "%";
}

typed_response render_badge(int status_code, std::string_view label, std::string_view value,
                            std::string_view color) {
  constexpr double pad = 10;  // 5 px on each side of a text
  const double lw = std::round(text_width(label) + pad);
  const double vw = std::round(text_width(value) + pad);
  const double w = lw + vw;
  std::string esc_label;
  markup_escape_into(esc_label, label);
  std::string esc_value;
  markup_escape_into(esc_value, value);
  std::string svg;
  svg.reserve(1024);
  svg += R"~(<svg xmlns="http://www.w3.org/2000/svg" width=")~" + num(w) +
         R"~(" height="20" role="img" aria-label=")~" + esc_label + ": " + esc_value + R"~(">)~";
  svg += "<title>" + esc_label + ": " + esc_value + "</title>";
  svg += R"~(<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" )~"
         R"~(stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>)~";
  svg += R"~(<clipPath id="r"><rect width=")~" + num(w) +
         R"~(" height="20" rx="3" fill="#fff"/></clipPath>)~";
  svg += R"~(<g clip-path="url(#r)"><rect width=")~" + num(lw) +
         R"~(" height="20" fill="#555"/><rect x=")~" + num(lw) + R"~(" width=")~" + num(vw) +
         R"~(" height="20" fill=")~" + std::string{color} + R"~("/><rect width=")~" + num(w) +
         R"~(" height="20" fill="url(#s)"/></g>)~";
  svg += R"~(<g fill="#fff" text-anchor="middle" )~"
         R"~(font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">)~";
  for (const auto& [x, text] :
       {std::pair{lw / 2, &esc_label}, std::pair{lw + vw / 2, &esc_value}}) {
    svg += R"~(<text x=")~" + num(x) + R"~(" y="15" fill="#010101" fill-opacity=".3">)~" + *text +
           "</text>";
    svg += R"~(<text x=")~" + num(x) + R"~(" y="14">)~" + *text + "</text>";
  }
  svg += "</g></svg>\n";
  typed_response r = make_typed(status_code, "image/svg+xml", std::move(svg));
  // Cacheable by README renderers and proxies (the answer holds no secret), for a minute: a
  // change of status shows within one.
  for (auto& h : r.headers) {
    if (h.name == "Cache-Control") h.value = "public, max-age=60";
  }
  return r;
}

std::string_view badge_color_of(status s) noexcept {
  switch (s) {
    case status::pass:
      return "#4c1";
    case status::warn:
      return "#dfb317";
    case status::fail:
      return "#e05d44";
    case status::unknown:
      break;
  }
  return "#9f9f9f";
}

std::string_view badge_word_of(status s) noexcept {
  switch (s) {
    case status::pass:
      return "up";
    case status::warn:
      return "degraded";
    case status::fail:
      return "down";
    case status::unknown:
      break;
  }
  return "unknown";
}

std::string_view badge_color_of_ratio(double ratio) noexcept {
  if (ratio >= 0.999) return "#4c1";
  if (ratio >= 0.99) return "#97ca00";
  if (ratio >= 0.95) return "#dfb317";
  if (ratio >= 0.90) return "#fe7d37";
  return "#e05d44";
}

}  // namespace vitals::http::detail
