#pragma once
// Private: the answer of the read API's JSON bodies (render_api.cpp, render_history.cpp).

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "response.hpp"

namespace vitals::http::detail {

/// `doc` as a 200 application/json answer, one line and a newline. Invalid UTF-8 is replaced
/// rather than thrown on: an output is whatever a peer sent us.
[[nodiscard]] inline typed_response json_answer(const nlohmann::ordered_json& doc) {
  std::string body = doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  body.push_back('\n');
  return make_typed(200, "application/json", std::move(body));
}

}  // namespace vitals::http::detail
