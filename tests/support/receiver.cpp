#include "receiver.hpp"

#include <httplib.h>

#include <cctype>
#include <stdexcept>

#include "millrace/webhooks/signature.hpp"

namespace millrace::testing {

struct Receiver::Server {
  httplib::Server http;
};

Receiver::Receiver(int port) : server_(std::make_unique<Server>()) {
  server_->http.Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
    Received r;
    r.path = req.path;
    r.id = req.get_header_value("webhook-id");
    r.timestamp = req.get_header_value("webhook-timestamp");
    r.signature = req.get_header_value("webhook-signature");
    r.body = req.body;
    for (const auto& [name, value] : req.headers) {
      std::string lower = name;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      r.headers.emplace(std::move(lower), value);
    }
    std::function<void(const std::string&)> arrival;
    {
      std::lock_guard lock(mutex_);
      arrival = on_arrival_;
    }
    if (arrival) arrival(r.path);
    r.at = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    const auto& secrets = secrets_[r.path];
    std::int64_t ts = 0;
    try {
      ts = std::stoll(r.timestamp);
    } catch (const std::exception&) {
      ts = -1;
    }
    for (std::size_t i = 0; i < secrets.size(); ++i) {
      if (ts >= 0 && webhooks::verify(r.signature, secrets[i], r.id, ts, r.body)) {
        r.verified_with.push_back(i);
      }
    }
    const int repeats = seen_[r.path][r.id]++;
    Answer a;
    if (r.verified_with.empty()) {
      a.status = 401;  // as a real receiver would: never act on an unsigned request
    } else if (const auto it = scripts_.find(r.path); it != scripts_.end()) {
      a = it->second(r, repeats);
    }
    r.answered = a.status;
    requests_[r.path].push_back(r);
    res.status = a.status;
    if (a.retry_after_s) res.set_header("Retry-After", std::to_string(*a.retry_after_s));
    res.set_content(a.body, "text/plain");
  });
  if (port == 0) {
    port_ = server_->http.bind_to_any_port("127.0.0.1");
  } else if (server_->http.bind_to_port("127.0.0.1", port)) {
    port_ = port;
  }
  if (port_ <= 0) throw std::runtime_error("test receiver: cannot listen");
  thread_ = std::thread([this] { server_->http.listen_after_bind(); });
}

Receiver::~Receiver() {
  server_->http.stop();
  if (thread_.joinable()) thread_.join();
}

std::string Receiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void Receiver::set_secrets(const std::string& path, std::vector<std::string> secrets) {
  std::lock_guard lock(mutex_);
  secrets_[path] = std::move(secrets);
}

void Receiver::script(const std::string& path,
                      std::function<Answer(const Received&, int repeats)> answer) {
  std::lock_guard lock(mutex_);
  scripts_[path] = std::move(answer);
}

void Receiver::on_arrival(std::function<void(const std::string& path)> hook) {
  std::lock_guard lock(mutex_);
  on_arrival_ = std::move(hook);
}

std::vector<Received> Receiver::requests(const std::string& path) const {
  std::lock_guard lock(mutex_);
  const auto it = requests_.find(path);
  return it == requests_.end() ? std::vector<Received>{} : it->second;
}

std::vector<std::string> Receiver::accepted_ids(const std::string& path) const {
  std::vector<std::string> ids;
  for (const auto& r : requests(path)) {
    if (r.answered >= 200 && r.answered < 300) ids.push_back(r.id);
  }
  return ids;
}

}  // namespace millrace::testing
