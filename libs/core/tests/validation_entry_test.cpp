// The other ways through validation: to_json's output read back,
// routing_hint, and parse_event_into. (The generator's messages against
// their ground truth: libs/kinds/tests/generator_test.cpp.)
#include <catch2/catch.hpp>

#include "millrace/core/store_message.hpp"
#include "millrace/reference/validation.hpp"
#include "sample_event.hpp"
#include "validation_support.hpp"

using namespace millrace::core;
using namespace millrace::core::testing;

TEST_CASE("to_json output parses back to the same event", "[validation]") {
  StoreEvent e = accept(SampleBody().str());
  e.store_fqdn = "a \"quoted\" \\ name\twith\ncontrol \x01 and \xc3\xa9";
  e.category = "Sticky Notes";
  e.price = Decimal::from_units(1);
  e.discount = Decimal::from_integer(100);
  e.ts = 0;
  for (const bool with_type : {false, true}) {
    for (const auto type : {EventType::kSale, EventType::kInventory}) {
      e.event_type = type;
      e.contact_me = with_type ? std::optional<std::string>() : std::optional<std::string>("c");
      const std::string json = to_json(e, with_type);
      const StoreEvent back = accept(json, to_string(type));
      CHECK(event_diff(back, e).empty());
    }
  }
}

TEST_CASE("routing_hint extracts event_type and store_id cheaply", "[validation]") {
  RoutingHint h = routing_hint(SampleBody().append("event_type", "\"sale_event\"").str());
  CHECK(h.event_type == EventType::kSale);
  CHECK(h.raw_event_type == "sale_event");
  CHECK(h.store_id == 5);

  h = routing_hint(R"({"event_type": "refund_event", "store_id": 2147483647})");
  CHECK_FALSE(h.event_type);
  CHECK(h.raw_event_type == "refund_event");
  CHECK(h.store_id == 2147483647);

  h = routing_hint(R"({"nested": {"store_id": 9, "event_type": "sale_event"}, "x": [1]})");
  CHECK_FALSE(h.event_type);
  CHECK_FALSE(h.raw_event_type);
  CHECK_FALSE(h.store_id);

  // Wrongly typed or out of range values are not usable.
  for (const char* body :
       {R"({"store_id": "5", "event_type": 1})", R"({"store_id": -5, "event_type": null})",
        R"({"store_id": 5.0, "event_type": ["sale_event"]})",
        R"({"store_id": 2147483648, "event_type": {}})", R"({"store_id": 99999999999999999999})"}) {
    INFO(body);
    h = routing_hint(body);
    CHECK_FALSE(h.store_id);
    CHECK_FALSE(h.event_type);
    CHECK_FALSE(h.raw_event_type);
  }

  // Garbage yields nothing and never throws.
  for (const std::string& garbage :
       {std::string(""), std::string("not json"), std::string("[1, 2]"), std::string("\"x\""),
        std::string("\0\xff", 2), std::string(100'000, '[')}) {
    h = routing_hint(garbage);
    CHECK_FALSE(h.store_id);
    CHECK_FALSE(h.event_type);
  }

  // Best effort: a message torn after the routing fields still routes.
  h = routing_hint(R"({"store_id": 17, "event_type": "inventory_event", "qty": )");
  CHECK(h.store_id == 17);
  CHECK(h.event_type == EventType::kInventory);
}

TEST_CASE("parse_event_into: the body's event_type wins, else the fallback", "[validation]") {
  StoreEvent event;
  const std::string plain = SampleBody().str();
  const std::string typed = SampleBody().append("event_type", "\"inventory_event\"").str();

  // The same event as parse_event, either way the type arrives.
  CHECK_FALSE(parse_event_into(plain, kSale, event));
  CHECK(event_diff(event, accept(plain)).empty());
  CHECK_FALSE(parse_event_into(typed, std::nullopt, event));
  CHECK(event.event_type == EventType::kInventory);
  CHECK(event_diff(event, accept(typed, "inventory_event")).empty());

  // The body's field decides even when a different fallback is given.
  CHECK_FALSE(parse_event_into(typed, kSale, event));
  CHECK(event.event_type == EventType::kInventory);

  // Neither: the rejection parse_event gives without a header.
  auto r = parse_event_into(plain, std::nullopt, event);
  REQUIRE(r);
  CHECK(r->reason == RejectReason::kMissingEventType);
  // A null field is no type: the fallback applies.
  CHECK_FALSE(parse_event_into(SampleBody().append("event_type", "null").str(), kSale, event));
  CHECK(event.event_type == EventType::kSale);
  // An unknown type in the body is reported as such.
  r = parse_event_into(SampleBody().append("event_type", "\"refund\"").str(), kSale, event);
  REQUIRE(r);
  CHECK(r->reason == RejectReason::kUnknownEventType);
  // A field that is not a string falls back, then fails the field's type check.
  r = parse_event_into(SampleBody().append("event_type", "7").str(), kSale, event);
  REQUIRE(r);
  CHECK(r->reason == RejectReason::kWrongType);
  CHECK(r->field == "event_type");
  // Syntax and field errors are those of parse_event.
  r = parse_event_into("{\"id\":", kSale, event);
  REQUIRE(r);
  CHECK(r->reason == RejectReason::kInvalidJson);
  r = parse_event_into(SampleBody().set("qty", "-3").str(), kSale, event);
  REQUIRE(r);
  CHECK(r->reason == RejectReason::kOutOfRange);
  CHECK(r->field == "qty");

  // Reused after a rejection, the event comes out whole.
  CHECK_FALSE(parse_event_into(SampleBody().set("contact_me", "null").str(), kSale, event));
  CHECK_FALSE(event.contact_me);
  CHECK(event_diff(event, accept(SampleBody().set("contact_me", "null").str())).empty());
}
