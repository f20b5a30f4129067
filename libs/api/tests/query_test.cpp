// Query parsing: percent-decoding, limit, RFC 3339 from/to, Accept.
#include "query.hpp"

#include <catch2/catch.hpp>

using namespace millrace::api;

TEST_CASE("percent-decoding", "[api][query]") {
  CHECK(percent_decode("Pens%20%26%20ink", false) == "Pens & ink");
  CHECK(percent_decode("a+b", true) == "a b");
  CHECK(percent_decode("a+b", false) == "a+b");
  CHECK(percent_decode("%2b%2F", false) == "+/");
  CHECK_FALSE(percent_decode("%", false));
  CHECK_FALSE(percent_decode("%2", false));
  CHECK_FALSE(percent_decode("%zz", false));
}

TEST_CASE("text PostgreSQL can store: UTF-8 without NUL", "[api][query]") {
  CHECK(storable_text("Stifte & Füller"));
  CHECK(storable_text(""));
  CHECK_FALSE(storable_text(std::string("a\0b", 3)));
  CHECK_FALSE(storable_text("\xff"));
  CHECK_FALSE(storable_text("\xc3"));          // truncated
  CHECK_FALSE(storable_text("\xc0\xaf"));      // overlong
  CHECK_FALSE(storable_text("\xed\xa0\x80"));  // a surrogate
}

TEST_CASE("RFC 3339 date-times", "[api][query]") {
  CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_rfc3339("1970-01-01t00:00:01z") == 1'000'000);
  CHECK(parse_rfc3339("1970-01-01T01:00:00+01:00") == 0);
  CHECK(parse_rfc3339("1969-12-31T23:00:00-01:00") == 0);
  CHECK(parse_rfc3339("1970-01-01T00:00:00.1234567Z") == 123'456);
  CHECK(parse_rfc3339("2024-02-29T00:00:00Z") == 1'709'164'800'000'000);
  // A leap second reads as the next second, as PostgreSQL reads it.
  CHECK(parse_rfc3339("1970-01-01T00:00:60Z") == 60'000'000);
  CHECK(parse_rfc3339("0000-01-01T00:00:00Z").has_value());
  for (const char* bad :
       {"", "2026-11-21", "2026-11-21T14:00:00", "2026-11-21 14:00:00Z", "2026-13-01T00:00:00Z",
        "2023-02-29T00:00:00Z", "2026-11-21T24:00:00Z", "2026-11-21T14:00:00+1:00",
        "2026-11-21T14:00:00.Z", "2026-11-21T14:00:00Zjunk", "+2026-11-21T14:00:00Z",
        "2026-11-21T14:00:00+24:00"}) {
    INFO(bad);
    CHECK_FALSE(parse_rfc3339(bad));
  }
}

TEST_CASE("timestamptz literals round-trip, and year 0 is before everything", "[api][query]") {
  CHECK(timestamptz_literal(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(timestamptz_literal(*parse_rfc3339("2026-11-21T15:04:05.5+01:00")) ==
        "2026-11-21T14:04:05.500000Z");
  CHECK(timestamptz_literal(*parse_rfc3339("1900-03-01T00:00:00Z")) ==
        "1900-03-01T00:00:00.000000Z");
  CHECK(timestamptz_literal(*parse_rfc3339("0001-01-01T00:00:00Z")) ==
        "0001-01-01T00:00:00.000000Z");
  CHECK(timestamptz_literal(*parse_rfc3339("0000-12-31T23:59:59Z")) == "-infinity");
  CHECK(timestamptz_literal(*parse_rfc3339("9999-12-31T23:59:59-23:59")) ==
        "10000-01-01T23:58:59.000000Z");
}

TEST_CASE("query parameters: limit, from, to, group, unknown and repeated refused",
          "[api][query]") {
  auto p = std::get<ViewParams>(parse_params("", ParamSet::kWindowed));
  CHECK(p.limit == kDefaultLimit);
  CHECK_FALSE(p.from_us);
  p = std::get<ViewParams>(parse_params(
      "limit=10000&from=1970-01-01T00:00:00%2B00:00&to=1970-01-01T00:00:01Z", ParamSet::kWindowed));
  CHECK(p.limit == 10000);
  CHECK(p.from_us == 0);
  CHECK(p.to_us == 1'000'000);
  p = std::get<ViewParams>(parse_params("group=millrace+sink&limit=1", ParamSet::kGroup));
  CHECK(p.group == "millrace sink");
  CHECK(p.limit == 1);

  const auto error = [](std::string_view q, ParamSet s) {
    auto r = parse_params(q, s);
    REQUIRE(std::holds_alternative<QueryError>(r));
    return std::get<QueryError>(r);
  };
  CHECK(error("limit=0", ParamSet::kLimit).parameter == "limit");
  CHECK(error("limit=-1", ParamSet::kLimit).parameter == "limit");
  CHECK(error("limit=+5", ParamSet::kLimit).parameter == "limit");
  CHECK(error("limit=5.0", ParamSet::kLimit).parameter == "limit");
  CHECK(error("limit=10001", ParamSet::kLimit).parameter == "limit");
  CHECK(error("limit=99999999999999999999", ParamSet::kLimit).parameter == "limit");
  CHECK(error("from=2026-11-21T00:00:00Z", ParamSet::kLimit).parameter == "from");
  CHECK(error("group=x", ParamSet::kWindowed).parameter == "group");
  CHECK(error("limit=1", ParamSet::kNone).parameter == "limit");
  CHECK(error("limit=1&limit=1", ParamSet::kLimit).detail == "given more than once");
  CHECK(error("to=now", ParamSet::kWindowed).parameter == "to");
}

TEST_CASE("Accept: JSON by default, CSV when preferred, 406 when neither", "[api][query]") {
  CHECK(negotiate(std::nullopt, true) == Format::kJson);
  CHECK(negotiate("", true) == Format::kJson);
  CHECK(negotiate("*/*", true) == Format::kJson);
  CHECK(negotiate("text/csv", true) == Format::kCsv);
  CHECK(negotiate("TEXT/CSV; charset=utf-8", true) == Format::kCsv);
  CHECK(negotiate("application/json;q=0.5, text/csv", true) == Format::kCsv);
  CHECK(negotiate("text/csv;q=0.5, application/json", true) == Format::kJson);
  CHECK(negotiate("text/*, application/json;q=0.9", true) == Format::kCsv);
  CHECK(negotiate("text/csv, */*;q=0.1", true) == Format::kCsv);
  CHECK(negotiate("application/*", true) == Format::kJson);
  CHECK_FALSE(negotiate("application/xml", true));
  CHECK_FALSE(negotiate("text/csv", false));
  CHECK_FALSE(negotiate("application/json;q=0", true));
  CHECK(negotiate("text/csv", false) == std::nullopt);
}
