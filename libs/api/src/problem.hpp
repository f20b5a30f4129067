#pragma once

// Errors as RFC 9457 problem details (application/problem+json): every
// error millrace-api answers, its own refusals and the HTTP server's alike,
// so a client reads one shape. docs/api.md lists the types.

#include <string>
#include <string_view>

#include "millrace/httpd/server.hpp"

namespace millrace::api {

inline constexpr std::string_view kProblemType = "application/problem+json";
// A problem's "type" is this prefix and its code: "urn:millrace:problem:not_found".
inline constexpr std::string_view kProblemTypePrefix = "urn:millrace:problem:";

struct Problem {
  int status = 500;
  std::string_view code;  // snake_case, e.g. "not_found"; also the end of "type"
  std::string detail;
  std::string instance;  // the request's path, when known
  std::string field;     // 400 and 422: the parameter or body field at fault
};

// {"type","title","status","detail"[,"instance"][,"field"]}.
std::string problem_json(const Problem& problem);
// The title of a code: the same for every occurrence of it (RFC 9457 3.1.3).
std::string_view problem_title(std::string_view code);
httpd::Reply problem_reply(const Problem& problem);

}  // namespace millrace::api
