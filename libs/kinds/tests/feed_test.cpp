#include "millrace/kinds/feed.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "millrace/core/options.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"
#include "shipped.hpp"

using namespace millrace;
using namespace millrace::kinds;
using Catch::Matchers::Contains;
using core::RejectReason;
using Outcome = MappedFrame::Outcome;

namespace {

const FeedDecl& finnhub() {
  static const FeedDecl f = load_feed("finnhub", "").feed;
  return f;
}

const FeedDecl& binance() {
  static const FeedDecl f = load_feed("binance", "").feed;
  return f;
}

MappedFrame map(const FeedDecl& feed, const std::string& frame) {
  return map_frame(feed, testing::trade(), frame, {"r7", 42});
}

FeedDecl feed_with(const std::string& fields, const std::string& rest = "") {
  return parse_feed(
      R"({"feed": "t", "kind": "trade", "key": "Symbol", "fields": )" + fields + rest + "}", "test",
      testing::trade());
}

}  // namespace

TEST_CASE("a Finnhub trade frame unrolls into records of the trade kind, exactly", "[feed]") {
  const auto m =
      map(finnhub(),
          R"({"type":"trade","data":[)"
          R"({"s":"BINANCE:BTCUSDT","p":7296.89,"t":1575526691134,"v":0.011467,"c":["1","12"]},)"
          R"({"s":"AAPL","p":190.1,"t":1575526691135,"v":3}]})");
  REQUIRE(m.outcome == Outcome::kRecords);
  REQUIRE(m.records.size() == 2);
  CHECK(m.records[0].key == "BINANCE:BTCUSDT");
  CHECK(m.records[0].payload ==
        R"({"TradeId":"r7:42:1","Symbol":"BINANCE:BTCUSDT","Price":7296.89,"Volume":0.011467,)"
        R"("TradeTime":"2019-12-05T06:18:11.134000Z","Conditions":"1,12","Feed":"finnhub"})");
  CHECK(m.records[1].key == "AAPL");
  CHECK_THAT(m.records[1].payload, Contains(R"("TradeId":"r7:42:2")"));
  CHECK_THAT(m.records[1].payload, Contains(R"("Volume":3,)"));
}

TEST_CASE("a Binance trade is one frame, its decimals strings read exactly", "[feed]") {
  const auto m =
      map(binance(), R"({"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.00100000",)"
                     R"("q":"100.5","T":1672515782136,"m":true,"M":true})");
  REQUIRE(m.outcome == Outcome::kRecords);
  REQUIRE(m.records.size() == 1);
  CHECK(m.records[0].key == "BNBBTC");
  CHECK(m.records[0].payload ==
        R"({"TradeId":"BNBBTC:12345","Symbol":"BNBBTC","Price":0.001,"Volume":100.5,)"
        R"("TradeTime":"2022-12-31T19:43:02.136000Z","Feed":"binance"})");
}

TEST_CASE("frames of other types, and frames without one, are control frames", "[feed]") {
  CHECK(map(finnhub(), R"({"type":"ping"})").outcome == Outcome::kControl);
  CHECK(map(finnhub(), R"({"msg":"hello"})").outcome == Outcome::kControl);
  CHECK(map(finnhub(), R"({"type":"trade","data":[]})").outcome == Outcome::kControl);
  CHECK(map(binance(), R"({"result":null,"id":1})").outcome == Outcome::kControl);
}

