// parse_record's uuids, IP addresses and store event types, the bounds of a
// small declaration of every type, and append_json, alone and read back.
#include "millrace/kinds/record.hpp"

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "millrace/core/decimal.hpp"
#include "millrace/core/rejection.hpp"
#include "record_fixtures.hpp"
#include "shipped.hpp"

using namespace millrace;
using namespace millrace::kinds;
using namespace millrace::kinds::testing::records;
using core::Decimal;
using core::Rejection;
using core::RejectReason;
using millrace::kinds::testing::order;
using millrace::kinds::testing::store_event;

namespace {

std::string json_of(const Value& v) {
  std::string out;
  append_json(out, v);
  return out;
}

}  // namespace

TEST_CASE("uuids are checked and kept in lower case", "[kinds][record]") {
  const auto& s = sample();
  const auto r =
      accept(s, object(set(sample_members(), "Id", R"("743DA362-69DF-4E63-A95F-A1D93E29825E")")));
  CHECK(r.identity(s) == kId);
  CHECK(r.time(s) == 1'717'243'200'000'000);
  CHECK(accept(s, object(sample_members())).identity(s) == kId);
  for (const std::string bad :
       {"743da36269df4e63a95fa1d93e29825e", "743da362-69df-4e63-a95f-a1d93e29825", "",
        "743da362-69df-4e63-a95f-a1d93e29825g", "{743da362-69df-4e63-a95f-a1d93e29825e}",
        "743da362_69df_4e63_a95f_a1d93e29825e"}) {
    check_rejected(s, object(set(sample_members(), "Id", "\"" + bad + "\"")),
                   RejectReason::kInvalidFormat, "Id");
  }
  check_rejected(s, object(set(sample_members(), "Id", "7")), RejectReason::kWrongType, "Id");
  // store_event's identity is a uuid too.
  const auto e = accept(store_event(), object(set(store_event_members(), "request_id",
                                                  R"("ABCDEF00-0000-4000-8000-00000000000A")")));
  CHECK(value(store_event(), e, "request_id") ==
        Value(std::string("abcdef00-0000-4000-8000-00000000000a")));
}

TEST_CASE("a store event's event_type is its header's, which the body may repeat",
          "[kinds][record]") {
  const auto& d = store_event();
  const auto r = accept(d, object(store_event_members()));
  CHECK(r.identity(d) == kId);
  CHECK(r.time(d) == ts("2023-05-19T14:36:09.985501Z").us);
  CHECK(value(d, r, "event_type") == Value(std::string("sale_event")));
  CHECK(value(d, r, "price") == Value(dec("45.85")));
  CHECK(value(d, r, "discount") == Value(dec("10.3")));
  CHECK(value(d, r, "qty") == Value(std::int64_t{34}));
  CHECK(value(d, r, "contact_me") == Value(std::string("github.com/miztiik")));
  CHECK(value(d,
              accept(d, object(set(store_event_members(), "event_type", R"("inventory_event")"))),
              "event_type") == Value(std::string("inventory_event")));
  // Absent or null, the body takes the header's (sale_event here).
  CHECK(value(d, accept(d, object(drop(store_event_members(), "event_type"))), "event_type") ==
        Value(std::string("sale_event")));
  CHECK(value(d, accept(d, object(set(store_event_members(), "event_type", "null"))),
              "event_type") == Value(std::string("sale_event")));
  for (const std::string bad : {"refund_event", "Sale_event", "sale_event ", "sale"}) {
    check_rejected(d, object(set(store_event_members(), "event_type", "\"" + bad + "\"")),
                   RejectReason::kEventTypeMismatch, "event_type");
  }
  const std::string body = object(drop(store_event_members(), "event_type"));
  const auto rejected = [&](std::optional<std::string_view> header) {
    return std::get<Rejection>(parse_record(d, body, header));
  };
  CHECK(rejected(std::nullopt).reason == RejectReason::kMissingEventType);
  CHECK(rejected(std::nullopt).field.empty());
  CHECK(rejected("refund_event").reason == RejectReason::kUnknownEventType);
  CHECK(rejected("refund_event").detail ==
        "unknown event_type header \"refund_event\", expected sale_event or inventory_event");
  // Refused before any field: this body has no id.
  CHECK(std::get<Rejection>(parse_record(d, object(drop(store_event_members(), "id")))).reason ==
        RejectReason::kMissingEventType);
  check_rejected(d, object(set(store_event_members(), "event_type", "1")), RejectReason::kWrongType,
                 "event_type");
  // A free text may be empty.
  CHECK(value(d, accept(d, object(set(store_event_members(), "contact_me", R"("")"))),
              "contact_me") == Value(std::string()));
  check_rejected(d, object(set(store_event_members(), "contact_me", "false")),
                 RejectReason::kWrongType, "contact_me");
  check_rejected(d, object(set(store_event_members(), "contact_me", R"("a\u0000b")")),
                 RejectReason::kInvalidFormat, "contact_me");
  check_rejected(d, object(set(store_event_members(), "discount", "100.5")),
                 RejectReason::kOutOfRange, "discount");
  check_rejected(d, object(drop(store_event_members(), "is_return")), RejectReason::kMissingField,
                 "is_return");
}

TEST_CASE("ip fields take IPv4 and IPv6 text", "[kinds][record]") {
  const auto& d = store_event();
  for (const std::string good : {"127.0.0.1", "10.0.12.1", "::1", "2001:db8::8a2e:370:7334",
                                 "::ffff:192.0.2.1", "0.0.0.0"}) {
    const auto r = accept(d, object(set(store_event_members(), "store_ip", "\"" + good + "\"")));
    CHECK(value(d, r, "store_ip") == Value(good));
  }
  for (const std::string bad : {"256.0.0.1", "1.2.3", "localhost", "fe80::1%eth0", "", " 1.2.3.4",
                                "1.2.3.4/24", "2001:db8:::1"}) {
    check_rejected(d, object(set(store_event_members(), "store_ip", "\"" + bad + "\"")),
                   RejectReason::kInvalidFormat, "store_ip");
  }
  check_rejected(d, object(set(store_event_members(), "store_ip", R"("1.2.3.4\u0000")")),
                 RejectReason::kInvalidFormat, "store_ip");
  check_rejected(d, object(set(store_event_members(), "store_ip", "2130706433")),
                 RejectReason::kWrongType, "store_ip");
  check_rejected(d, object(drop(store_event_members(), "store_ip")), RejectReason::kMissingField,
                 "store_ip");
  // An optional ip.
  const auto& s = sample();
  CHECK(std::holds_alternative<std::monostate>(
      accept(s, object(set(sample_members(), "Addr", "null"))).values[*s.find("Addr")]));
  check_rejected(s, object(set(sample_members(), "Addr", R"("x")")), RejectReason::kInvalidFormat,
                 "Addr");
}

TEST_CASE("text values and bounds in a small declaration", "[kinds][record]") {
  const auto& s = sample();
  CHECK(accept(s, object(set(sample_members(), "Code", R"("cd")"))).values[*s.find("Code")] ==
        Value(std::string("cd")));
  check_rejected(s, object(set(sample_members(), "Code", R"("ef")")), RejectReason::kOutOfRange,
                 "Code");
  check_rejected(s, object(set(sample_members(), "Code", R"("abcde")")), RejectReason::kOutOfRange,
                 "Code");
  const auto n = [&](const std::string& raw) {
    return accept(s, object(set(sample_members(), "N", raw))).values[*s.find("N")];
  };
  CHECK(n("-9223372036854775808") == Value(std::numeric_limits<std::int64_t>::min()));
  CHECK(n("9223372036854775807") == Value(std::numeric_limits<std::int64_t>::max()));
  CHECK(n("-0") == Value(std::int64_t{0}));
  const auto amount = [&](const std::string& raw) {
    return accept(s, object(set(sample_members(), "Amount", raw))).values[*s.find("Amount")];
  };
  CHECK(amount("-1000") == Value(dec("-1000")));
  CHECK(amount("-0.000001") == Value(Decimal::from_units(-1)));
  CHECK(amount("25e-1") == Value(dec("2.5")));
  check_rejected(s, object(set(sample_members(), "Amount", "-1000.000001")),
                 RejectReason::kOutOfRange, "Amount");
  // A number Decimal cannot hold is out of range; one beyond a double,
  // anywhere in the message, is refused by the JSON parser (as for store
  // events).
  check_rejected(s, object(set(sample_members(), "Amount", "1e13")), RejectReason::kOutOfRange,
                 "Amount");
  check_rejected(s, object(set(sample_members(), "Amount", "1e400")), RejectReason::kInvalidJson,
                 "");
  check_rejected(s, object(set(sample_members(), "Unknown", "1e400")), RejectReason::kInvalidJson,
                 "");
}

TEST_CASE("append_json writes each kind of value", "[kinds][record]") {
  CHECK(json_of(std::monostate{}) == "null");
  CHECK(json_of(std::string("plain")) == R"("plain")");
  CHECK(json_of(std::string("a\"b\\c\x01"
                            "d\n\t\x1f\x7f")) == R"("a\"b\\c\u0001d\u000a\u0009\u001f)"
                                                 "\x7f\"");
  CHECK(json_of(std::string("a\0b", 3)) == R"("a\u0000b")");
  CHECK(json_of(std::string("Z\xc3\xbcrich \xe2\x9c\x93")) == "\"Z\xc3\xbcrich \xe2\x9c\x93\"");
  CHECK(json_of(std::int64_t{-42}) == "-42");
  CHECK(json_of(std::numeric_limits<std::int64_t>::min()) == "-9223372036854775808");
  CHECK(json_of(dec("41.97")) == "41.97");
  CHECK(json_of(dec("-0.5")) == "-0.5");
  CHECK(json_of(dec("20")) == "20");
  CHECK(json_of(Decimal::from_units(1)) == "0.000001");
  CHECK(json_of(true) == "true");
  CHECK(json_of(false) == "false");
  CHECK(json_of(Timestamp{1'572'351'889'079'653}) == R"("2019-10-29T12:24:49.079653Z")");
  CHECK(json_of(Timestamp{0}) == R"("1970-01-01T00:00:00.000000Z")");
  // It appends.
  std::string out = "[";
  append_json(out, std::int64_t{1});
  out += ',';
  append_json(out, std::string("x"));
  CHECK(out == R"([1,"x")");
}

TEST_CASE("append_json round trips through parse_record", "[kinds][record]") {
  const auto& s = sample();
  const std::vector<std::vector<Value>> records = {
      {std::string(kId), Timestamp{1'572'351'889'079'653},
       std::string("say \"hi\" \\ back\x01\n\t\x1f\x7f Z\xc3\xbcrich \xe2\x9c\x93"),
       std::string("ab"), std::string("2001:db8::1"), std::string(),
       std::numeric_limits<std::int64_t>::min(), dec("-0.5"), false},
      {std::string(kId), Timestamp{0}, std::string("\\\"\\"), std::monostate{},
       std::string("10.1.2.1"), std::string("{\"not\": \"json\"}\r\n"),
       std::numeric_limits<std::int64_t>::max(), dec("999.999999"), true},
      {std::string(kId), Timestamp{253'402'300'799'999'999}, std::monostate{}, std::monostate{},
       std::monostate{}, std::monostate{}, std::monostate{}, std::monostate{}, std::monostate{}},
  };
  for (const auto& values : records) {
    REQUIRE(values.size() == s.fields.size());
    std::string json = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) json += ',';
      append_json(json, s.fields[i].name);
      json += ':';
      append_json(json, values[i]);
    }
    json += ",\"Items\":[{\"Label\":";
    append_json(json, values[2].index() == 0 ? Value(std::string("x")) : values[2]);
    json += "}]}";
    const auto r = accept(s, json);
    INFO("json: " << json);
    CHECK(r.values == values);
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0][0] == (values[2].index() == 0 ? Value(std::string("x")) : values[2]));
  }

  // And an order's values, written back as the order.
  const auto& d = order();
  const auto r = accept(d, object(order_members()));
  Members members;
  for (std::size_t i = 0; i < d.fields.size(); ++i) {
    members.emplace_back(d.fields[i].name, json_of(r.values[i]));
  }
  std::vector<std::string> lines;
  for (const auto& l : r.lines) {
    Members line_members;
    for (std::size_t i = 0; i < l.size(); ++i) {
      line_members.emplace_back(d.lines->fields[i].name, json_of(l[i]));
    }
    lines.push_back(object(line_members));
  }
  members.emplace_back("Details", array(lines));
  const auto again = accept(d, object(members));
  CHECK(again.values == r.values);
  CHECK(again.lines == r.lines);
}
