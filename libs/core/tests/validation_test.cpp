#include <catch2/catch.hpp>
#include <set>

#include "millrace/core/rejection.hpp"
#include "millrace/reference/store_event.hpp"
#include "sample_event.hpp"
#include "validation_support.hpp"

using namespace millrace::core;
using namespace millrace::core::testing;

namespace {

// Asserts reason and field of the rejection of a sample with one member set
// to a raw JSON value.
Rejection reject_with(std::string_view key, std::string raw, RejectReason reason) {
  const std::string payload = SampleBody().set(key, raw).str();
  const Rejection r = reject(payload);
  INFO("payload: " << payload << "\ndetail: " << r.detail);
  CHECK(reason_code(r.reason) == reason_code(reason));
  CHECK(r.field == key);
  CHECK(r.detail.find(key) != std::string::npos);
  return r;
}

void accept_with(std::string_view key, std::string raw) {
  accept(SampleBody().set(key, std::move(raw)).str());
}

}  // namespace

TEST_CASE("reason codes are the public names", "[validation]") {
  CHECK(reason_code(RejectReason::kInvalidJson) == "invalid_json");
  CHECK(reason_code(RejectReason::kNotAnObject) == "not_an_object");
  CHECK(reason_code(RejectReason::kMissingField) == "missing_field");
  CHECK(reason_code(RejectReason::kWrongType) == "wrong_type");
  CHECK(reason_code(RejectReason::kOutOfRange) == "out_of_range");
  CHECK(reason_code(RejectReason::kInvalidFormat) == "invalid_format");
  CHECK(reason_code(RejectReason::kMissingEventType) == "missing_event_type");
  CHECK(reason_code(RejectReason::kUnknownEventType) == "unknown_event_type");
  CHECK(reason_code(RejectReason::kEventTypeMismatch) == "event_type_mismatch");
  std::set<std::string_view> codes;
  for (int i = 0; i < kRejectReasonCount; ++i) codes.insert(reason_code(RejectReason(i)));
  CHECK(codes.size() == kRejectReasonCount);
}