TEST_CASE("a frame the kind refuses is refused whole, naming the record and the field", "[feed]") {
  SECTION("not JSON") {
    const auto m = map(finnhub(), R"({"type":"trade","data":[)");
    REQUIRE(m.outcome == Outcome::kRefused);
    CHECK(m.rejection.reason == RejectReason::kInvalidJson);
  }
  SECTION("not an object") {
    CHECK(map(finnhub(), "[1,2]").rejection.reason == RejectReason::kNotAnObject);
  }
  SECTION("the second record's price out of range: no record of the frame is produced") {
    const auto m = map(finnhub(), R"({"type":"trade","data":[{"s":"A","p":1,"t":1,"v":1},)"
                                  R"({"s":"B","p":-1,"t":1,"v":1}]})");
    REQUIRE(m.outcome == Outcome::kRefused);
    CHECK(m.records.empty());
    CHECK(m.rejection.reason == RejectReason::kOutOfRange);
    CHECK(m.rejection.field == "data[2].Price");
  }
  SECTION("a price string that is not a number") {
    const auto m = map(binance(), R"({"e":"trade","s":"B","t":1,"p":"1,5","q":"1","T":1})");
    CHECK(m.rejection.reason == RejectReason::kInvalidFormat);
    CHECK(m.rejection.field == "Price");
  }
  SECTION("more decimals than six") {
    const auto m = map(binance(), R"({"e":"trade","s":"B","t":1,"p":"0.00001234","q":"1","T":1})");
    CHECK(m.rejection.reason == RejectReason::kOutOfRange);
  }
  SECTION("no data array") {
    CHECK(map(finnhub(), R"({"type":"trade"})").rejection.reason == RejectReason::kMissingField);
    CHECK(map(finnhub(), R"({"type":"trade","data":{}})").rejection.reason ==
          RejectReason::kWrongType);
  }
  SECTION("a record that is not an object") {
    const auto m = map(finnhub(), R"({"type":"trade","data":[3]})");
    CHECK(m.rejection.field == "data[1]");
  }
  SECTION("a required member missing") {
    const auto m = map(binance(), R"({"e":"trade","s":"B","p":"1","q":"1","T":1})");
    CHECK(m.rejection.reason == RejectReason::kMissingField);
    CHECK(m.rejection.field == "TradeId");
  }
  SECTION("an epoch time that is not a number, or finer than a microsecond") {
    CHECK(map(finnhub(), R"({"type":"trade","data":[{"s":"A","p":1,"t":"soon","v":1}]})")
              .rejection.reason == RejectReason::kInvalidFormat);
    CHECK(map(finnhub(), R"({"type":"trade","data":[{"s":"A","p":1,"t":1.0001,"v":1}]})")
              .rejection.reason == RejectReason::kOutOfRange);
    CHECK(map(finnhub(), R"({"type":"trade","data":[{"s":"A","p":1,"t":-5,"v":1}]})")
              .rejection.reason == RejectReason::kInvalidFormat);
  }
}

TEST_CASE("epoch conversions keep every microsecond given", "[feed]") {
  const auto f = feed_with(
      R"({"TradeId": "i", "Symbol": "s", "Price": "p", "Volume": "v", "TradeTime": {"from": "t", "as": "epoch_s"}})");
  const auto m = map(f, R"({"i":"x","s":"A","p":1,"v":1,"t":"1672515782.000136"})");
  REQUIRE(m.outcome == Outcome::kRecords);
  CHECK_THAT(m.records[0].payload, Contains("2022-12-31T19:43:02.000136Z"));
}

TEST_CASE("subscribe messages name each symbol, JSON-escaped", "[feed]") {
  CHECK(feed_message(finnhub().subscribe, "AAPL") == R"({"type":"subscribe","symbol":"AAPL"})");
  CHECK(feed_message(binance().subscribe, "bnbbtc") ==
        R"({"method":"SUBSCRIBE","params":["bnbbtc@trade"],"id":1})");
  CHECK(feed_message(finnhub().subscribe, R"(A"B)") == R"({"type":"subscribe","symbol":"A\"B"})");
  CHECK(feed_message("", "AAPL").empty());
}

TEST_CASE("a feed file is checked against its kind", "[feed]") {
  const std::string ok =
      R"({"TradeId": "i", "Symbol": "s", "Price": "p", "Volume": "v", "TradeTime": "t"})";
  CHECK_NOTHROW(feed_with(ok));
  CHECK_THROWS_WITH(feed_with(R"({"TradeId": "i", "Symbol": "s", "Price": "p", "Volume": "v"})"),
                    Contains("required field \"TradeTime\" is not mapped"));
  CHECK_THROWS_WITH(feed_with(R"({"Nope": "x"})"), Contains("\"Nope\" is not a field of the kind"));
  CHECK_THROWS_WITH(
      feed_with(
          R"({"TradeId": "i", "Symbol": "s", "Price": {"from": "p", "as": "epoch_ms"}, "Volume": "v", "TradeTime": "t"})"),
      Contains("epoch times map to timestamp fields"));
  CHECK_THROWS_WITH(
      feed_with(
          R"({"TradeId": "i", "Symbol": "s", "Price": {"from": "p", "as": "rot13"}, "Volume": "v", "TradeTime": "t"})"),
      Contains("is not a conversion"));
  CHECK_THROWS_WITH(feed_with(ok, R"(, "subscribe": "hello")"),
                    Contains("must be a JSON object or array"));
  CHECK_THROWS_WITH(feed_with(ok, R"(, "extra": 1)"), Contains("unknown member \"extra\""));
  CHECK_THROWS_WITH(parse_feed(R"({"feed": "t", "kind": "order"})", "x", testing::trade()),
                    Contains("not the kind trade"));
}
