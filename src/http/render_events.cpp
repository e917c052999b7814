// The Server-Sent Events text of /api/v1/events (docs/events.md).

#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>

#include "event_stream.hpp"
#include "render.hpp"

namespace vitals::http::detail {

namespace {

void append_number(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out.append(buf, end);
}

}  // namespace

void append_status_frame(std::string& out, const event_render& how, const status_event& e) {
  nlohmann::ordered_json o = nlohmann::ordered_json::object();
  o["id"] = e.id;
  o["target"] = e.check;
  if (how.catalog != nullptr) {
    if (const auto it = how.catalog->find(e.check); it != how.catalog->end()) {
      o["group"] = it->second.group;
    }
  }
  o["status"] = to_string(e.to);
  o["previous"] = to_string(e.from);
  o["time"] = e.time == std::chrono::system_clock::time_point{}
                  ? nlohmann::ordered_json(nullptr)
                  : nlohmann::ordered_json(rfc3339(e.time));
  o["duration_ms"] = std::chrono::duration<double, std::milli>(e.duration).count();
  if (e.kind != failure_kind::none) o["kind"] = to_string(e.kind);
  if (how.detailed && e.to != status::pass && !e.output.empty()) {
    o["output"] = how.scrubber.scrub(e.output);
  }
  out.append("id: ");
  append_number(out, e.id);
  out.append("\nevent: status\ndata: ");
  // One line: JSON escapes every newline of an output, so the frame cannot be split.
  out.append(o.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  out.append("\n\n");
}

void append_ready_frame(std::string& out, std::uint64_t last_id, bool missed) {
  out.append("id: ");
  append_number(out, last_id);
  out.append("\nevent: ready\ndata: {\"last_id\":");
  append_number(out, last_id);
  out.append(missed ? ",\"missed\":true}\n\n" : ",\"missed\":false}\n\n");
}

std::string event_stream_body(const event_render& how, const event_feed::page& page) {
  std::string body = "retry: " + std::to_string(event_retry_ms) + "\n\n";
  for (const status_event& e : page.events) append_status_frame(body, how, e);
  append_ready_frame(body, page.last_id, page.missed);
  return body;
}

std::string_view event_batch::after(std::uint64_t after, bool detailed) const noexcept {
  const std::string& text = detailed ? detailed_text : public_text;
  const std::vector<std::size_t>& ends = detailed ? detailed_ends : public_ends;
  // Ids of a batch are consecutive and increasing: the first one a stream lacks is found by
  // subtraction.
  if (ids.empty() || after >= ids.back()) return {};
  if (after < ids.front()) return text;
  const auto skip = static_cast<std::size_t>(after - ids.front() + 1);
  return std::string_view{text}.substr(ends[skip - 1]);
}

void render_batch(event_batch& out, const redactor& scrubber, const target_catalog::map* catalog,
                  std::span<const status_event> events) {
  out.clear();
  const event_render shown{scrubber, catalog, false};
  const event_render detailed{scrubber, catalog, true};
  for (const status_event& e : events) {
    append_status_frame(out.public_text, shown, e);
    append_status_frame(out.detailed_text, detailed, e);
    out.ids.push_back(e.id);
    out.public_ends.push_back(out.public_text.size());
    out.detailed_ends.push_back(out.detailed_text.size());
  }
}

}  // namespace vitals::http::detail
