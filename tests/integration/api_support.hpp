#pragma once

// What millrace-api's integration tests share: the CLI on a pipeline's
// schema, SQL's rows to compare with, requests and their replies, and the
// API's process.

#include <httplib.h>
#include <rapidjson/document.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness.hpp"
#include "pipeline.hpp"

namespace millrace::testing::api_tests {

// `millrace <args>` on `p`'s schema, its output (with stderr) in `out`;
// returns its exit code.
int cli(const Pipeline& p, const std::string& args, std::string* out = nullptr);

void exec(const std::string& conninfo, const std::string& schema, const std::string& sql);

std::vector<std::vector<std::optional<std::string>>> sql_rows(const Pipeline& p,
                                                              const std::string& sql);

struct Reply {
  int status = 0;
  std::string body;
  std::string content_type;
  httplib::Headers headers;
  rapidjson::Document json;  // numbers as their literal text
};

Reply send(httplib::Client& c, const std::string& method, const std::string& path,
           httplib::Headers headers = {}, const std::string& body = {},
           const std::string& content_type = "application/json");

// A problem+json body of `status` whose type ends in `code`.
void check_problem(const Reply& r, int status, const std::string& code);

// The API's rows of a view as text (numbers as their literal), for
// comparison with SQL's.
std::vector<std::vector<std::optional<std::string>>> api_rows(const Reply& r,
                                                              const std::vector<std::string>& cols);

std::vector<std::string> view_columns(const Pipeline& p, const std::string& view);

// SELECT list with timestamps as the API prints them.
std::string select_of(const std::vector<std::string>& cols);

class Api {
 public:
  Api(Pipeline& p, std::map<std::string, std::string> env, const std::string& name);
  httplib::Client client() const;
  Child& child() { return *child_; }

 private:
  int port_;
  std::optional<Child> child_;
};

}  // namespace millrace::testing::api_tests