TEST_CASE("the contract's sample parses with exact values", "[validation]") {
  const std::string payload =
      R"({"id": "743da362-69df-4e63-a95f-a1d93e29825e", "request_id": "743da362-69df-4e63-a95f-a1d93e29825e", "store_id": 5, "store_fqdn": "localhost", "store_ip": "127.0.0.1", "cust_id": 549, "category": "Notebooks", "sku": 169008, "price": 45.85, "qty": 34, "discount": 10.3, "gift_wrap": true, "variant": "red", "priority_shipping": false, "ts": "2023-05-19T14:36:09.985501", "contact_me": "github.com/miztiik", "is_return": true})";
  CHECK(payload == SampleBody().str());
  const StoreEvent e = accept(payload);
  CHECK(e.id == "743da362-69df-4e63-a95f-a1d93e29825e");
  CHECK(e.request_id == "743da362-69df-4e63-a95f-a1d93e29825e");
  CHECK(e.store_id == 5);
  CHECK(e.store_fqdn == "localhost");
  CHECK(e.store_ip == "127.0.0.1");
  CHECK(e.cust_id == 549);
  CHECK(e.category == "Notebooks");
  CHECK(e.sku == 169008);
  CHECK(e.price.units() == 45'850'000);
  CHECK(e.qty == 34);
  CHECK(e.discount.units() == 10'300'000);
  CHECK(e.gift_wrap == true);
  CHECK(e.variant == "red");
  CHECK(e.priority_shipping == false);
  CHECK(e.ts == 1'684'506'969'985'501);
  REQUIRE(e.contact_me.has_value());
  CHECK(*e.contact_me == "github.com/miztiik");
  CHECK(e.is_return == true);
  CHECK(e.event_type == EventType::kSale);

  CHECK(accept(payload, std::string_view("inventory_event")).event_type == EventType::kInventory);
}

TEST_CASE("layout does not matter: whitespace, member order, escaped keys", "[validation]") {
  const StoreEvent expected = accept(SampleBody().str());
  CHECK(event_diff(accept(" \n\t" + SampleBody().str() + "\r\n "), expected).empty());
  // Reversed member order.
  SampleBody reversed;
  reversed.reverse();
  CHECK(event_diff(accept(reversed.str()), expected).empty());
  // A key spelled with an escape is the same key.
  const std::string escaped = SampleBody().remove("qty").append("q\\u0074y", "34").str();
  CHECK(accept(escaped).qty == 34);
}

TEST_CASE("unknown members are ignored whatever they hold", "[validation]") {
  const StoreEvent expected = accept(SampleBody().str());
  SampleBody body;
  body.append("extra_string", "\"x\"")
      .append("extra_null", "null")
      .append("extra_number", "1e400000")  // not representable: still JSON, see below
      .append("extra_object", R"({"qty": "not a number", "id": 1, "nested": [1, {"a": [[]]}]})")
      .append("extra_array", R"([{"price": "x"}, [1, 2, 3], null, true])");
  // RapidJSON refuses numbers beyond double range even when asked for the
  // raw text, so a sender must not put one anywhere in the message.
  CHECK(reject(body.str()).reason == RejectReason::kInvalidJson);
  body.set("extra_number", "-12.5e-3");
  CHECK(event_diff(accept(body.str()), expected).empty());
}

TEST_CASE("a key that differs from a field's name by one byte or its length is unknown",
          "[validation]") {
  const StoreEvent expected = accept(SampleBody().str());
  const std::vector<std::string> fields = SampleBody::required_fields();
  const std::set<std::string> names(fields.begin(), fields.end());
  for (const std::string& field : fields) {
    std::vector<std::string> near = {
        field + "x", field.substr(0, field.size() - 1), "x" + field.substr(1),
        field.substr(0, field.size() - 1) + "x",
        field.substr(0, field.size() / 2) + "X" + field.substr(field.size() / 2 + 1)};
    for (const std::string& key : near) {
      if (names.count(key) != 0) continue;
      INFO("field: " << field << ", key: " << key);
      // A value no field accepts: read as the field, it would be rejected.
      CHECK(event_diff(accept(SampleBody().append(key, "[{}]").str()), expected).empty());
      const Rejection r = reject(SampleBody().remove(field).append(key, "[{}]").str());
      CHECK(r.reason == RejectReason::kMissingField);
      CHECK(r.field == field);
    }
  }
}

TEST_CASE("every required field: absent or null is missing_field naming it", "[validation]") {
  for (const std::string& field : SampleBody::required_fields()) {
    INFO("field: " << field);
    Rejection r = reject(SampleBody().remove(field).str());
    CHECK(r.reason == RejectReason::kMissingField);
    CHECK(r.field == field);
    CHECK(r.detail == field + " is missing");

    r = reject(SampleBody().set(field, "null").str());
    CHECK(r.reason == RejectReason::kMissingField);
    CHECK(r.field == field);
    CHECK(r.detail == field + " is null");
  }
}

TEST_CASE("optional members: contact_me and event_type", "[validation]") {
  CHECK_FALSE(accept(SampleBody().remove("contact_me").str()).contact_me.has_value());
  CHECK_FALSE(accept(SampleBody().set("contact_me", "null").str()).contact_me.has_value());
  CHECK(accept(SampleBody().set("contact_me", "\"\"").str()).contact_me == std::string());
  reject_with("contact_me", "5", RejectReason::kWrongType);
  reject_with("contact_me", "[\"a\"]", RejectReason::kWrongType);
  CHECK(accept(SampleBody().set("contact_me", "\"" + std::string(1000, 'c') + "\"").str())
            .contact_me->size() == 1000);
  reject_with("contact_me", "\"a\\u0000b\"", RejectReason::kInvalidFormat);

  CHECK(accept(SampleBody().append("event_type", "\"sale_event\"").str()).event_type ==
        EventType::kSale);
  CHECK(accept(SampleBody().append("event_type", "null").str()).event_type == EventType::kSale);
  CHECK(accept(SampleBody().append("event_type", "\"inventory_event\"").str(),
               std::string_view("inventory_event"))
            .event_type == EventType::kInventory);
}

TEST_CASE("invalid_json", "[validation]") {
  for (const std::string& bad : {
           std::string(""),
           std::string("   "),
           std::string("{"),
           std::string(R"({"id": )"),
           std::string(R"({"a": 1,})"),
           std::string(R"({"a": 1} x)"),
           std::string(R"({"a": 1} {"b": 2})"),
           std::string(R"({'a': 1})"),
           std::string(R"({"a": NaN})"),
           std::string(R"({"a": 01})"),
           std::string(R"({"a": .5})"),
           std::string(R"({"a": +1})"),
           std::string(R"({"a": 1} // comment)"),
           std::string(R"({"a": "tab	inside"})"),
           std::string("{\"a\": \"\xff\xfe\"}"),  // not UTF-8
           std::string("{\"a\": \"\xc0\xaf\"}"),  // overlong
           std::string("{\"a\": 1}\0{", 10),      // NUL then garbage
           std::string("\0{\"a\": 1}", 9),
           SampleBody().str().substr(0, 100),
       }) {
    INFO("payload: " << bad);
    const Rejection r = reject(bad);
    CHECK(r.reason == RejectReason::kInvalidJson);
    CHECK(r.field.empty());
    CHECK_FALSE(r.detail.empty());
  }
  // Reported before any header problem.
  CHECK(reject("{", std::nullopt).reason == RejectReason::kInvalidJson);
  CHECK(reject("{", std::string_view("refund_event")).reason == RejectReason::kInvalidJson);
}

// RapidJSON's SSE2 scan of a string, which reads 16 aligned bytes at a
// time, lets 0x1a..0x1f through: a string long enough for it must still be
// refused.
TEST_CASE("a raw control character in a string is invalid_json wherever it lies", "[validation]") {
  for (int c = 0x01; c < 0x20; ++c) {
    for (std::size_t at = 0; at < 48; ++at) {
      std::string text(48, 'a');
      text[at] = static_cast<char>(c);
      const std::string payload = SampleBody().set("contact_me", "\"" + text + "\"").str();
      INFO("control character " << c << " at " << at);
      const Rejection r = reject(payload);
      CHECK(r.reason == RejectReason::kInvalidJson);
      CHECK(r.detail.find("Invalid escape character") != std::string::npos);
    }
  }
}

TEST_CASE("nesting depth is bounded", "[validation]") {
  auto nested = [](int depth) {
    return SampleBody().append("deep", std::string(depth, '[') + std::string(depth, ']')).str();
  };
  accept(nested(60));
  const Rejection r = reject(nested(10'000));
  CHECK(r.reason == RejectReason::kInvalidJson);
  CHECK(r.detail.find("nested deeper") != std::string::npos);
}

TEST_CASE("not_an_object", "[validation]") {
  for (const char* bad : {"[]", "[1, 2]", "\"x\"", "42", "null", "true", " [ {\"id\": 1} ] "}) {
    INFO("payload: " << bad);
    const Rejection r = reject(bad);
    CHECK(r.reason == RejectReason::kNotAnObject);
    // Shape comes before the header.
    CHECK(reject(bad, std::nullopt).reason == RejectReason::kNotAnObject);
  }
}

TEST_CASE("event type header checks", "[validation]") {
  const std::string body = SampleBody().str();
  Rejection r = reject(body, std::nullopt);
  CHECK(r.reason == RejectReason::kMissingEventType);
  for (const char* bad : {"refund_event", "", "Sale_Event", "sale_event ", "sale"}) {
    r = reject(body, std::string_view(bad));
    CHECK(r.reason == RejectReason::kUnknownEventType);
    CHECK(r.detail.find("event_type") != std::string::npos);
  }
  // Header problems come before field problems.
  CHECK(reject("{}", std::nullopt).reason == RejectReason::kMissingEventType);
  CHECK(reject("{}", std::string_view("refund_event")).reason == RejectReason::kUnknownEventType);
  // The header decides even when the body carries the field.
  CHECK(reject(SampleBody().append("event_type", "\"sale_event\"").str(), std::nullopt).reason ==
        RejectReason::kMissingEventType);
}

TEST_CASE("event_type_mismatch", "[validation]") {
  Rejection r = reject(SampleBody().append("event_type", "\"inventory_event\"").str(), kSale);
  CHECK(r.reason == RejectReason::kEventTypeMismatch);
  CHECK(r.field == "event_type");
  CHECK(r.detail.find("inventory_event") != std::string::npos);
  r = reject(SampleBody().append("event_type", "\"refund_event\"").str(), kSale);
  CHECK(r.reason == RejectReason::kEventTypeMismatch);
  reject_with("event_type", "1", RejectReason::kWrongType);
  reject_with("event_type", "true", RejectReason::kWrongType);
}

TEST_CASE("wrong_type", "[validation]") {
  reject_with("id", "123", RejectReason::kWrongType);
  reject_with("request_id", "true", RejectReason::kWrongType);
  reject_with("store_id", "\"5\"", RejectReason::kWrongType);
  reject_with("store_id", "5.0", RejectReason::kWrongType);
  reject_with("store_fqdn", "5", RejectReason::kWrongType);
  reject_with("store_ip", "2130706433", RejectReason::kWrongType);
  reject_with("cust_id", "5e2", RejectReason::kWrongType);
  reject_with("category", "{}", RejectReason::kWrongType);
  reject_with("sku", "[169008]", RejectReason::kWrongType);
  reject_with("price", "\"12.5\"", RejectReason::kWrongType);
  reject_with("price", "false", RejectReason::kWrongType);
  reject_with("discount", "\"10.3\"", RejectReason::kWrongType);
  reject_with("gift_wrap", "\"true\"", RejectReason::kWrongType);
  reject_with("gift_wrap", "1", RejectReason::kWrongType);
  reject_with("variant", "[]", RejectReason::kWrongType);
  reject_with("priority_shipping", "0", RejectReason::kWrongType);
  reject_with("ts", "1684506969", RejectReason::kWrongType);
  reject_with("is_return", "\"false\"", RejectReason::kWrongType);
  Rejection r = reject_with("qty", "\"7\"", RejectReason::kWrongType);
  CHECK(r.detail == "qty must be an integer, got string \"7\"");
  r = reject_with("qty", "7.5", RejectReason::kWrongType);
  CHECK(r.detail == "qty must be an integer, got number 7.5");
  reject_with("qty", "7.0", RejectReason::kWrongType);
  reject_with("qty", "1E1", RejectReason::kWrongType);
}

TEST_CASE("out_of_range and its boundaries", "[validation]") {
  Rejection r = reject_with("qty", "-3", RejectReason::kOutOfRange);
  CHECK(r.detail == "qty must be >= 1, got -3");
  r = reject_with("qty", "0", RejectReason::kOutOfRange);
  CHECK(r.detail == "qty must be >= 1, got 0");
  reject_with("qty", "1000001", RejectReason::kOutOfRange);
  reject_with("qty", "99999999999999999999999", RejectReason::kOutOfRange);
  accept_with("qty", "1");
  accept_with("qty", "1000000");

  reject_with("store_id", "-1", RejectReason::kOutOfRange);
  reject_with("store_id", "2147483648", RejectReason::kOutOfRange);
  accept_with("store_id", "0");
  accept_with("store_id", "-0");
  CHECK(accept(SampleBody().set("store_id", "2147483647").str()).store_id == 2147483647);

  reject_with("cust_id", "-549", RejectReason::kOutOfRange);
  reject_with("cust_id", "9223372036854775808", RejectReason::kOutOfRange);
  CHECK(accept(SampleBody().set("cust_id", "9223372036854775807").str()).cust_id ==
        9223372036854775807LL);
  reject_with("sku", "-1", RejectReason::kOutOfRange);
  reject_with("sku", "18446744073709551616", RejectReason::kOutOfRange);

  reject_with("price", "-0.01", RejectReason::kOutOfRange);
  reject_with("price", "1000000000.000001", RejectReason::kOutOfRange);
  reject_with("price", "1e13", RejectReason::kOutOfRange);
  r = reject_with("price", "45.8500001", RejectReason::kOutOfRange);
  CHECK(r.detail.find("decimal places") != std::string::npos);
  CHECK(accept(SampleBody().set("price", "0").str()).price == Decimal::from_integer(0));
  CHECK(accept(SampleBody().set("price", "1e9").str()).price ==
        Decimal::from_integer(1'000'000'000));
  CHECK(accept(SampleBody().set("price", "4585e-2").str()).price.units() == 45'850'000);

  reject_with("discount", "100.000001", RejectReason::kOutOfRange);
  reject_with("discount", "-0.1", RejectReason::kOutOfRange);
  accept_with("discount", "0");
  accept_with("discount", "100");

  r = reject_with("store_fqdn", "\"\"", RejectReason::kOutOfRange);
  CHECK(r.detail == "store_fqdn must not be empty");
  reject_with("category", "\"\"", RejectReason::kOutOfRange);
  reject_with("variant", "\"\"", RejectReason::kOutOfRange);
  reject_with("category", "\"" + std::string(256, 'x') + "\"", RejectReason::kOutOfRange);
  accept_with("category", "\"" + std::string(255, 'x') + "\"");
  // The limit counts bytes: 128 two-byte characters are 256 bytes.
  std::string wide;
  for (int i = 0; i < 128; ++i) wide += "\xc3\xa9";
  reject_with("variant", "\"" + wide + "\"", RejectReason::kOutOfRange);
}

TEST_CASE("invalid_format", "[validation]") {
  reject_with("id", "\"not-a-uuid\"", RejectReason::kInvalidFormat);
  reject_with("id", "\"743da36269df4e63a95fa1d93e29825e\"", RejectReason::kInvalidFormat);
  reject_with("id", "\"{743da362-69df-4e63-a95f-a1d93e29825e}\"", RejectReason::kInvalidFormat);
  reject_with("id", "\"743da362-69df-4e63-a95f-a1d93e29825g\"", RejectReason::kInvalidFormat);
  reject_with("request_id", "\"743da362-69df-4e63-a95f-a1d93e29825\"",
              RejectReason::kInvalidFormat);
  CHECK(accept(SampleBody().set("id", "\"743DA362-69DF-4E63-A95F-A1D93E29825E\"").str()).id ==
        "743da362-69df-4e63-a95f-a1d93e29825e");

  for (const char* bad : {"\"999.1.1.1\"", "\"1.2.3\"", "\"localhost\"", "\"\"", "\"fe80::1%eth0\"",
                          "\"127.0.0.1 \"", "\"127.0.0.1\\u0000x\"", "\"::g\""}) {
    reject_with("store_ip", bad, RejectReason::kInvalidFormat);
  }
  for (const char* good : {"\"10.0.0.255\"", "\"::1\"", "\"2001:db8::1\"", "\"::ffff:10.0.0.1\""}) {
    accept_with("store_ip", good);
  }

  Rejection r = reject_with("ts", "\"2023-02-29T00:00:00\"", RejectReason::kInvalidFormat);
  CHECK(r.detail.find("2023-02-29T00:00:00") != std::string::npos);
  reject_with("ts", "\"yesterday\"", RejectReason::kInvalidFormat);
  CHECK(accept(SampleBody().set("ts", "\"2024-02-29T00:00:00+05:30\"").str()).ts ==
        *parse_timestamp("2024-02-28T18:30:00Z"));

  // Escapes that decode to text PostgreSQL refuses.
  reject_with("category", "\"Note\\u0000books\"", RejectReason::kInvalidFormat);
  reject_with("variant", "\"\\udc00\"", RejectReason::kInvalidFormat);
  // Wherever the bad escape falls in a long ASCII value, which is checked
  // eight bytes at a time.
  for (std::size_t at = 0; at <= 20; ++at) {
    INFO("at byte " << at);
    const std::string before(at, 'a'), after(20 - at, 'b');
    reject_with("category", "\"" + before + "\\u0000" + after + "\"", RejectReason::kInvalidFormat);
    reject_with("variant", "\"" + before + "\\udc00" + after + "\"", RejectReason::kInvalidFormat);
    CHECK(accept(SampleBody().set("variant", "\"" + before + "\\u00e9" + after + "\"").str())
              .variant == before + "\xc3\xa9" + after);
  }
  // A proper surrogate pair and other escapes are fine.
  CHECK(accept(SampleBody().set("variant", "\"\\ud83d\\ude00 \\\"red\\\"\\n\"").str()).variant ==
        "\xf0\x9f\x98\x80 \"red\"\n");
}

TEST_CASE("a repeated known member is rejected", "[validation]") {
  Rejection r = reject(SampleBody().append("qty", "34").str());
  CHECK(r.reason == RejectReason::kInvalidFormat);
  CHECK(r.field == "qty");
  CHECK(r.detail == "qty appears more than once");
  r = reject(SampleBody().append("contact_me", "null").str());
  CHECK(r.reason == RejectReason::kInvalidFormat);
  CHECK(r.field == "contact_me");
  r = reject(
      SampleBody().append("event_type", "\"sale_event\"").append("event_type", "null").str());
  CHECK(r.field == "event_type");
  // Unknown members may repeat: they are not read.
  accept(SampleBody().append("x", "1").append("x", "2").str());
}

TEST_CASE("the first failing field in contract order is reported", "[validation]") {
  Rejection r = reject(SampleBody().set("qty", "-1").set("id", "1").str());
  CHECK(r.field == "id");
  r = reject(SampleBody().set("is_return", "1").set("ts", "\"x\"").remove("price").str());
  CHECK(r.field == "price");
  CHECK(r.reason == RejectReason::kMissingField);
  r = reject(SampleBody().set("is_return", "1").set("contact_me", "1").str());
  CHECK(r.field == "contact_me");
  r = reject(SampleBody().set("is_return", "1").append("event_type", "\"x\"").str());
  CHECK(r.field == "is_return");
}

TEST_CASE("details quote offending values briefly and as valid text", "[validation]") {
  const std::string long_value(500, 'z');
  Rejection r = reject_with("id", "\"" + long_value + "\"", RejectReason::kInvalidFormat);
  CHECK(r.detail.size() < 120);
  CHECK(r.detail.find("...") != std::string::npos);
  r = reject(SampleBody().str(), std::string_view("\xff\x01refund"));
  CHECK(r.reason == RejectReason::kUnknownEventType);
  CHECK(r.detail.find("\\xff\\u0001refund") != std::string::npos);
}
