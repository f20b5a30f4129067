// millrace-producer end to end: HTTP requests in, Kafka records out, read
// back with a consumer and checked against the routing rule of the CLI, the
// responses, and the high watermarks (so "never reached Kafka" is exact).
#include <httplib.h>
#include <rapidjson/document.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <csignal>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "http_client.hpp"
#include "millrace/core/partitioner.hpp"
#include "millrace/reference/validation.hpp"
#include "pipeline.hpp"
#include "scrape.hpp"
#include "store_events.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// One generated event as a client would send it.
struct Sent {
  std::string id;
  std::string body;  // the JSON text sent for it
  core::EventType type = core::EventType::kSale;
  std::int32_t store_id = 0;
  bool priority = false;
};

// `embed`: the body names its type (else the client sends X-Event-Type).
std::vector<Sent> make_events(std::uint64_t seed, std::size_t n, bool embed) {
  auto gen = store_event_generator({.seed = seed, .base_ts = 1'700'000'000'000'000});
  std::vector<Sent> out;
  while (out.size() < n) {
    auto r = gen.next();
    const auto event = valid_store_event(r.payload);
    REQUIRE(event);
    out.push_back({event->id, embed ? r.payload : without_event_type(r.payload), event->event_type,
                   event->store_id, event->priority_shipping});
  }
  return out;
}

std::string json_array(const std::vector<Sent>& events, std::size_t from, std::size_t to) {
  std::string out = "[";
  for (std::size_t i = from; i < to; ++i) out += (i == from ? "" : ",\n ") + events[i].body;
  return out + "]";
}

std::string ndjson(const std::vector<Sent>& events, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) out += events[i].body + "\r\n";
  return out;
}

// Every record of the topic, by event id.
std::map<std::string, TopicRecord> read_all(const Pipeline& p) {
  std::map<std::string, TopicRecord> out;
  for (auto& r : p.read_topic(p.records_in_topic())) {
    auto parsed = core::parse_event(r.value, r.event_type);
    INFO("record at " << r.partition << "/" << r.offset << ": " << r.value);
    REQUIRE(std::holds_alternative<core::StoreEvent>(parsed));
    const std::string id = std::get<core::StoreEvent>(parsed).id;
    CHECK(out.emplace(id, std::move(r)).second);  // no event twice
  }
  return out;
}

// The record of `sent` is where the CLI would have put it, carries its
// headers and key, and holds the text that was sent.
void check_routed(const std::map<std::string, TopicRecord>& records, const Sent& sent,
                  std::int32_t partitions, std::string_view value) {
  INFO("event " << sent.id);
  const auto it = records.find(sent.id);
  REQUIRE(it != records.end());
  const TopicRecord& r = it->second;
  CHECK(r.partition == core::partition_for(sent.type, sent.store_id, partitions));
  CHECK(r.event_type == std::string(core::to_string(sent.type)));
  CHECK(r.priority_shipping == std::string(sent.priority ? "true" : "false"));
  CHECK(r.key == std::to_string(sent.store_id));
  CHECK(r.value == value);
}

// The accepted results of a response, by id: (partition, offset).
std::map<std::string, std::pair<std::int32_t, std::int64_t>> accepted(const HttpReply& reply) {
  std::map<std::string, std::pair<std::int32_t, std::int64_t>> out;
  for (const auto& r : reply.json["results"].GetArray()) {
    if (str(r, "status") != "accepted") continue;
    out[str(r, "id")] = {r["partition"].GetInt(), r["offset"].GetInt64()};
  }
  return out;
}

std::string field_of(const std::string& body, const char* key) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  return d.HasMember(key) ? d[key].GetString() : "";
}

}  // namespace

