#pragma once
// The parts of a service and the order they start and stop in
// (DEVELOPERS.md, "Lifecycle"): a service is a Lifecycle of parts, each
// started in the order it was added and stopped in reverse.

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace millrace::runtime {

// Caller contract for a part: start() may throw (the service then does not
// start); stop() is idempotent and does not throw; a part that can end by
// itself on a fatal error reports it through failed() and rethrows it from
// rethrow_failure(). Each of the four is optional: a part without start()
// has nothing to start.
class Lifecycle {
 public:
  Lifecycle() = default;
  // Stops what is started, then destroys the parts in reverse order of
  // adding, so a part may refer to any part added before it.
  ~Lifecycle();
  Lifecycle(const Lifecycle&) = delete;
  Lifecycle& operator=(const Lifecycle&) = delete;

  // Adds `part`, owned. Returns it, for the parts added after it to refer to.
  template <typename T>
  T& add(std::unique_ptr<T> part) {
    T& ref = *part;
    parts_.push_back(std::make_unique<Owned<T>>(std::move(part)));
    return ref;
  }
  // Keeps `value` alive as long as the parts (a configuration they refer
  // to, say); it has no start or stop.
  template <typename T>
  T& keep(T value) {
    return add(std::make_unique<T>(std::move(value)));
  }

  // Starts the parts in order. When one throws, those already started are
  // stopped in reverse and the exception goes on.
  void start();
  // Stops the started parts in reverse order. Idempotent.
  void stop();
  // True once a part has failed (it ended by itself).
  bool failed() const;
  // Rethrows the first failure, in the order the parts were added.
  void rethrow_failure();

 private:
  struct Part {
    virtual ~Part() = default;
    virtual void start() = 0;
    virtual void stop() = 0;
    virtual bool failed() const = 0;
    virtual void rethrow_failure() = 0;
  };
  template <typename T>
  struct Owned final : Part {
    explicit Owned(std::unique_ptr<T> p) : part(std::move(p)) {}
    void start() override {
      if constexpr (requires(T & t) { t.start(); }) part->start();
    }
    void stop() override {
      if constexpr (requires(T & t) { t.stop(); }) part->stop();
    }
    bool failed() const override {
      if constexpr (requires(const T& t) { t.failed(); }) {
        return part->failed();
      } else {
        return false;
      }
    }
    void rethrow_failure() override {
      if constexpr (requires(T & t) { t.rethrow_failure(); }) part->rethrow_failure();
    }
    std::unique_ptr<T> part;
  };

  std::vector<std::unique_ptr<Part>> parts_;
  std::size_t started_ = 0;  // parts_[0, started_) are running
};

}  // namespace millrace::runtime
