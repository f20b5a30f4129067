#include "millrace/runtime/lifecycle.hpp"

namespace millrace::runtime {

Lifecycle::~Lifecycle() {
  stop();
  while (!parts_.empty()) parts_.pop_back();
}

void Lifecycle::start() {
  try {
    while (started_ < parts_.size()) {
      parts_[started_]->start();
      ++started_;
    }
  } catch (...) {
    // Not carrying on: the parts already started are stopped, and the
    // failure goes on to the caller (DEVELOPERS.md, "Errors").
    stop();
    throw;
  }
}

void Lifecycle::stop() {
  while (started_ > 0) {
    --started_;
    parts_[started_]->stop();
  }
}

bool Lifecycle::failed() const {
  for (const auto& part : parts_) {
    if (part->failed()) return true;
  }
  return false;
}

void Lifecycle::rethrow_failure() {
  for (const auto& part : parts_) part->rethrow_failure();
}

}  // namespace millrace::runtime
