// What a receiver gets in each format (wire.hpp).
#include "wire.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <map>

using namespace millrace::webhooks::detail;

namespace {

// A stored body as read_change() writes it, around a change whose numeric
// has more digits than a double keeps.
const std::string kChange =
    R"({"id":"0000000001A2B3C4-00000002","op":"u","table":"public.store_events",)"
    R"("key":{"ts":"2026-11-28 07:00:00+00","id":"a/b%c"},"before":null,)"
    R"("after":{"discount":12345678901234567890.123456789,"category":"Küche"},)"
    R"("source":{"lsn":"0/1A2B3C4","xid":7,"commit_time":"2026-11-28T07:00:01.123456Z","seq":2}})";
const std::string kStored =
    R"({"type":"public.store_events.updated","timestamp":"2026-11-28T07:00:01.123456Z","data":)" +
    kChange + "}";

std::map<std::string, std::string> headers_of(const Wire& w) {
  return {w.headers.begin(), w.headers.end()};
}

}  // namespace

TEST_CASE("a stored standard body gives back its change as it was written") {
  REQUIRE(standard_data(kStored).has_value());
  CHECK(*standard_data(kStored) == kChange);
  // Quotes and escapes inside the type and timestamp do not end them early.
  const std::string odd = R"({"type":"a\",\"data\":1.b","timestamp":"x","data":{"k":1}})";
  REQUIRE(standard_data(odd).has_value());
  CHECK(*standard_data(odd) == R"({"k":1})");
  CHECK_FALSE(standard_data(R"({"data":{}})").has_value());
  CHECK_FALSE(standard_data("not json").has_value());
  CHECK_FALSE(standard_data(R"({"type":"a","timestamp":"b","data":})").has_value());
}

TEST_CASE("standard: the stored body as it is") {
  const auto w = render(Format::kStandard, kStored, "/millrace/shop");
  CHECK(w.body == kStored);
  CHECK(headers_of(w).at("content-type") == "application/json");
}

TEST_CASE("cloudevents-structured: a CloudEvents 1.0 event whose data is the change") {
  const auto w = render(Format::kCloudEventsStructured, kStored, "/millrace/shop");
  CHECK(headers_of(w).at("content-type") == "application/cloudevents+json; charset=utf-8");
  rapidjson::Document ev;
  ev.Parse(w.body.c_str());
  REQUIRE(ev.IsObject());
  CHECK(std::string(ev["specversion"].GetString()) == "1.0");
  CHECK(std::string(ev["id"].GetString()) == "0000000001A2B3C4-00000002");
  CHECK(std::string(ev["source"].GetString()) == "/millrace/shop/public.store_events");
  CHECK(std::string(ev["type"].GetString()) == "com.millrace.row.updated");
  CHECK(std::string(ev["subject"].GetString()) ==
        "public.store_events/2026-11-28 07:00:00+00/a%2Fb%25c");
  CHECK(std::string(ev["time"].GetString()) == "2026-11-28T07:00:01.123456Z");
  CHECK(std::string(ev["datacontenttype"].GetString()) == "application/json");
  CHECK(std::string(ev["dataschema"].GetString()) == "urn:millrace:change:1");
  // The data's text as stored: every digit of the numeric.
  CHECK(w.body.find("12345678901234567890.123456789") != std::string::npos);
  CHECK(w.body.ends_with(",\"data\":" + kChange + "}"));
}

TEST_CASE("cloudevents-binary: the change as the body, its attributes in ce-* headers") {
  const auto w = render(Format::kCloudEventsBinary, kStored, "/millrace/shop");
  const auto h = headers_of(w);
  CHECK(w.body == kChange);
  CHECK(h.at("content-type") == "application/json");
  CHECK(h.at("ce-specversion") == "1.0");
  CHECK(h.at("ce-id") == "0000000001A2B3C4-00000002");
  CHECK(h.at("ce-source") == "/millrace/shop/public.store_events");
  CHECK(h.at("ce-type") == "com.millrace.row.updated");
  // Space, '%' and non-ASCII bytes percent-encoded (HTTP binding 3.1.3.2).
  CHECK(h.at("ce-subject") == "public.store_events/2026-11-28%2007:00:00+00/a%252Fb%2525c");
  CHECK(h.at("ce-time") == "2026-11-28T07:00:01.123456Z");
  CHECK(h.at("ce-dataschema") == "urn:millrace:change:1");
}

TEST_CASE("header values keep printable ASCII and encode the rest") {
  CHECK(header_value("abc-XYZ_09:/+") == "abc-XYZ_09:/+");
  CHECK(header_value("a b") == "a%20b");
  CHECK(header_value("\"%") == "%22%25");
  CHECK(header_value("ü") == "%C3%BC");
  CHECK(header_value("\n") == "%0A");
}

TEST_CASE("every operation has a type, and a truncate's subject is its table") {
  for (const std::string op : {"c", "u", "d", "r", "t", "e", "g"}) {
    CHECK_FALSE(event_type(op).empty());
    CHECK_FALSE(op_word(op).empty());
  }
  CHECK(event_type("x").empty());
  rapidjson::Document t;
  t.Parse(R"({"id":"1","op":"t","table":"public.items","source":{"commit_time":"T"}})");
  const auto a = attributes_of(t, "/millrace/db");
  CHECK(a.type == "com.millrace.table.truncated");
  CHECK(a.subject == "public.items");
  CHECK(a.source == "/millrace/db/public.items");
  rapidjson::Document n;
  n.Parse<rapidjson::kParseNumbersAsStringsFlag>(
      R"({"id":"1","op":"c","table":"s.t","key":{"a":42,"b":true},"source":{"commit_time":"T"}})");
  CHECK(attributes_of(n, "/p").subject == "s.t/42/true");
}

TEST_CASE("a body that is not a standard one goes as it is, in any format") {
  const auto w = render(Format::kCloudEventsBinary, "[1,2]", "/p");
  CHECK(w.body == "[1,2]");
  CHECK(headers_of(w).count("ce-id") == 0);
}
