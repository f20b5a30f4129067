// millrace-producer under load and in operation: a full queue answering 503,
// health, readiness and metrics, and SIGTERM with requests in flight.
#include <httplib.h>
#include <rapidjson/document.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness.hpp"
#include "http_client.hpp"
#include "http_support.hpp"
#include "millrace/core/partitioner.hpp"
#include "pipeline.hpp"
#include "scrape.hpp"
#include "store_events.hpp"

using namespace millrace;
using namespace millrace::testing;
using namespace millrace::testing::http_tests;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("a full producer queue answers 503 at once and reports what was queued", "[http]") {
  Pipeline p("it_http");
  // A long linger keeps the first messages in the queue while the request
  // fills it.
  ProducerService svc(
      p, {{"MILLRACE_QUEUE_MAX_MESSAGES", "5"}, {"MILLRACE_KAFKA_PROPERTIES", "linger.ms=200"}});
  auto c = svc.client();
  const auto events = make_events(501, 20, /*embed=*/true);
  auto r = post(c, "/v1/events", json_array(events, 0, 20), "application/json");
  REQUIRE(r.status == 503);
  CHECK(r.headers.count("Retry-After") == 1);
  const int accepted_count = r.json["accepted"].GetInt();
  CHECK(accepted_count >= 5);
  CHECK(r.json["failed"].GetInt() == 20 - accepted_count);
  // The accepted ones are a prefix (nothing is queued after the first
  // refusal), each with its offset; the rest are queue_full.
  const auto& res = r.json["results"];
  REQUIRE(res.Size() == 20);
  for (rapidjson::SizeType i = 0; i < 20; ++i) {
    INFO("result " << i);
    if (static_cast<int>(i) < accepted_count) {
      CHECK(str(res[i], "status") == "accepted");
      CHECK(res[i].HasMember("offset"));
    } else {
      CHECK(str(res[i], "status") == "failed");
      CHECK(str(res[i], "reason") == "queue_full");
      CHECK(str(res[i], "id") == events[i].id);
    }
  }
  CHECK(p.records_in_topic() == accepted_count);
  const auto records = read_all(p);
  for (int i = 0; i < accepted_count; ++i) {
    check_routed(records, events[static_cast<std::size_t>(i)], p.partitions,
                 events[static_cast<std::size_t>(i)].body);
  }
}

TEST_CASE("health, readiness and metrics", "[http]") {
  Pipeline p("it_http");
  ProducerService svc(p, {});
  auto c = svc.client();
  auto hr = c.Get("/healthz");
  REQUIRE(hr);
  CHECK(hr->status == 200);
  CHECK(hr->body == "{\"status\":\"alive\"}\n");
  hr = c.Get("/readyz");
  REQUIRE(hr);
  CHECK(hr->status == 200);

  const auto events = make_events(401, 12, /*embed=*/true);
  auto r = post(c, "/v1/events", json_array(events, 0, 10), "application/json");
  REQUIRE(r.status == 200);
  r = post(c, "/v1/events", "[" + events[10].body + R"(, {"event_type": "sale_event"}])",
           "application/json");
  REQUIRE(r.status == 200);
  r = post(c, "/v1/events", "nope", "application/json");
  REQUIRE(r.status == 400);
  r = post(c, "/v1/events?ack=none", events[11].body, "application/json");
  REQUIRE(r.status == 202);

  // ?ack=none's delivery is counted when its report arrives.
  std::string text;
  std::vector<Series> series;
  const auto until = std::chrono::steady_clock::now() + seconds(30);
  do {
    text = http_get(svc.port(), "/metrics");
    series = parse_exposition(text);
    // A response is counted just after it is written, so the last one may
    // still be on its way into the metrics.
  } while ((sum_of(series, "millrace_events_produced_total") < 12 ||
            sum_of(series, "millrace_http_request_duration_seconds_count",
                   {{"route", "/v1/events"}}) < 4) &&
           std::chrono::steady_clock::now() < until);
  INFO(text);
  CHECK(p.records_in_topic() == 12);
  CHECK(promtool_check(text).empty());
  CHECK(sum_of(series, "millrace_events_produced_total", {{"topic", p.topic}}) == 12);
  const double by_type =
      sum_of(series, "millrace_events_produced_total", {{"event_type", "sale_event"}}) +
      sum_of(series, "millrace_events_produced_total", {{"event_type", "inventory_event"}});
  CHECK(by_type == 12);
  for (std::int32_t part = 0; part < p.partitions; ++part) {
    std::size_t expected = 0;
    for (const auto& e : events) {
      if (core::partition_for(e.type, e.store_id, p.partitions) == part) ++expected;
    }
    INFO("partition " << part);
    CHECK(sum_of(series, "millrace_events_produced_total", {{"partition", std::to_string(part)}}) ==
          static_cast<double>(expected));
  }
  CHECK(sum_of(series, "millrace_events_rejected_total", {{"reason", "missing_field"}}) == 1);
  CHECK(sum_of(series, "millrace_events_rejected_total", {{"reason", "invalid_json"}}) == 1);
  CHECK(sum_of(series, "millrace_delivery_failures_total") == 0);
  CHECK(sum_of(series, "millrace_delivery_latency_seconds_count") == 12);
  CHECK(sum_of(series, "millrace_http_requests_total",
               {{"route", "/v1/events"}, {"status", "200"}}) == 2);
  CHECK(sum_of(series, "millrace_http_requests_total",
               {{"route", "/v1/events"}, {"status", "400"}}) == 1);
  CHECK(sum_of(series, "millrace_http_requests_total",
               {{"route", "/v1/events"}, {"status", "202"}}) == 1);
  CHECK(sum_of(series, "millrace_http_requests_total", {{"route", "/healthz"}}) >= 1);
  CHECK(sum_of(series, "millrace_http_request_duration_seconds_count", {{"route", "/v1/events"}}) ==
        4);
  CHECK(text.find("millrace_producer_queue_messages ") != std::string::npos);
  CHECK(sum_of(series, "millrace_build_info", {{"service", "producer"}}) == 1);
}