TEST_CASE("single, array and NDJSON bodies land where the CLI would put them", "[http]") {
  Pipeline p("it_http");
  ProducerService svc(p, {});
  auto c = svc.client();
  const auto events = make_events(101, 31, /*embed=*/true);
  std::map<std::string, std::pair<std::int32_t, std::int64_t>> acks;

  // One object.
  auto r = post(c, "/v1/events", events[0].body, "application/json");
  REQUIRE(r.status == 200);
  CHECK(r.json["accepted"].GetInt() == 1);
  CHECK(r.json["rejected"].GetInt() == 0);
  REQUIRE(r.json["results"].Size() == 1);
  const auto& first = r.json["results"][0];
  CHECK(first["index"].GetInt() == 0);
  CHECK(str(first, "id") == events[0].id);
  CHECK(str(first, "status") == "accepted");
  CHECK(first["partition"].GetInt() ==
        core::partition_for(events[0].type, events[0].store_id, p.partitions));
  acks.merge(accepted(r));

  // An array, with the charset parameter.
  r = post(c, "/v1/events", json_array(events, 1, 11), "application/json; charset=utf-8");
  REQUIRE(r.status == 200);
  CHECK(r.json["accepted"].GetInt() == 10);
  for (rapidjson::SizeType i = 0; i < 10; ++i) {
    CHECK(r.json["results"][i]["index"].GetInt() == static_cast<int>(i));
    CHECK(str(r.json["results"][i], "id") == events[1 + i].id);
  }
  acks.merge(accepted(r));

  // NDJSON with CRLF line ends.
  r = post(c, "/v1/events", ndjson(events, 11, 21), "application/x-ndjson");
  REQUIRE(r.status == 200);
  CHECK(r.json["accepted"].GetInt() == 10);
  acks.merge(accepted(r));

  // ?ack=none: queued, with partitions but no offsets yet.
  r = post(c, "/v1/events?ack=none", json_array(events, 21, 26), "application/json");
  REQUIRE(r.status == 202);
  CHECK(r.json["accepted"].GetInt() == 5);
  for (const auto& res : r.json["results"].GetArray()) {
    CHECK(str(res, "status") == "queued");
    CHECK(res.HasMember("partition"));
    CHECK_FALSE(res.HasMember("offset"));
  }

  // Bodies without an event_type field take the X-Event-Type header.
  std::vector<Sent> bare;
  for (const auto& e : make_events(102, 40, /*embed=*/false)) {
    if (e.type == core::EventType::kInventory && bare.size() < 5) bare.push_back(e);
  }
  REQUIRE(bare.size() == 5);
  r = post(c, "/v1/events", ndjson(bare, 0, 5), "application/x-ndjson",
           {{"X-Event-Type", "inventory_event"}});
  REQUIRE(r.status == 200);
  CHECK(r.json["accepted"].GetInt() == 5);
  acks.merge(accepted(r));

  const auto records = read_all(p);
  CHECK(records.size() == 31);
  for (std::size_t i = 0; i < 26; ++i)
    check_routed(records, events[i], p.partitions, events[i].body);
  for (const auto& e : bare) check_routed(records, e, p.partitions, e.body);
  // Every acknowledged offset is the record's real place.
  for (const auto& [id, where] : acks) {
    INFO("event " << id);
    REQUIRE(records.count(id) == 1);
    CHECK(records.at(id).partition == where.first);
    CHECK(records.at(id).offset == where.second);
  }
}

TEST_CASE("invalid events get reasons and never reach Kafka; mixed requests are 200", "[http]") {
  Pipeline p("it_http");
  ProducerService svc(p, {});
  auto c = svc.client();
  const auto good = make_events(201, 3, /*embed=*/true);
  const std::string base = good[0].body;
  // The generator writes compact JSON, "event_type" last.
  const auto without = [&](const std::string& field) {
    return std::regex_replace(base, std::regex(",\"" + field + "\":(\"[^\"]*\"|[^,}]*)"), "");
  };
  const std::string no_qty = without("qty");
  const std::string negative_qty = std::regex_replace(base, std::regex("\"qty\":"), "\"qty\":-");
  const std::string unknown_type = std::regex_replace(
      base, std::regex("\"event_type\":\"[a-z_]*\""), "\"event_type\":\"refund_event\"");
  REQUIRE(no_qty.find("\"qty\"") == std::string::npos);
  REQUIRE(without("event_type").find("event_type") == std::string::npos);

  // Every event invalid: 400, a reason for each, in order.
  auto r = post(c, "/v1/events",
                "[" + no_qty + ", 42, {\"id\": }, " + negative_qty + ", " + unknown_type + "]",
                "application/json");
  REQUIRE(r.status == 400);
  CHECK(r.json["accepted"].GetInt() == 0);
  CHECK(r.json["rejected"].GetInt() == 5);
  const auto& res = r.json["results"];
  REQUIRE(res.Size() == 5);
  const std::vector<std::pair<std::string, std::string>> want = {{"missing_field", "qty"},
                                                                 {"not_an_object", ""},
                                                                 {"invalid_json", ""},
                                                                 {"out_of_range", "qty"},
                                                                 {"unknown_event_type", ""}};
  for (rapidjson::SizeType i = 0; i < 5; ++i) {
    INFO("result " << i);
    CHECK(res[i]["index"].GetInt() == static_cast<int>(i));
    CHECK(str(res[i], "status") == "rejected");
    CHECK(str(res[i], "reason") == want[i].first);
    CHECK(str(res[i], "field") == want[i].second);
    CHECK_FALSE(str(res[i], "detail").empty());
  }

  // One invalid object, and an event with no type anywhere.
  r = post(c, "/v1/events", no_qty, "application/json");
  CHECK(r.status == 400);
  CHECK(str(r.json["results"][0], "reason") == "missing_field");
  r = post(c, "/v1/events", without("event_type"), "application/json");
  CHECK(r.status == 400);
  CHECK(str(r.json["results"][0], "reason") == "missing_event_type");

  // A body that is not even an array of things: 400 for the whole request.
  r = post(c, "/v1/events", "[" + base + ",", "application/json");
  CHECK(r.status == 400);
  CHECK(str(r.json, "error") == "invalid_body");
  r = post(c, "/v1/events", "\n\n", "application/x-ndjson");
  CHECK(r.status == 400);
  CHECK(str(r.json, "error") == "invalid_body");

  // Nothing so far reached Kafka.
  CHECK(p.records_in_topic() == 0);

  // Mixed: 200, the valid ones accepted, the response says which failed.
  r = post(c, "/v1/events", "[" + good[1].body + "," + no_qty + "," + good[2].body + "]",
           "application/json");
  REQUIRE(r.status == 200);
  CHECK(r.json["accepted"].GetInt() == 2);
  CHECK(r.json["rejected"].GetInt() == 1);
  CHECK(str(r.json["results"][0], "status") == "accepted");
  CHECK(str(r.json["results"][1], "status") == "rejected");
  CHECK(str(r.json["results"][1], "field") == "qty");
  CHECK(str(r.json["results"][2], "status") == "accepted");

  CHECK(p.records_in_topic() == 2);
  const auto records = read_all(p);
  REQUIRE(records.size() == 2);
  check_routed(records, good[1], p.partitions, good[1].body);
  check_routed(records, good[2], p.partitions, good[2].body);
}

