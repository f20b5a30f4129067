// millrace-producer's requests end to end: bodies routed as the CLI would, invalid
// events refused (never reaching Kafka), size limit, content types, methods, paths, token.
#include <httplib.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "http_client.hpp"
#include "http_support.hpp"
#include "millrace/core/event_type.hpp"
#include "millrace/core/partitioner.hpp"
#include "pipeline.hpp"

using namespace millrace;
using namespace millrace::testing;
using namespace millrace::testing::http_tests;

namespace {

std::string ndjson(const std::vector<Sent>& events, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) out += events[i].body + "\r\n";
  return out;
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
