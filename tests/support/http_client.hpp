#pragma once

// Talking to a running millrace-producer from a test: start it on a free
// port, post bodies, read JSON replies. cpp-httplib is the client, so the
// tests share no code with the server they test.

#include <httplib.h>
#include <rapidjson/document.h>

#include <map>
#include <optional>
#include <string>

#include "pipeline.hpp"

namespace millrace::testing {

// millrace-producer for `p`'s topic, answering /healthz when constructed.
class ProducerService {
 public:
  ProducerService(Pipeline& p, std::map<std::string, std::string> extra);

  httplib::Client client() const;
  Child& child() { return *child_; }
  int port() const { return port_; }

 private:
  int port_;
  std::optional<Child> child_;
};

struct HttpReply {
  int status = 0;
  rapidjson::Document json;
  httplib::Headers headers;
};

// POSTs `body`; the request must get an answer whose body is JSON.
HttpReply post(httplib::Client& c, const std::string& path, const std::string& body,
               const std::string& content_type, httplib::Headers headers = {});

// A string member of a JSON object, "" when absent.
std::string str(const rapidjson::Value& v, const char* key);

}  // namespace millrace::testing
