#include "ingest.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>

using namespace millrace::webhooks::detail;
using Catch::Matchers::Contains;

namespace {
const std::string kChange =
    R"({"id":"0000000001A2B3C4-00000002","op":"u","table":"public.store_events",)"
    R"("key":{"id":"e1"},"before":null,"after":{"id":"e1","qty":3},)"
    R"("source":{"lsn":"0/1A2B3C4","xid":750,"commit_time":"2026-11-23T08:00:00.123456Z",)"
    R"("seq":2}})";
}

TEST_CASE("a change becomes a Standard Webhooks payload around it") {
  const auto read = read_change(kChange);
  REQUIRE(std::holds_alternative<ChangeFacts>(read));
  const auto& f = std::get<ChangeFacts>(read);
  CHECK(f.id == "0000000001A2B3C4-00000002");
  CHECK(f.table == "public.store_events");
  CHECK(f.op == "u");
  CHECK(f.commit_time == "2026-11-23T08:00:00.123456Z");
  rapidjson::Document body;
  body.Parse(f.body.c_str());
  REQUIRE_FALSE(body.HasParseError());
  CHECK(std::string(body["type"].GetString()) == "public.store_events.updated");
  CHECK(std::string(body["timestamp"].GetString()) == "2026-11-23T08:00:00.123456Z");
  CHECK(body["data"]["after"]["qty"].GetInt() == 3);
  // The change travels as published, byte for byte.
  CHECK(f.body.find(kChange) != std::string::npos);
}

TEST_CASE("every operation has its type word") {
  for (const auto& [op, word] :
       std::vector<std::pair<std::string, std::string>>{{"c", "created"},
                                                        {"d", "deleted"},
                                                        {"r", "snapshot"},
                                                        {"t", "truncated"},
                                                        {"e", "backfilled"},
                                                        {"g", "gap"}}) {
    std::string change = kChange;
    change.replace(change.find("\"op\":\"u\""), 8, "\"op\":\"" + op + "\"");
    const auto read = read_change(change);
    REQUIRE(std::holds_alternative<ChangeFacts>(read));
    CHECK_THAT(std::get<ChangeFacts>(read).body, Contains("store_events." + word));
  }
}

TEST_CASE("what is not a change says why") {
  const auto why = [](const std::string& v) {
    const auto r = read_change(v);
    REQUIRE(std::holds_alternative<std::string>(r));
    return std::get<std::string>(r);
  };
  CHECK(why("{") == "not JSON");
  CHECK(why("[1]") == "not a JSON object");
  CHECK_THAT(why(R"({"op":"c","table":"t"})"), Contains("\"id\""));
  CHECK_THAT(why(R"({"id":"x","op":"z","table":"t","source":{"commit_time":"x"}})"),
             Contains("unknown op"));
  CHECK_THAT(why(R"({"id":"x","op":"c","table":"t"})"), Contains("commit_time"));
  // A change in all but its encoding: its body could not be stored.
  std::string latin1 = kChange;
  latin1.replace(latin1.find("\"op\""), 0, "\"note\":\"caf\xe9\",");
  CHECK(why(latin1) == "not UTF-8 text, or it holds a NUL");
  CHECK(why(std::string("{\"id\":\"x\0\"}", 11)) == "not UTF-8 text, or it holds a NUL");
  std::string utf8 = kChange;
  utf8.replace(utf8.find("\"op\""), 0, "\"note\":\"caf\xc3\xa9\",");
  CHECK(std::holds_alternative<ChangeFacts>(read_change(utf8)));
  // An id far longer than the feed's 25 characters, which no unique index
  // could hold; 256 bytes still goes.
  const auto with_id = [](const std::string& id) {
    return R"({"id":")" + id + R"(","op":"c","table":"t","source":{"commit_time":"x"}})";
  };
  CHECK(why(with_id(std::string(257, 'A'))) == "an \"id\" longer than 256 bytes");
  CHECK(std::holds_alternative<ChangeFacts>(read_change(with_id(std::string(256, 'A')))));
}
