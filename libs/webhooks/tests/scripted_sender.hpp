#pragma once

// A Sender for the dispatch rules' unit tests: answers from a script (200
// once it is used up), and keeps every request.

#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "sender.hpp"

namespace millrace::webhooks::detail {

class ScriptedSender final : public Sender {
 public:
  std::deque<AttemptResult> answers;
  std::vector<Post> posts;
  std::chrono::milliseconds delay{0};  // before each answer
  std::function<void()> before;        // called at each request, if set
  AttemptResult post(const Post& request) override {
    if (before) before();
    posts.push_back(request);
    std::this_thread::sleep_for(delay);
    if (answers.empty()) return {200, "", std::nullopt};
    auto a = answers.front();
    answers.pop_front();
    return a;
  }
  // Each request's webhook-id, in order.
  std::vector<std::string> ids() const {
    std::vector<std::string> out;
    for (const auto& p : posts) {
      for (const auto& [name, value] : p.headers) {
        if (name == "webhook-id") out.push_back(value);
      }
    }
    return out;
  }
};

}  // namespace millrace::webhooks::detail