TEST_CASE("size limit, content types, methods, paths and the bearer token", "[http]") {
  Pipeline p("it_http");
  ProducerService svc(p,
                      {{"MILLRACE_MAX_BODY_BYTES", "4096"}, {"MILLRACE_AUTH_TOKEN", "t0ken-42"}});
  auto c = svc.client();
  const httplib::Headers auth = {{"Authorization", "Bearer t0ken-42"}};
  const auto events = make_events(301, 20, /*embed=*/true);
  const std::string one = events[0].body;

  // Auth first: missing or wrong token is 401, and the same keep-alive
  // connection still answers the next request correctly.
  auto r = post(c, "/v1/events", one, "application/json");
  CHECK(r.status == 401);
  CHECK(str(r.json, "error") == "unauthorized");
  CHECK(r.headers.count("WWW-Authenticate") == 1);
  r = post(c, "/v1/events", one, "application/json", {{"Authorization", "Bearer t0ken-43"}});
  CHECK(r.status == 401);
  r = post(c, "/v1/events", one, "application/json", {{"Authorization", "Basic t0ken-42"}});
  CHECK(r.status == 401);
  r = post(c, "/v1/events", one, "application/json", auth);
  REQUIRE(r.status == 200);
  CHECK(r.json["accepted"].GetInt() == 1);

  // Content types.
  r = post(c, "/v1/events", one, "text/plain", auth);
  CHECK(r.status == 415);
  CHECK(str(r.json, "error") == "unsupported_media_type");
  r = post(c, "/v1/events", one, "application/json; charset=iso-8859-1", auth);
  CHECK(r.status == 415);
  r = post(c, "/v1/events?ack=maybe", one, "application/json", auth);
  CHECK(r.status == 400);

  // Over the limit, with a Content-Length and chunked.
  const std::string big = json_array(events, 0, 20);
  REQUIRE(big.size() > 4096);
  auto fresh = svc.client();
  r = post(fresh, "/v1/events", big, "application/json", auth);
  CHECK(r.status == 413);
  CHECK(str(r.json, "error") == "body_too_large");
  auto chunked = svc.client();
  auto cr = chunked.Post(
      "/v1/events", auth,
      [&](std::size_t offset, httplib::DataSink& sink) {
        if (offset < big.size()) {
          sink.write(big.data() + offset, std::min<std::size_t>(1000, big.size() - offset));
        } else {
          sink.done();
        }
        return true;
      },
      "application/json");
  REQUIRE(cr);
  CHECK(cr->status == 413);

  // Methods and paths; the probes and /metrics need no token.
  auto g = svc.client();
  auto gr = g.Get("/v1/events", auth);
  REQUIRE(gr);
  CHECK(gr->status == 405);
  CHECK(gr->get_header_value("Allow") == "POST");
  gr = g.Put("/v1/events", auth, one, "application/json");
  REQUIRE(gr);
  CHECK(gr->status == 405);
  gr = g.Get("/v2/events");
  REQUIRE(gr);
  CHECK(gr->status == 404);
  CHECK(field_of(gr->body, "error") == "not_found");
  for (const char* path : {"/healthz", "/readyz", "/metrics"}) {
    gr = g.Get(path);
    REQUIRE(gr);
    CHECK(gr->status == 200);
  }

  // Only the one authorised event reached Kafka.
  CHECK(p.records_in_topic() == 1);
}

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
