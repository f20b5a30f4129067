#pragma once

// The port in front of the HTTP client: the dispatcher posts through it, so
// its logic runs in unit tests against a scripted fake.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "millrace/webhooks/schedule.hpp"

namespace millrace::webhooks::detail {

struct Post {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class Sender {
 public:
  virtual ~Sender() = default;
  // One attempt. Never throws for what the network or the receiver does:
  // that is an AttemptResult.
  virtual AttemptResult post(const Post& request) = 0;
};

struct SenderOptions {
  Millis timeout{15000};
  bool allow_private = false;
  std::string user_agent;
};

// libcurl, one easy handle per sender (a delivery worker's), so connections
// to a receiver are reused between requests. Redirects are not followed
// (Standard Webhooks: a 3xx is a failure), proxies from the environment are
// ignored, and every connection's address passes the guard (guard.hpp).
std::unique_ptr<Sender> make_curl_sender(const SenderOptions& options);

}  // namespace millrace::webhooks::detail