TEST_CASE("SIGTERM with requests in flight: every 200 is in Kafka, exit 0", "[http]") {
  Pipeline p("it_http");
  ProducerService svc(p, {{"MILLRACE_HTTP_THREADS", "8"}});

  // Clients post batches until the service goes away. Catch2 assertions stay
  // on this thread: the clients only record what happened.
  struct Outcome {
    int status = 0;  // 0: no response
    int accepted = -1;
    std::vector<std::string> ids;
  };
  constexpr int kClients = 6;
  constexpr std::size_t kBatch = 20;
  std::vector<std::vector<Outcome>> outcomes(kClients);
  std::atomic<int> answered{0};
  // Set if the service outlives its deadline: the clients would otherwise
  // keep it busy forever and the test would hang instead of failing.
  std::atomic<bool> give_up{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      auto gen = store_event_generator({.seed = 5000 + static_cast<std::uint64_t>(t)});
      httplib::Client c("127.0.0.1", svc.port());
      c.set_read_timeout(seconds(60));
      c.set_keep_alive(t % 2 == 0);  // both new and kept-alive connections
      for (int failures = 0; failures < 3 && !give_up;) {
        Outcome o;
        std::string body = "[";
        for (std::size_t i = 0; i < kBatch; ++i) {
          auto r = gen.next();
          o.ids.push_back(r.key);
          body += (i == 0 ? "" : ",") + r.payload;
        }
        body += "]";
        auto r = c.Post("/v1/events", body, "application/json");
        if (r) {
          o.status = r->status;
          rapidjson::Document d;
          d.Parse(r->body.c_str());
          if (!d.HasParseError() && d.HasMember("accepted")) o.accepted = d["accepted"].GetInt();
          ++answered;
        } else {
          ++failures;
          std::this_thread::sleep_for(milliseconds(20));
        }
        outcomes[static_cast<std::size_t>(t)].push_back(std::move(o));
      }
    });
  }
  const auto until = std::chrono::steady_clock::now() + seconds(60);
  while (answered < 50 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  REQUIRE(answered >= 50);
  svc.child().signal(SIGTERM);
  const auto exit_status = svc.child().wait(seconds(60));
  if (!exit_status) {
    give_up = true;
    svc.child().signal(SIGKILL);
  }
  for (auto& t : clients) t.join();
  REQUIRE(exit_status.has_value());
  CHECK(*exit_status == 0);

  const auto records = read_all(p);
  std::size_t ok_requests = 0, ok_events = 0;
  for (const auto& per_client : outcomes) {
    for (const auto& o : per_client) {
      if (o.status != 200) {
        // Refused or cut off: allowed, as long as it did not claim success.
        CHECK((o.status == 0 || o.status == 503));
        continue;
      }
      ++ok_requests;
      CHECK(o.accepted == static_cast<int>(kBatch));
      for (const auto& id : o.ids) {
        INFO("event " << id << " of a request answered 200");
        CHECK(records.count(id) == 1);
        ++ok_events;
      }
    }
  }
  CHECK(ok_requests >= 50);
  INFO("requests answered 200: " << ok_requests);
  CHECK(records.size() >= ok_events);
}
