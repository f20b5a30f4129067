#pragma once

// Helpers for integration and fault tests: the stack a user runs, child
// processes of our real binaries, unique names per test.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace millrace::testing {

// Connection settings of the test stack, from `deploy/local/stack env` run
// against MILLRACE_STATE_DIR (set by ctest to the fixture's state dir).
struct StackEnv {
  std::string brokers;
  std::string pg;
  std::string changefeed_pg;   // the change feed's role: LOGIN REPLICATION only
  std::string prometheus_url;  // empty unless the stack runs Prometheus
  std::string redis_url;       // redis://127.0.0.1:<port>
  // Each service's own role (LOGIN only; `millrace grant` gives it the
  // rest): MILLRACE_SINK_PG, MILLRACE_AGGREGATOR_PG, ... to their URLs.
  std::map<std::string, std::string> service_pg;
};
StackEnv stack_env();

// Runs `deploy/local/stack <args>` against the test stack; returns its exit code.
int stack(const std::string& args);

// The pid `deploy/local/stack status` reports for a server of the test stack
// ("kafka", "kafka-2" of a cluster, "postgres", "redis"), or -1 when it is not
// running.
int stack_server_pid(const std::string& server);

// Restarts a stopped server of the test stack when it goes out of scope, even
// when the test failed half-way: the tests after this one share the stack.
struct StackGuard {
  std::string server;
  ~StackGuard() { stack("up " + server); }
};

// "prefix_<pid>_<n>_<random>": a topic, schema and group nobody else uses.
std::string unique_name(std::string_view prefix);

// A TCP port on 127.0.0.1 that was free a moment ago, held against every
// other picker, in this process or another, for 15 minutes
// (tests/pysupport/ports.py).
int free_port();

// GET http://127.0.0.1:port/path; returns the body, throws on failure.
std::string http_get(int port, const std::string& path);

// GET http://127.0.0.1:port/path, whatever its status; status 0 when
// nothing answers.
struct HttpAnswer {
  int status = 0;
  std::string body;
};
HttpAnswer http_answer(int port, const std::string& path);

// Path of one of our binaries: in MILLRACE_TEST_BIN_DIR when that is set and
// holds it (scripts/test runs fault tests against the sink and aggregator
// the sanitizer tree built), else in the build tree.
std::string bin(std::string_view name);

// The log files of the children started since the last clear: when a test
// fails, the failure-logs listener (failure_logs.cpp) prints their tails, so
// a failure in CI carries what the services said.
std::vector<std::string> started_logs();
void clear_started_logs();
// Something to print beside the logs at a failure (a replication slot's
// position, say): `describe` runs then, and must not throw. Registered for
// the lifetime of the returned token.
using FailureNote = std::shared_ptr<std::function<std::string()>>;
FailureNote add_failure_note(std::function<std::string()> describe);
std::vector<std::string> failure_notes();

// A child process running one of our binaries with extra environment.
class Child {
 public:
  Child(const std::string& path, const std::vector<std::string>& args,
        const std::map<std::string, std::string>& env, const std::string& log_path);
  ~Child();
  Child(Child&& other) noexcept;
  Child& operator=(Child&&) = delete;
  Child(const Child&) = delete;

  int pid() const { return pid_; }
  int metrics_port = 0;  // set by whoever gave the child MILLRACE_METRICS_ADDR
  void signal(int sig);
  bool running();
  // Exit status (0..255), 128+signal if killed, nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);

 private:
  int pid_ = -1;
  std::optional<int> status_;
};

// SIGTERM to every child, then true when each exited with status 0 within
// the timeout (the services' clean-shutdown promise).
bool stop_cleanly(const std::vector<Child*>& children,
                  std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Runs a binary to completion; returns exit code and captures stdout.
int run(const std::string& path, const std::vector<std::string>& args,
        const std::map<std::string, std::string>& env, std::string* out);

// The pid of the local process whose TCP connection has local port `port`
// (from `ss`), or -1: which member a PostgreSQL backend's client_port is.
int pid_of_client_port(int port);

// Runs a /bin/sh command line the same way (not system() or popen(), whose
// children would inherit this process's ignored SIGPIPE).
int run_shell(const std::string& command, std::string* out);

std::string read_file(const std::string& path);

// Polls `pred` every 100 ms until it holds or the timeout passes; returns
// whether it held.
template <typename Pred>
bool eventually(Pred pred, std::chrono::seconds timeout) {
  // True as soon as pred() held once: asking again could get another answer
  // (a broker whose metadata lags the controller's still names the old leader).
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// Polls `value` every 100 ms until it reaches `target`; gives up only when
// it has not risen for `stall`. For waits on work whose total time a busy
// machine stretches (thousands of changes to apply): slow progress is not a
// failure, no progress is.
template <typename Value>
bool progresses_to(Value value, double target, std::chrono::seconds stall) {
  double best = value();
  auto last_rise = std::chrono::steady_clock::now();
  for (;;) {
    if (best >= target) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_rise >= stall) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const double v = value();
    if (v > best) {
      best = v;
      last_rise = std::chrono::steady_clock::now();
    }
  }
}

}  // namespace millrace::testing
