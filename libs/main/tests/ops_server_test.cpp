// The operations endpoints on a service's metrics port: /healthz without
// asking the service anything, /readyz from its readiness(), /metrics from
// its registry, and a port that is taken refused with the setting named.
#include "millrace/main/ops_server.hpp"

#include <catch2/catch.hpp>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "raw_client.hpp"

using namespace millrace;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using httpd::testing::Client;

namespace {

class FakeService final : public runtime::Service {
 public:
  void start() override {}
  void stop() override {}
  bool wait(std::chrono::milliseconds) override { return false; }
  void rethrow_failure() override {}
  std::vector<runtime::Problem> readiness() const override {
    std::lock_guard lock(mutex_);
    ++asked_;
    return problems_;
  }
  void set(std::vector<runtime::Problem> problems) {
    std::lock_guard lock(mutex_);
    problems_ = std::move(problems);
  }
  int asked() const {
    std::lock_guard lock(mutex_);
    return asked_;
  }

 private:
  mutable std::mutex mutex_;
  mutable int asked_ = 0;
  std::vector<runtime::Problem> problems_;
};

std::string get(int port, const std::string& path) {
  Client c(port);
  c.send(path);
  return c.receive();
}

}  // namespace

TEST_CASE("the ops endpoints answer liveness, readiness and metrics", "[ops]") {
  metrics::Registry registry("ops-test");
  registry.counter("millrace_ops_test_total", "A counter for the test.").inc(3);
  FakeService service;
  main::OpsServer ops("127.0.0.1:0", "--metrics-addr", registry, service);
  REQUIRE(ops.port() > 0);

  auto r = get(ops.port(), "/healthz");
  CHECK_THAT(r, StartsWith("HTTP/1.1 200"));
  CHECK_THAT(r, Contains(R"({"status":"alive"})"));
  CHECK(service.asked() == 0);  // liveness asks the service nothing

  r = get(ops.port(), "/readyz");
  CHECK_THAT(r, StartsWith("HTTP/1.1 200"));
  CHECK_THAT(r, Contains(R"({"status":"ready","problems":[]})"));

  service.set({{"kafka_topic", "topic store-events does not exist",
                "create it with `millrace create-topics`"},
               {"partition", "partition 2 \"halted\"", ""}});
  r = get(ops.port(), "/readyz");
  CHECK_THAT(r, StartsWith("HTTP/1.1 503"));
  CHECK_THAT(r, Contains("Content-Type: application/json"));
  CHECK_THAT(r,
             Contains(R"({"status":"not_ready","problems":[{"check":"kafka_topic",)"
                      R"("detail":"topic store-events does not exist",)"
                      R"("action":"create it with `millrace create-topics`"},)"
                      R"({"check":"partition","detail":"partition 2 \"halted\"","action":""}]})"));

  r = get(ops.port(), "/metrics");
  CHECK_THAT(r, StartsWith("HTTP/1.1 200"));
  CHECK_THAT(r, Contains("millrace_ops_test_total 3"));
  CHECK_THAT(r, Contains("process_open_fds"));

  r = get(ops.port(), "/other");
  CHECK_THAT(r, StartsWith("HTTP/1.1 404"));
  CHECK_THAT(r, Contains("/metrics, /healthz, /readyz"));
  Client post(ops.port());
  REQUIRE(post.send_raw("POST /readyz HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n").empty());
  r = post.receive();
  CHECK_THAT(r, StartsWith("HTTP/1.1 405"));
}

TEST_CASE("an ops port that is taken is refused with the setting named", "[ops]") {
  metrics::Registry registry("ops-test");
  FakeService service;
  main::OpsServer first("127.0.0.1:0", "--metrics-addr", registry, service);
  CHECK_THROWS_WITH(main::OpsServer("127.0.0.1:" + std::to_string(first.port()),
                                    "--metrics-addr / MILLRACE_METRICS_ADDR", registry, service),
                    Contains("--metrics-addr / MILLRACE_METRICS_ADDR"));
}
