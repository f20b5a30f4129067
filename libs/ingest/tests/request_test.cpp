#include "millrace/ingest/request.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>

using namespace millrace::ingest;
using millrace::httpd::BodyFormat;

namespace {

std::vector<std::string_view> split_ok(std::string_view body, BodyFormat format) {
  std::vector<std::string_view> events;
  const auto error = split_body(body, format, events);
  INFO("body: " << body);
  if (error) FAIL("split failed: " << *error);
  return events;
}

std::string split_error(std::string_view body, BodyFormat format) {
  std::vector<std::string_view> events{"stale"};
  const auto error = split_body(body, format, events);
  INFO("body: " << body);
  REQUIRE(error);
  CHECK(events.empty());
  return *error;
}

using V = std::vector<std::string_view>;

}  // namespace

TEST_CASE("a JSON body is one event unless it is an array", "[ingest]") {
  CHECK(split_ok(R"({"a":1})", BodyFormat::kJson) == V{R"({"a":1})"});
  // Surrounding blanks are not part of the event; anything else is, and the
  // validator says what is wrong with it.
  CHECK(split_ok(" \r\n{\"a\":1}\n", BodyFormat::kJson) == V{R"({"a":1})"});
  CHECK(split_ok(R"({"a":)", BodyFormat::kJson) == V{R"({"a":)"});
  CHECK(split_ok("42", BodyFormat::kJson) == V{"42"});
  CHECK(split_error("", BodyFormat::kJson).find("no events") != std::string::npos);
  CHECK(split_error(" \n\t", BodyFormat::kJson).find("no events") != std::string::npos);
}

TEST_CASE("an array body: each element as sent, bad elements kept for the validator", "[ingest]") {
  CHECK(split_ok(R"([{"a":1},{"b":[1,2]}])", BodyFormat::kJson) ==
        V{R"({"a":1})", R"({"b":[1,2]})"});
  CHECK(split_ok("[ {\"a\" : 1} ,\n {\"b\":2}\n ]\n", BodyFormat::kJson) ==
        V{R"({"a" : 1})", R"({"b":2})"});
  // Brackets, braces, commas and escaped quotes inside strings do not count.
  CHECK(split_ok(R"([{"s":"],}{[\"x"},{"t":"\\"}])", BodyFormat::kJson) ==
        V{R"({"s":"],}{[\"x"})", R"({"t":"\\"})"});
  // Elements that are not objects, or not JSON inside, are still elements.
  CHECK(split_ok(R"([1, "x", null, {"a":}, [2]])", BodyFormat::kJson) ==
        V{"1", "\"x\"", "null", R"({"a":})", "[2]"});

  CHECK(split_error("[]", BodyFormat::kJson).find("no events") != std::string::npos);
  CHECK(split_error("[ ]", BodyFormat::kJson).find("no events") != std::string::npos);
  CHECK(split_error("[{\"a\":1}", BodyFormat::kJson).find("not closed") != std::string::npos);
  CHECK(split_error("[{\"a\":1},", BodyFormat::kJson).find("not closed") != std::string::npos);
  CHECK(split_error("[{\"a\":\"]}", BodyFormat::kJson).find("not closed") != std::string::npos);
  CHECK(split_error("[{\"a\":1},]", BodyFormat::kJson).find("missing") != std::string::npos);
  CHECK(split_error("[,{\"a\":1}]", BodyFormat::kJson).find("missing") != std::string::npos);
  CHECK(split_error("[{\"a\":1} {\"b\":2}]", BodyFormat::kJson).find("','") != std::string::npos);
  CHECK(split_error("[{\"a\":1}] x", BodyFormat::kJson).find("after the array") !=
        std::string::npos);
  CHECK(split_error("[{\"a\":1}]]", BodyFormat::kJson).find("after the array") !=
        std::string::npos);
}

