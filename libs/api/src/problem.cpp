#include "problem.hpp"

#include <array>
#include <utility>

#include "millrace/core/json_string.hpp"
#include "millrace/core/utf8.hpp"
#include "query.hpp"

namespace millrace::api {

namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 17> kTitles = {{
    {"bad_request", "Bad request"},
    {"invalid_parameter", "Invalid query parameter"},
    {"unauthorized", "Missing or wrong bearer token"},
    {"not_found", "Not found"},
    {"method_not_allowed", "Method not allowed"},
    {"not_acceptable", "No acceptable representation"},
    {"conflict", "Conflict with the stored catalog"},
    {"body_too_large", "Request body too large"},
    {"unsupported_media_type", "Unsupported media type"},
    {"malformed_body", "Request body is not JSON"},
    {"invalid_body", "Invalid request body"},
    {"headers_too_large", "Request headers too large"},
    {"internal_error", "Internal error"},
    {"admin_not_configured", "Admin writes are not configured"},
    {"database_unavailable", "Database unavailable"},
    {"busy", "Too many requests waiting for the database"},
    {"timeout", "No answer from the database in time"},
}};

}  // namespace

std::string_view problem_title(std::string_view code) {
  for (const auto& [c, title] : kTitles) {
    if (c == code) return title;
  }
  return "Error";
}

std::string problem_json(const Problem& p) {
  std::string out = "{\"type\":";
  core::append_json_string(out, std::string(kProblemTypePrefix) + std::string(p.code));
  out += ",\"title\":";
  core::append_json_string(out, problem_title(p.code));
  out += ",\"status\":" + std::to_string(p.status) + ",\"detail\":";
  core::append_json_string(out, core::utf8_safe(p.detail));
  if (!p.instance.empty()) {
    out += ",\"instance\":";
    core::append_json_string(out, core::utf8_safe(p.instance));
  }
  if (!p.field.empty()) {
    out += ",\"field\":";
    core::append_json_string(out, core::utf8_safe(p.field));
  }
  out += "}";
  return out;
}

httpd::Reply problem_reply(const Problem& p) {
  httpd::Reply r;
  r.status = p.status;
  r.body = problem_json(p);
  r.content_type = kProblemType;
  return r;
}

}  // namespace millrace::api
