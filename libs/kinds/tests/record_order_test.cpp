// parse_record on whole orders: a seed 003 order's values, its required and optional fields,
// its lines, members unknown or given twice, bodies that are no object, and the checks' order.
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "millrace/core/decimal.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/kinds/record.hpp"
#include "record_fixtures.hpp"
#include "shipped.hpp"

using namespace millrace;
using namespace millrace::kinds;
using namespace millrace::kinds::testing::records;
using core::Decimal;
using core::RejectReason;
using millrace::kinds::testing::order;

TEST_CASE("a seed 003 order parses with exact values", "[kinds][record]") {
  const auto& d = order();
  const auto r = accept(d, object(order_members()));
  REQUIRE(r.values.size() == d.fields.size());
  CHECK(r.identity(d) == "5c4bb9a6-3cbf-4a1b-8f6e-3a9f4a1d2c11");
  // 14:24:49.0796527 at +02:00 is 12:24:49.079653 UTC (rounded as PostgreSQL does).
  constexpr core::TimestampUs kOrderDate = 1'572'351'889'000'000 + 79'653;
  CHECK(r.time(d) == kOrderDate);
  CHECK(value(d, r, "OrderDate") == Value(Timestamp{kOrderDate}));
  CHECK(value(d, r, "Total") == Value(Decimal::from_units(41'970'000)));
  CHECK(value(d, r, "Total") == Value(dec("41.97")));
  CHECK(value(d, r, "Region") == Value(std::string("West Europe")));
  CHECK(value(d, r, "State") == Value(std::string("D")));
  CHECK(value(d, r, "PostalCode") == Value(std::string("D02 X285")));
  CHECK(value(d, r, "Phone") == Value(std::string("+353 1 555 0100")));
  CHECK(value(d, r, "SMSOptIn") == Value(true));
  CHECK(value(d, r, "HasBeenShipped") == Value(false));
  CHECK(value(d, r, "Email") == Value(std::string("ana.okafor42@example.com")));

  REQUIRE(r.lines.size() == 2);
  const std::vector<Value> first = {std::string("ana.okafor42@example.com"), std::int64_t{100150},
                                    std::int64_t{2}, dec("12.99")};
  const std::vector<Value> second = {std::string("ana.okafor42@example.com"), std::int64_t{145000},
                                     std::int64_t{1}, dec("15.99")};
  CHECK(r.lines[0] == first);
  CHECK(r.lines[1] == second);
}

TEST_CASE("an order's optional fields may be absent or null", "[kinds][record]") {
  const auto& d = order();
  Members minimal;
  for (const auto& name : {"PaymentTransactionId", "OrderDate", "Total", "Details"}) {
    for (const auto& m : order_members()) {
      if (m.first == name) minimal.push_back(m);
    }
  }
  Members nulls = order_members();
  for (auto& [name, raw] : nulls) {
    if (!d.find(name) || !d.fields[*d.find(name)].required) {
      if (name != "Details") raw = "null";
    }
  }
  for (const auto& payload : {object(minimal), object(nulls)}) {
    const auto r = accept(d, payload);
    INFO("payload: " << payload);
    REQUIRE(r.values.size() == d.fields.size());
    for (std::size_t i = 0; i < d.fields.size(); ++i) {
      INFO("field: " << d.fields[i].name);
      CHECK(std::holds_alternative<std::monostate>(r.values[i]) == !d.fields[i].required);
    }
    CHECK(r.lines.size() == 2);
  }
}

