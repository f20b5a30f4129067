#pragma once

// The port the dispatcher posts through, so its logic runs in unit tests
// against a scripted fake; make_http_sender() puts it on the HTTP client.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "millrace/http/client.hpp"
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

// Posts through `client` (http::make_client() for a delivery worker's own,
// so connections to a receiver are reused between requests). Redirects are
// not followed (Standard Webhooks: a 3xx is a failure), proxies from the
// environment are ignored, every connection's address passes the guard
// (guard.hpp) unless `allow_private`, and `timeout` bounds both the
// connection and the whole exchange.
std::unique_ptr<Sender> make_http_sender(const SenderOptions& options,
                                         std::unique_ptr<http::Client> client);

}  // namespace millrace::webhooks::detail
