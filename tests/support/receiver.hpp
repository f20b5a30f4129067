#pragma once

// A webhook receiver for the tests: an HTTP server on 127.0.0.1 that checks
// every request's Standard Webhooks signature against the secrets it was
// given, keeps every request, and answers each as its path's script says.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace millrace::testing {

struct Received {
  std::string path;
  std::string id, timestamp, signature, body;
  std::map<std::string, std::string> headers;  // every header, names in lower case
  // Which of the path's secrets the signature verifies with (indexes into
  // the secrets set when it arrived); empty: none, a forged or broken one.
  std::vector<std::size_t> verified_with;
  std::chrono::steady_clock::time_point at;
  int answered = 0;
};

struct Answer {
  Answer() = default;
  Answer(int status_, std::optional<int> retry_after = std::nullopt, std::string body_ = {})
      : status(status_), retry_after_s(retry_after), body(std::move(body_)) {}
  int status = 200;
  std::optional<int> retry_after_s;
  std::string body;  // as text/plain, its bytes as given
};

class Receiver {
 public:
  // Listens on `port` (0: a free one) at once.
  explicit Receiver(int port = 0);
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path) const;

  // The secrets a path's requests are checked against, the current one
  // first (a receiver switching keys accepts either for a while).
  void set_secrets(const std::string& path, std::vector<std::string> secrets);
  // How a path answers; the default is 200. Called under the receiver's
  // lock with the request and how many earlier requests had its id.
  void script(const std::string& path, std::function<Answer(const Received&, int repeats)> answer);
  // Runs as each request arrives, before it is looked at and answered, and
  // outside the receiver's lock: a test may hold a request back in it while
  // it reads what the receiver has.
  void on_arrival(std::function<void(const std::string& path)> hook);

  std::vector<Received> requests(const std::string& path) const;
  // The ids a path answered 2xx, in arrival order (repeats included).
  std::vector<std::string> accepted_ids(const std::string& path) const;

 private:
  struct Server;
  std::unique_ptr<Server> server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::string>> secrets_;
  std::map<std::string, std::function<Answer(const Received&, int)>> scripts_;
  std::function<void(const std::string&)> on_arrival_;  // under mutex_; called outside it
  std::map<std::string, std::vector<Received>> requests_;
  std::map<std::string, std::map<std::string, int>> seen_;
};

}  // namespace millrace::testing
