#include "http_client.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

namespace millrace::testing {

using std::chrono::milliseconds;
using std::chrono::seconds;

ProducerService::ProducerService(Pipeline& p, std::map<std::string, std::string> extra)
    : port_(free_port()) {
  extra["MILLRACE_HTTP_ADDR"] = "127.0.0.1:" + std::to_string(port_);
  child_.emplace(p.start("millrace-producer", "producer-" + std::to_string(port_), extra));
  const auto until = std::chrono::steady_clock::now() + seconds(60);
  httplib::Client c("127.0.0.1", port_);
  // httplib waits 300 s for a connection by default: this loop's deadline
  // must hold even if the port accepts and never answers.
  c.set_connection_timeout(seconds(2));
  c.set_read_timeout(seconds(2));
  while (std::chrono::steady_clock::now() < until) {
    REQUIRE(child_->running());
    if (auto r = c.Get("/healthz"); r && r->status == 200) return;
    std::this_thread::sleep_for(milliseconds(50));
  }
  FAIL("millrace-producer did not answer /healthz on port " << port_);
}

httplib::Client ProducerService::client() const {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(seconds(60));
  c.set_keep_alive(true);
  return c;
}

HttpReply post(httplib::Client& c, const std::string& path, const std::string& body,
               const std::string& content_type, httplib::Headers headers) {
  auto r = c.Post(path.c_str(), headers, body, content_type.c_str());
  INFO("POST " << path << ": " << httplib::to_string(r.error()));
  REQUIRE(r);
  HttpReply out;
  out.status = r->status;
  out.headers = r->headers;
  out.json.Parse(r->body.c_str());
  INFO("response body: " << r->body);
  REQUIRE_FALSE(out.json.HasParseError());
  return out;
}

std::string str(const rapidjson::Value& v, const char* key) {
  return v.HasMember(key) ? v[key].GetString() : "";
}

}  // namespace millrace::testing
