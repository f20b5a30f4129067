// millrace-producer against librdkafka's mock cluster: when the broker stops
// acknowledging, a request must get its 503 at its deadline (not hang, not
// crash the service), a client that gives up mid-request must cost nothing,
// and the service must serve again once the broker answers.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <set>
#include <thread>

#include "http_client.hpp"
#include "mock_cluster.hpp"
#include "pipeline.hpp"
#include "store_events.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr std::int32_t kBroker = 1;  // the mock's broker ids start at 1

// A POST written to a fresh connection that is closed at once, before any
// answer: a client that gave up.
void post_and_vanish(int port, const std::string& body) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string request =
      "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  REQUIRE(::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
  std::this_thread::sleep_for(milliseconds(100));  // the service has it queued by now
  ::close(fd);
}

}  // namespace

TEST_CASE("HTTP ingest: a broker that stops acknowledging, then recovers", "[http-outage]") {
  MockCluster mock(1);
  Pipeline p("ft_http", mock.bootstraps(), 4);
  REQUIRE(rd_kafka_mock_topic_create(mock.cluster, p.topic.c_str(), 4, 1) == 0);

  auto gen = store_event_generator({.seed = 77});
  const auto next_event = [&] { return gen.next().payload; };

  ProducerService svc(p, {{"MILLRACE_PRODUCE_TIMEOUT_MS", "1000"}});
  auto c = svc.client();
  const std::string json = "application/json";
  REQUIRE(post(c, "/v1/events", next_event(), json).status == 200);

  // Every response from the broker now takes 8 s: longer than a request's
  // deadline (the produce timeout plus a second).
  REQUIRE(rd_kafka_mock_broker_set_rtt(mock.cluster, kBroker, 8000) == 0);
  std::this_thread::sleep_for(milliseconds(200));

  post_and_vanish(svc.port(), next_event());
  auto slow = svc.client();
  const auto r = post(slow, "/v1/events", next_event(), json);
  CHECK(r.status == 503);
  CHECK(r.headers.count("Retry-After") == 1);
  CHECK(r.json["failed"].GetInt() == 1);
  const auto& result = r.json["results"][0];
  CHECK(str(result, "status") == "failed");
  // Either the service's deadline or librdkafka's own verdict, whichever
  // came first; both mean "not known to be in Kafka: retry".
  CHECK(std::set<std::string>{"timeout", "delivery_failed"}.count(str(result, "reason")) == 1);

  // Readiness follows the broker: metadata cannot be had in time.
  httplib::Client probe("127.0.0.1", svc.port());
  CHECK(eventually(
      [&] {
        auto pr = probe.Get("/readyz");
        return pr && pr->status == 503;
      },
      seconds(20)));
  // The rest of the service answers throughout.
  auto health = probe.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);

  REQUIRE(rd_kafka_mock_broker_set_rtt(mock.cluster, kBroker, 0) == 0);
  CHECK(eventually(
      [&] {
        auto pr = probe.Get("/readyz");
        return pr && pr->status == 200;
      },
      seconds(30)));
  auto fresh = svc.client();
  int status = 0;
  CHECK(eventually(
      [&] {
        status = post(fresh, "/v1/events", next_event(), json).status;
        return status == 200;
      },
      seconds(30)));
  CHECK(status == 200);

  REQUIRE(svc.child().running());
  svc.child().signal(SIGTERM);
  CHECK(svc.child().wait(seconds(30)) == 0);
}

TEST_CASE("HTTP ingest: a fatal producer error costs the events it held, not the service",
          "[http-producer-renewal]") {
  MockCluster mock(1);
  Pipeline p("ft_renew", mock.bootstraps(), 4);
  REQUIRE(rd_kafka_mock_topic_create(mock.cluster, p.topic.c_str(), 4, 1) == 0);
  auto gen = store_event_generator({.seed = 78});
  const auto next_event = [&] { return gen.next().payload; };
  ProducerService svc(p, {});
  auto c = svc.client();
  const std::string json = "application/json";
  REQUIRE(post(c, "/v1/events", next_event(), json).status == 200);

  // The broker answers the next produce with an out-of-order sequence: the
  // idempotent producer's "sequence desynchronization", fatal in librdkafka
  // 2.0.2 (the nemesis met it after a broker was cut off mid-request).
  constexpr std::int16_t kProduceApi = 0;
  rd_kafka_mock_push_request_errors(mock.cluster, kProduceApi, 1,
                                    RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
  const auto lost = post(c, "/v1/events", next_event(), json);
  CHECK(lost.status == 503);
  REQUIRE(lost.json.HasMember("results"));
  CHECK(str(lost.json["results"][0], "status") == "failed");

  // The service stays up with a new producer: the event sent again is written.
  int status = 0;
  CHECK(eventually(
      [&] {
        status = post(c, "/v1/events", next_event(), json).status;
        return status == 200;
      },
      seconds(30)));
  CHECK(status == 200);
  REQUIRE(svc.child().running());
  httplib::Client probe("127.0.0.1", svc.port());
  auto metrics = probe.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("millrace_producer_renewals_total 1") != std::string::npos);
  svc.child().signal(SIGTERM);
  CHECK(svc.child().wait(seconds(30)) == 0);
}
