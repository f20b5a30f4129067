#include <catch2/catch.hpp>

#include "millrace/reference/store_event.hpp"

using namespace millrace::core;

namespace {

StoreEvent sample() {
  StoreEvent e;
  e.id = "743da362-69df-4e63-a95f-a1d93e29825e";
  e.request_id = "843da362-69df-4e63-a95f-a1d93e29825e";
  e.store_id = 5;
  e.store_fqdn = "localhost";
  e.store_ip = "127.0.0.1";
  e.cust_id = 549;
  e.category = "Notebooks";
  e.sku = 169008;
  e.price = *Decimal::parse("45.85");
  e.qty = 34;
  e.discount = *Decimal::parse("10.3");
  e.gift_wrap = true;
  e.variant = "red";
  e.priority_shipping = false;
  e.ts = *parse_timestamp("2023-05-19T14:36:09.985501");
  e.contact_me = "github.com/miztiik";
  e.is_return = true;
  e.event_type = EventType::kInventory;
  return e;
}

}  // namespace

TEST_CASE("event type names", "[event]") {
  CHECK(to_string(EventType::kSale) == "sale_event");
  CHECK(to_string(EventType::kInventory) == "inventory_event");
  CHECK(parse_event_type("sale_event") == EventType::kSale);
  CHECK(parse_event_type("inventory_event") == EventType::kInventory);
  CHECK_FALSE(parse_event_type("refund_event"));
  CHECK_FALSE(parse_event_type("SALE_EVENT"));
  CHECK_FALSE(parse_event_type(""));
}

TEST_CASE("to_json writes every contract field in contract order", "[event]") {
  const std::string expected =
      R"({"id":"743da362-69df-4e63-a95f-a1d93e29825e","request_id":"843da362-69df-4e63-a95f-a1d93e29825e",)"
      R"("store_id":5,"store_fqdn":"localhost","store_ip":"127.0.0.1","cust_id":549,)"
      R"("category":"Notebooks","sku":169008,"price":45.85,"qty":34,"discount":10.3,)"
      R"("gift_wrap":true,"variant":"red","priority_shipping":false,)"
      R"("ts":"2023-05-19T14:36:09.985501Z","contact_me":"github.com/miztiik","is_return":true)";
  CHECK(to_json(sample(), false) == expected + "}");
  CHECK(to_json(sample(), true) == expected + R"(,"event_type":"inventory_event"})");
}

TEST_CASE("append_json_string: every escape, clean runs between them, UTF-8 as is", "[event]") {
  const auto quoted = [](std::string_view text) {
    std::string out = "x";  // appends, does not overwrite
    append_json_string(out, text);
    return out;
  };
  CHECK(quoted("") == R"(x"")");
  CHECK(quoted("c11f6531-eb66-49a7-b305-67547a34c162") ==
        R"(x"c11f6531-eb66-49a7-b305-67547a34c162")");
  CHECK(quoted("\"") == R"(x"\"")");
  CHECK(quoted("a\"b\\c\nd\re\tf\bg\fh") == R"(x"a\"b\\c\nd\re\tf\bg\fh")");
  CHECK(quoted(std::string_view("\x00\x1f\x20\x7f", 4)) == "x\"\\u0000\\u001f \x7f\"");
  CHECK(quoted("caf\xc3\xa9 \xe2\x82\xac") == "x\"caf\xc3\xa9 \xe2\x82\xac\"");
  CHECK(quoted("ends with \\") == R"(x"ends with \\")");
  // append_json_chars writes the same inside, without the quotes.
  for (const std::string_view text :
       {std::string_view("a\"b\\c\nd"), std::string_view("plain"), std::string_view("\x01x")}) {
    std::string inside = "x";
    append_json_chars(inside, text);
    CHECK("x\"" + inside.substr(1) + "\"" == quoted(text));
  }
}

TEST_CASE("to_json: null contact_me, exact decimals, escaping", "[event]") {
  StoreEvent e = sample();
  e.contact_me.reset();
  e.price = Decimal::from_units(1);
  e.discount = Decimal::from_integer(20);
  e.variant = "say \"hi\"\\\n\t\x01\x1f caf\xc3\xa9";
  const std::string json = to_json(e, false);
  CHECK(json.find(R"("contact_me":null)") != std::string::npos);
  CHECK(json.find(R"("price":0.000001,)") != std::string::npos);
  CHECK(json.find(R"("discount":20,)") != std::string::npos);
  CHECK(json.find(R"("variant":"say \"hi\"\\\n\t\u0001\u001f caf)"
                  "\xc3\xa9\"") != std::string::npos);
}
