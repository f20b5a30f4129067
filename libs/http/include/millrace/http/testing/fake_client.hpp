#pragma once

// A Client that answers from a function and keeps every request (its body
// copied, its options too), so a consumer's requests and its handling of
// answers are checked without a server.

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "millrace/http/client.hpp"

namespace millrace::http::testing {

struct Seen {
  std::string method;
  std::string url;
  Headers headers;
  std::string body;
  std::string aws_sigv4;
  Options options;

  std::string header(const std::string& name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "<none>";
  }
};

class FakeClient final : public Client {
 public:
  using Answer = std::function<Response(const Seen&)>;
  FakeClient(std::vector<Seen>& seen, Answer answer) : seen_(seen), answer_(std::move(answer)) {}

  Response perform(const Request& r, const Options& options) override {
    seen_.push_back({r.method, r.url, r.headers, std::string(r.body), r.aws_sigv4, options});
    auto response = answer_(seen_.back());
    if (response.url.empty()) response.url = r.url;
    if (r.on_body && response.success()) {
      r.on_body(response.body);
      response.body.clear();
    }
    return response;
  }

 private:
  std::vector<Seen>& seen_;
  Answer answer_;
};

inline Response answer(long status, std::string body = {},
                       std::map<std::string, std::string> headers = {}) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

// No answer: the network failed, or the client refused, for `why`.
inline Response no_answer(Cause cause, std::string why) {
  Response r;
  r.cause = cause;
  r.error = std::move(why);
  return r;
}

}  // namespace millrace::http::testing
