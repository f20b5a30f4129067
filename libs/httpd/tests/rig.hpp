#pragma once
// The httpd tests' server: a Handler that lets through requests with
// "Authorization: Bearer t" and answers each with its body's size, on a
// Server that runs for the Rig's lifetime.

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/httpd/server.hpp"

namespace millrace::httpd::testing {

// Lets through requests with "Authorization: Bearer t" (else 401 before the
// body) and answers each with the size of the body it got.
class GuardedHandler final : public Handler {
 public:
  std::optional<Reply> screen(const Request& request) override {
    if (request.header("Authorization") == std::optional<std::string_view>("Bearer t")) {
      return std::nullopt;
    }
    Reply r;
    r.status = 401;
    r.body = R"({"refused":"unauthorized"})";
    return r;
  }
  void handle(const Request& request, const std::shared_ptr<Exchange>& exchange) override {
    {
      std::lock_guard lock(mutex_);
      handled_.push_back(std::string(request.method()) + " " + std::string(request.path()) + " " +
                         std::to_string(request.body().size()));
    }
    Reply r;
    r.body = "{\"body_bytes\":" + std::to_string(request.body().size()) + "}";
    exchange->reply(std::move(r));
  }
  Reply refusal(int, std::string_view code, std::string_view) const override {
    Reply r;
    r.body = std::string(R"({"refused":")") + std::string(code) + "\"}";
    return r;
  }
  void answered(std::string_view, int, std::chrono::steady_clock::duration) noexcept override {}
  void connection_refused() noexcept override { ++refused_connections; }
  void tls_failed(std::string_view) noexcept override { ++tls_failures; }

  std::vector<std::string> handled() {
    std::lock_guard lock(mutex_);
    return handled_;
  }

  std::atomic<int> refused_connections{0};
  std::atomic<int> tls_failures{0};

 private:
  std::mutex mutex_;
  std::vector<std::string> handled_;
};

struct Rig {
  explicit Rig(ServerOptions options) : server(options, handler) { server.start(); }
  ~Rig() { server.stop(std::chrono::seconds(1)); }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  GuardedHandler handler;
  Server server;
};

inline const std::string kAuthorized = "Authorization: Bearer t\r\n";

inline std::string post(const std::string& body, const std::string& extra_headers = kAuthorized) {
  return "POST /events HTTP/1.1\r\nHost: t\r\n" + extra_headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

inline bool starts_with(const std::string& s, std::string_view prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace millrace::httpd::testing
