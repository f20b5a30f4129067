#include "api_support.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <pqxx/pqxx>
#include <thread>

namespace millrace::testing::api_tests {

using std::chrono::milliseconds;
using std::chrono::seconds;

int cli(const Pipeline& p, const std::string& args, std::string* out) {
  std::string output;
  const int rc = run_shell("MILLRACE_PG='" + p.env.pg + "' MILLRACE_PG_SCHEMA='" + p.schema + "' " +
                               bin("millrace") + " " + args + " 2>&1",
                           &output);
  INFO("millrace " << args << ":\n" << output.substr(0, 2000));
  if (out != nullptr) *out = output;
  return rc;
}

void exec(const std::string& conninfo, const std::string& schema, const std::string& sql) {
  pqxx::connection c(conninfo);
  pqxx::work tx(c);
  tx.exec("SET search_path TO " + tx.quote_name(schema));
  tx.exec(sql);
  tx.commit();
}

std::vector<std::vector<std::optional<std::string>>> sql_rows(const Pipeline& p,
                                                              const std::string& sql) {
  pqxx::connection c(p.env.pg);
  pqxx::nontransaction tx(c);
  tx.exec("SET search_path TO " + tx.quote_name(p.schema));
  std::vector<std::vector<std::optional<std::string>>> out;
  for (const auto& row : tx.exec(sql)) {
    auto& r = out.emplace_back();
    for (const auto& f : row) {
      r.push_back(f.is_null() ? std::nullopt : std::optional<std::string>(f.c_str()));
    }
  }
  return out;
}

Reply send(httplib::Client& c, const std::string& method, const std::string& path,
           httplib::Headers headers, const std::string& body, const std::string& content_type) {
  httplib::Result r = method == "GET"    ? c.Get(path.c_str(), headers)
                      : method == "POST" ? c.Post(path.c_str(), headers, body, content_type.c_str())
                      : method == "PUT"  ? c.Put(path.c_str(), headers, body, content_type.c_str())
                      : method == "PATCH"
                          ? c.Patch(path.c_str(), headers, body, content_type.c_str())
                          : c.Delete(path.c_str(), headers);
  INFO(method << " " << path << ": " << httplib::to_string(r.error()));
  REQUIRE(r);
  Reply out;
  out.status = r->status;
  out.body = r->body;
  out.content_type = r->get_header_value("Content-Type");
  out.headers = r->headers;
  if (out.content_type.find("json") != std::string::npos && !out.body.empty()) {
    out.json.Parse<rapidjson::kParseNumbersAsStringsFlag>(out.body.c_str());
    INFO(out.body);
    REQUIRE_FALSE(out.json.HasParseError());
  }
  return out;
}

void check_problem(const Reply& r, int status, const std::string& code) {
  INFO(r.body);
  CHECK(r.status == status);
  CHECK(r.content_type == "application/problem+json");
  REQUIRE(r.json.IsObject());
  CHECK(std::string(r.json["type"].GetString()) == "urn:millrace:problem:" + code);
  CHECK(std::string(r.json["status"].GetString()) == std::to_string(status));
  CHECK(r.json.HasMember("title"));
  CHECK(r.json.HasMember("detail"));
}

std::vector<std::vector<std::optional<std::string>>> api_rows(
    const Reply& r, const std::vector<std::string>& cols) {
  std::vector<std::vector<std::optional<std::string>>> out;
  for (const auto& row : r.json["rows"].GetArray()) {
    auto& o = out.emplace_back();
    for (const auto& c : cols) {
      const auto& v = row[c.c_str()];
      o.push_back(v.IsNull() ? std::nullopt : std::optional<std::string>(v.GetString()));
    }
  }
  return out;
}

std::vector<std::string> view_columns(const Pipeline& p, const std::string& view) {
  std::vector<std::string> out;
  for (const auto& r : sql_rows(p,
                                "SELECT column_name FROM information_schema.columns WHERE "
                                "table_schema = current_schema() AND table_name = '" +
                                    view + "' ORDER BY ordinal_position")) {
    out.push_back(*r[0]);
  }
  return out;
}

std::string select_of(const std::vector<std::string>& cols) {
  std::string out;
  for (const auto& c : cols) {
    if (!out.empty()) out += ", ";
    if (c == "window_start" || c == "day") {
      out += "to_char(" + c + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";
    } else {
      out += "\"" + c + "\"";
    }
  }
  return out;
}

Api::Api(Pipeline& p, std::map<std::string, std::string> env, const std::string& name)
    : port_(free_port()) {
  env["MILLRACE_API_ADDR"] = "127.0.0.1:" + std::to_string(port_);
  child_.emplace(p.start("millrace-api", name, env));
  httplib::Client c("127.0.0.1", port_);
  c.set_connection_timeout(seconds(2));
  c.set_read_timeout(seconds(2));
  const auto until = std::chrono::steady_clock::now() + seconds(60);
  while (std::chrono::steady_clock::now() < until) {
    REQUIRE(child_->running());
    if (auto r = c.Get("/healthz"); r && r->status == 200) return;
    std::this_thread::sleep_for(milliseconds(50));
  }
  FAIL("millrace-api did not answer /healthz on port " << port_);
}
httplib::Client Api::client() const {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(seconds(30));
  c.set_keep_alive(true);
  return c;
}
}  // namespace millrace::testing::api_tests