TEST_CASE("timestamps take fractions and offsets", "[kinds][record]") {
  const auto& d = order();
  const auto time_of = [&](const std::string& text) {
    return accept(d, order_with("OrderDate", "\"" + text + "\"")).time(d);
  };
  CHECK(time_of("2019-10-29T14:24:49.0796527+02:00") == ts("2019-10-29T12:24:49.079653Z").us);
  CHECK(time_of("2019-10-29T14:24:49.0796527+02:00") ==
        time_of("2019-10-29T12:24:49.0796527"));  // no offset: UTC
  CHECK(time_of("2019-10-29T07:24:49-05:00") == ts("2019-10-29T12:24:49Z").us);
  CHECK(time_of("2019-10-29 12:24:49") == 1'572'351'889'000'000);
  CHECK(time_of("2019-10-29T12:24:49.1Z") == 1'572'351'889'100'000);
  CHECK(time_of("2024-02-29T00:00:00Z") == ts("2024-02-29T00:00:00Z").us);
}

TEST_CASE("a missing required order field is refused, naming it", "[kinds][record]") {
  const auto& d = order();
  for (const auto& name : {"PaymentTransactionId", "OrderDate", "Total"}) {
    SECTION(std::string("absent: ") + name) {
      check_rejected(d, order_without(name), RejectReason::kMissingField, name);
    }
    SECTION(std::string("null: ") + name) {
      check_rejected(d, order_with(name, "null"), RejectReason::kMissingField, name);
    }
  }
  CHECK_THAT(reject(d, order_without("Total")).detail, Catch::Contains("missing"));
  CHECK_THAT(reject(d, order_with("Total", "null")).detail, Catch::Contains("null"));
}

TEST_CASE("a line's fields are named by the line's number, from 1", "[kinds][record]") {
  const auto& d = order();
  check_rejected(d, order_with_lines({drop(line_a(), "ProductId"), line_b()}),
                 RejectReason::kMissingField, "Details[1].ProductId");
  check_rejected(d, order_with_lines({line_a(), drop(line_b(), "Quantity")}),
                 RejectReason::kMissingField, "Details[2].Quantity");
  check_rejected(d, order_with_lines({line_a(), line_b(), set(line_b(), "Email", "null")}),
                 RejectReason::kMissingField, "Details[3].Email");
  for (const auto& name : {"Email", "ProductId", "Quantity", "UnitPrice"}) {
    check_rejected(d, order_with_lines({drop(line_a(), name)}), RejectReason::kMissingField,
                   std::string("Details[1].") + name);
  }
  // The first failing line is reported, and in a line the first field.
  check_rejected(
      d, order_with_lines({line_a(), set(line_b(), "Quantity", "-1"), drop(line_a(), "Email")}),
      RejectReason::kOutOfRange, "Details[2].Quantity");
  check_rejected(d, order_with_lines({set(drop(line_a(), "UnitPrice"), "ProductId", "\"7\"")}),
                 RejectReason::kWrongType, "Details[1].ProductId");
}

TEST_CASE("an order without lines is an order, as seed 003's schema allows", "[kinds][record]") {
  const auto& d = order();
  for (const auto& payload :
       {order_without("Details"), order_with("Details", "null"), order_with("Details", "[]")}) {
    INFO("payload: " << payload);
    const auto r = accept(d, payload);
    CHECK(r.lines.empty());
    CHECK(value(d, r, "Total") == Value(dec("41.97")));
  }
}

TEST_CASE("the lines must be a bounded array of objects", "[kinds][record]") {
  const auto& d = order();
  check_rejected(d, order_with("Details", object(line_a())), RejectReason::kWrongType, "Details");
  check_rejected(d, order_with("Details", R"("none")"), RejectReason::kWrongType, "Details");
  check_rejected(d, order_with("Details", "3"), RejectReason::kWrongType, "Details");
  check_rejected(d, order_with("Details", array({object(line_a()), "5"})), RejectReason::kWrongType,
                 "Details[2]");
  check_rejected(d, order_with("Details", array({"[]"})), RejectReason::kWrongType, "Details[1]");
  check_rejected(d, order_with("Details", array({"null"})), RejectReason::kWrongType, "Details[1]");
  std::vector<std::string> many(1001, object(line_a()));
  check_rejected(d, order_with("Details", array(many)), RejectReason::kOutOfRange, "Details");
  many.pop_back();
  CHECK(accept(d, order_with("Details", array(many))).lines.size() == 1000);

  // Lines of a kind whose min_items is 0 may be absent or null.
  const auto& s = sample();
  CHECK(accept(s, object(sample_members())).lines.empty());
  CHECK(accept(s, object(set(sample_members(), "Items", "null"))).lines.empty());
  CHECK(accept(s, object(set(sample_members(), "Items", "[]"))).lines.empty());
  const auto two =
      accept(s, object(set(sample_members(), "Items", R"([{"Label": "a"}, {"Label": "b"}])")));
  REQUIRE(two.lines.size() == 2);
  CHECK(two.lines[1] == std::vector<Value>{std::string("b")});
  check_rejected(
      s,
      object(set(sample_members(), "Items", R"([{"Label": "a"}, {"Label": "b"}, {"Label": "c"}])")),
      RejectReason::kOutOfRange, "Items");
  check_rejected(s, object(set(sample_members(), "Items", R"([{"Label": ""}])")),
                 RejectReason::kOutOfRange, "Items[1].Label");
}

TEST_CASE("a body that is not a JSON object is refused", "[kinds][record]") {
  const auto& d = order();
  const auto body = object(order_members());
  check_rejected(d, body.substr(0, body.size() / 2), RejectReason::kInvalidJson, "");
  check_rejected(d, "", RejectReason::kInvalidJson, "");
  check_rejected(d, "{\"Total\": 1,}", RejectReason::kInvalidJson, "");
  check_rejected(d, body + " {}", RejectReason::kInvalidJson, "");              // trailing text
  check_rejected(d, "{\"Region\": \"\xff\"}", RejectReason::kInvalidJson, "");  // not UTF-8
  check_rejected(d, order_with("Extra", std::string(70, '[') + std::string(70, ']')),
                 RejectReason::kInvalidJson, "");  // too deep
  check_rejected(d, array({body}), RejectReason::kNotAnObject, "");
  check_rejected(d, "[]", RejectReason::kNotAnObject, "");
  check_rejected(d, "\"order\"", RejectReason::kNotAnObject, "");
  check_rejected(d, "42", RejectReason::kNotAnObject, "");
  check_rejected(d, "null", RejectReason::kNotAnObject, "");
}

TEST_CASE("a known member given twice is refused", "[kinds][record]") {
  const auto& d = order();
  auto twice = order_members();
  twice.emplace_back("Total", "41.97");  // even with the same value
  check_rejected(d, object(twice), RejectReason::kInvalidFormat, "Total");
  twice = order_members();
  twice.emplace_back("Region", "null");
  check_rejected(d, object(twice), RejectReason::kInvalidFormat, "Region");
  twice = order_members();
  twice.emplace_back("Details", array({object(line_a())}));
  check_rejected(d, object(twice), RejectReason::kInvalidFormat, "Details");
  auto line_twice = line_a();
  line_twice.emplace_back("UnitPrice", "1");
  check_rejected(d, order_with_lines({line_b(), line_twice}), RejectReason::kInvalidFormat,
                 "Details[2].UnitPrice");
  // Unknown members may repeat.
  twice = order_members();
  twice.emplace_back("Extra", "1");
  twice.emplace_back("Extra", "2");
  accept(d, object(twice));
}

TEST_CASE("unknown members are ignored", "[kinds][record]") {
  const auto& d = order();
  auto members = order_members();
  members.insert(members.begin(), {"Coupon", R"({"code": [1, "x", null, {"deep": true}]})"});
  members.emplace_back("total", R"("lower case is another member")");
  auto extra_line = line_a();
  extra_line.emplace_back("Discount", R"("ten percent")");
  members = set(members, "Details", array({object(extra_line)}));
  const auto r = accept(d, object(members));
  CHECK(r.values.size() == d.fields.size());
  CHECK(value(d, r, "Total") == Value(dec("41.97")));
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0].size() == 4);
}

TEST_CASE("checks go in declaration order, the lines last", "[kinds][record]") {
  const auto& d = order();
  // OrderDate comes before Total in the declaration, whatever the JSON's order.
  auto members = drop(order_members(), "OrderDate");
  members = set(members, "Total", R"("x")");
  check_rejected(d, object(members), RejectReason::kMissingField, "OrderDate");
  // A bad line is found only when the fields are good.
  members = set(order_members(), "Details", "[]");
  members = set(members, "Country", "7");
  check_rejected(d, object(members), RejectReason::kWrongType, "Country");
  members = set(order_members(), "HasBeenShipped", "\"no\"");
  members = drop(members, "Details");
  check_rejected(d, object(members), RejectReason::kWrongType, "HasBeenShipped");
}
