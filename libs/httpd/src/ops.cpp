#include "millrace/httpd/ops.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <utility>

namespace millrace::httpd {

namespace {

constexpr std::string_view kJson = "application/json";

std::string problems_json(const std::vector<runtime::Problem>& problems) {
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  w.StartObject();
  w.Key("status");
  w.String(problems.empty() ? "ready" : "not_ready");
  w.Key("problems");
  w.StartArray();
  for (const auto& p : problems) {
    w.StartObject();
    w.Key("check");
    w.String(p.check.c_str(), static_cast<rapidjson::SizeType>(p.check.size()));
    w.Key("detail");
    w.String(p.detail.c_str(), static_cast<rapidjson::SizeType>(p.detail.size()));
    w.Key("action");
    w.String(p.action.c_str(), static_cast<rapidjson::SizeType>(p.action.size()));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(out.GetString(), out.GetSize()) + "\n";
}

std::string error_json(std::string_view code, std::string_view detail) {
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  w.StartObject();
  w.Key("error");
  w.String(code.data(), static_cast<rapidjson::SizeType>(code.size()));
  w.Key("detail");
  w.String(detail.data(), static_cast<rapidjson::SizeType>(detail.size()));
  w.EndObject();
  return std::string(out.GetString(), out.GetSize()) + "\n";
}

}  // namespace

Reply liveness_reply() {
  return Reply{200, "{\"status\":\"alive\"}\n", kJson, {}, false};
}

Reply readiness_reply(const std::vector<runtime::Problem>& problems) {
  return Reply{problems.empty() ? 200 : 503, problems_json(problems), kJson, {}, false};
}

Reply metrics_reply(const metrics::Registry& registry) {
  return Reply{200, registry.scrape(), "text/plain; version=0.0.4; charset=utf-8", {}, false};
}

Reply ops_refusal(int status, std::string_view code, std::string_view detail) {
  return Reply{status, error_json(code, detail), kJson, {}, false};
}

}  // namespace millrace::httpd
