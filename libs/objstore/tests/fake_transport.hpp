#pragma once

// A Transport that answers from a function and keeps every request (its
// body copied), so a store's requests are checked without a server.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "http.hpp"

namespace millrace::objstore::testing {

struct Seen {
  std::string method;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string aws_sigv4;

  std::string header(const std::string& name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "<none>";
  }
};

class FakeTransport final : public detail::Transport {
 public:
  using Answer = std::function<detail::HttpResponse(const Seen&)>;
  FakeTransport(std::vector<Seen>& seen, Answer answer) : seen_(seen), answer_(std::move(answer)) {}

  detail::HttpResponse perform(const detail::HttpRequest& r) override {
    seen_.push_back({r.method, r.url, r.headers, std::string(r.body), r.aws_sigv4});
    auto response = answer_(seen_.back());
    if (r.on_body && response.status >= 200 && response.status < 300) {
      r.on_body(response.body);
      response.body.clear();
    }
    return response;
  }

 private:
  std::vector<Seen>& seen_;
  Answer answer_;
};

inline detail::HttpResponse answer(long status, std::string body = {},
                                   std::map<std::string, std::string> headers = {}) {
  detail::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

}  // namespace millrace::objstore::testing