TEST_CASE("an NDJSON body: one event per non-blank line, CR cut", "[ingest]") {
  CHECK(split_ok("{\"a\":1}\n{\"b\":2}\n", BodyFormat::kNdjson) == V{R"({"a":1})", R"({"b":2})"});
  CHECK(split_ok("{\"a\":1}\r\n\r\n  \n{\"b\":2}", BodyFormat::kNdjson) ==
        V{R"({"a":1})", R"({"b":2})"});
  // A line is an event whatever it holds: even an array stays one event.
  CHECK(split_ok("[1,2]\nnot json\n", BodyFormat::kNdjson) == V{"[1,2]", "not json"});
  CHECK(split_error("", BodyFormat::kNdjson).find("no events") != std::string::npos);
  CHECK(split_error("\n \r\n\t\n", BodyFormat::kNdjson).find("no events") != std::string::npos);
}

TEST_CASE("the ack parameter", "[ingest]") {
  CHECK(parse_ack(std::nullopt) == AckMode::kAll);
  CHECK(parse_ack("all") == AckMode::kAll);
  CHECK(parse_ack("none") == AckMode::kNone);
  CHECK_FALSE(parse_ack(""));
  CHECK_FALSE(parse_ack("None"));
  CHECK_FALSE(parse_ack("0"));
}

TEST_CASE("response JSON: counts, then one result per event in order", "[ingest]") {
  std::vector<EventResult> results(4);
  results[0] = {0, EventStatus::kAccepted, "743da362-69df-4e63-a95f-a1d93e29825e", 3, 42, {}, {},
                {}};
  results[1] = {1,  EventStatus::kRejected, {},    -1,
                -1, "missing_field",        "qty", "qty is \"missing\""};
  results[2] = {2, EventStatus::kQueued, "a", 0, -1, {}, {}, {}};
  results[3] = {3, EventStatus::kFailed, "b", -1, -1, "queue_full", {}, "retry\n"};
  std::string out;
  append_results_json(out, results);

  rapidjson::Document d;
  d.Parse(out.c_str());
  INFO(out);
  REQUIRE_FALSE(d.HasParseError());
  CHECK(d["accepted"].GetInt() == 2);
  CHECK(d["rejected"].GetInt() == 1);
  CHECK(d["failed"].GetInt() == 1);
  const auto& r = d["results"];
  REQUIRE(r.Size() == 4);
  CHECK(r[0]["index"].GetInt() == 0);
  CHECK(std::string(r[0]["id"].GetString()) == "743da362-69df-4e63-a95f-a1d93e29825e");
  CHECK(std::string(r[0]["status"].GetString()) == "accepted");
  CHECK(r[0]["partition"].GetInt() == 3);
  CHECK(r[0]["offset"].GetInt64() == 42);
  CHECK_FALSE(r[0].HasMember("reason"));
  CHECK(std::string(r[1]["status"].GetString()) == "rejected");
  CHECK(std::string(r[1]["reason"].GetString()) == "missing_field");
  CHECK(std::string(r[1]["field"].GetString()) == "qty");
  CHECK(std::string(r[1]["detail"].GetString()) == "qty is \"missing\"");
  CHECK_FALSE(r[1].HasMember("id"));
  CHECK_FALSE(r[1].HasMember("partition"));
  CHECK(std::string(r[2]["status"].GetString()) == "queued");
  CHECK(r[2]["partition"].GetInt() == 0);
  CHECK_FALSE(r[2].HasMember("offset"));
  CHECK(std::string(r[3]["status"].GetString()) == "failed");
  CHECK(std::string(r[3]["detail"].GetString()) == "retry\n");

  // Without failures there is no "failed" member; the key order is fixed.
  out.clear();
  append_results_json(out, std::span(results).first(2));
  CHECK(out.rfind(R"({"accepted":1,"rejected":1,"results":[{"index":0,)", 0) == 0);

  out.clear();
  append_error_json(out, "body_too_large", "over \"1\" MiB");
  CHECK(out == R"({"error":"body_too_large","detail":"over \"1\" MiB"})");
}
