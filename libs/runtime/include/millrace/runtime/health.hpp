#pragma once
// What a service's GET /readyz answers (docs/operations.md, "Health"): the
// problems that stop it doing its job now, each named by the check that
// found it, with what to do about it. No problem: ready.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace millrace::runtime {

class Worker;

struct Problem {
  std::string check;   // short snake_case: postgresql, kafka, kafka_topic, slot, redis, partition
  std::string detail;  // what is wrong, as an operator reads it
  std::string action;  // what to do about it (may be empty)

  bool operator==(const Problem&) const = default;
};

// A service's readiness checks. Polled checks run on a thread of their own
// (a runtime::Worker's), every `every`, so /readyz answers from their last results without waiting
// for a database or a broker; pushed problems are set and cleared by the
// service's own threads as they meet them (a halted partition, a lost slot).
//
// Caller contract: poll() before start(); set(), clear() and problems()
// from any thread; stop() (or the destructor) before what the probes use
// goes away. A probe may block up to its own timeouts, never longer.
//
// Each change is logged once as `component`: a problem that appears or
// changes as a warning (with its action), one that clears as "ready again".
class Health {
 public:
  // Returns the problem it found, nullopt when all is well; an exception it
  // throws is reported as a problem of its check with the exception's text.
  using Probe = std::function<std::optional<Problem>()>;

  explicit Health(std::string component);
  ~Health();
  Health(const Health&) = delete;
  Health& operator=(const Health&) = delete;

  void poll(std::string check, Probe probe);
  void set(const std::string& check, std::string detail, std::string action = {});
  void clear(const std::string& check);

  // Runs every probe now on a thread of its own, then every `every` until
  // stop(). Before the first round is done, problems() reports check
  // "starting".
  void start(std::chrono::milliseconds every = std::chrono::milliseconds(2000));
  // One round on the calling thread, before start(): for a service whose
  // start already waits on the same servers, so it is ready when started.
  void check_now();
  void stop();

  // Polled problems first, in the order the checks were added, then pushed
  // ones by check name.
  std::vector<Problem> problems() const;

 private:
  struct Polled {
    std::string check;
    Probe probe;
    std::optional<Problem> last;
  };
  void round();
  void log_change(const std::string& check, const std::optional<Problem>& before,
                  const std::optional<Problem>& after) const;

  std::string component_;
  mutable std::mutex mutex_;
  std::vector<Polled> polled_;  // probes fixed before start(); `last` under mutex_
  std::map<std::string, Problem> pushed_;
  bool first_round_done_ = false;
  bool stopping_ = false;
  std::unique_ptr<Worker> worker_;  // the polling thread, once started
};

}  // namespace millrace::runtime
