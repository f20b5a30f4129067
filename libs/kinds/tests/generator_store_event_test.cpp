// RecordGenerator's store events: good ones parse and pass the compiled contract, with the
// catalog's skus at the stores' addresses; bad ones are refused as it says.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>

#include "generator_fixtures.hpp"
#include "millrace/core/decimal.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/core/store_message.hpp"
#include "millrace/kinds/generator.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/sample_catalog.hpp"
#include "millrace/reference/validation.hpp"
#include "shipped.hpp"

using namespace millrace;
using namespace millrace::kinds;
using namespace millrace::kinds::testing;
using core::Decimal;
using core::Rejection;
using core::RejectReason;

TEST_CASE("good store events parse", "[kinds][generator]") {
  const auto& d = store_event();
  const auto& types = d.fields[*d.find("event_type")].values;
  std::set<std::string> seen_types;
  RecordGenerator g(d, options(42));
  for (int i = 0; i < 2'000; ++i) {
    const auto rec = g.next();
    REQUIRE_FALSE(rec.expected.has_value());
    const auto r = accept(d, rec);
    INFO("payload: " << rec.payload);
    CHECK(rec.key == r.identity(d));
    CHECK(is_lower_uuid(rec.key));
    CHECK(r.time(d) >= kBase - kDayUs);
    CHECK(r.time(d) <= kBase);
    const auto& type = std::get<std::string>(at(d, r, "event_type"));
    CHECK(std::find(types.begin(), types.end(), type) != types.end());
    seen_types.insert(type);
    CHECK(std::get<std::int64_t>(at(d, r, "qty")) >= 1);
    CHECK(std::get<Decimal>(at(d, r, "discount")) <= Decimal::from_integer(100));
  }
  CHECK(seen_types.size() == types.size());
}

TEST_CASE("good store events pass the compiled contract, from the catalog, at their stores",
          "[kinds][generator]") {
  // The hints of proto/kinds/store_event.json: a store's host and address
  // from its number, a sku's category and price from the catalog the
  // reference data is written from, and the shares of the flags.
  RecordGenerator g(store_event(), options(5));
  constexpr int kCount = 20'000;
  int gift = 0, priority = 0, returns = 0, contact = 0, full_price = 0, kept = 0;
  std::set<std::int32_t> stores;
  for (int i = 0; i < kCount; ++i) {
    const auto rec = g.next();
    INFO("payload: " << rec.payload);
    // The header a producer sends is the body's own event_type.
    const auto type =
        rec.payload.find("\"sale_event\"") != std::string::npos ? "sale_event" : "inventory_event";
    auto parsed = core::parse_event(rec.payload, std::string_view(type));
    REQUIRE(std::holds_alternative<core::StoreEvent>(parsed));
    const auto& e = std::get<core::StoreEvent>(parsed);
    stores.insert(e.store_id);
    CHECK(e.store_id >= 1);
    CHECK(e.store_id <= 50);
    char host[32];
    std::snprintf(host, sizeof host, "store-%03d.millrace.local", e.store_id);
    CHECK(e.store_fqdn == host);
    CHECK(e.store_ip == "10.0.0." + std::to_string(e.store_id));
    CHECK(e.price == generated_price(e.sku));
    const auto skus = generated_skus(static_cast<std::size_t>(
        std::find(generated_categories().begin(), generated_categories().end(), e.category) -
        generated_categories().begin()));
    CHECK(std::find(skus.begin(), skus.end(), e.sku) != skus.end());
    CHECK(e.discount <= Decimal::from_integer(50));
    CHECK(e.discount.units() % (Decimal::kOne / 10) == 0);  // in tenths
    full_price += e.discount == Decimal{} ? 1 : 0;
    kept += e.discount > Decimal::from_integer(20) ? 1 : 0;
    gift += e.gift_wrap ? 1 : 0;
    priority += e.priority_shipping ? 1 : 0;
    returns += e.is_return ? 1 : 0;
    if (e.contact_me) {
      ++contact;
      CHECK(*e.contact_me == "github.com/miztiik");
    }
  }
  CHECK(stores.size() == 50);
  const auto near = [](int n, double share) {
    return n > kCount * (share - 0.02) && n < kCount * (share + 0.02);
  };
  CHECK(near(gift, 0.25));
  CHECK(near(priority, 0.3));
  CHECK(near(returns, 0.1));
  CHECK(near(contact, 0.5));
  // 30% at full price, the rest over 0.0 .. 50.0: about 42% above the
  // filter's 20, as the benchmarks' figures assume.
  CHECK(near(full_price, 0.3 + 0.7 / 501));
  CHECK(near(kept, 0.7 * 300 / 501));
}

TEST_CASE("bad store events are refused exactly as the generator says", "[kinds][generator]") {
  const auto& d = store_event();
  std::set<RejectReason> reasons;
  RecordGenerator g(d, options(9, 1.0));
  for (int i = 0; i < 2'000; ++i) reasons.insert(check_bad(d, g.next()));
  // The four every kind gets, and its type's header left out or unknown.
  CHECK(reasons.size() == 6);
  CHECK(reasons.count(RejectReason::kMissingEventType) == 1);
  CHECK(reasons.count(RejectReason::kUnknownEventType) == 1);
}

TEST_CASE("bad store events are refused by the compiled contract as the generator says",
          "[kinds][generator]") {
  // What the sink checks them with: core::parse_event, the header being
  // the event_type a lenient read of the body finds (millrace produce's).
  RecordGenerator g(store_event(), options(1234, 0.3));
  std::set<RejectReason> reasons;
  int good = 0;
  for (int i = 0; i < 20'000; ++i) {
    const auto rec = g.next();
    INFO("record " << i << ": " << rec.payload);
    const auto hint = core::routing_hint(rec.payload);
    std::optional<std::string_view> header;
    if (hint.raw_event_type) header = *hint.raw_event_type;
    const auto result = core::parse_event(rec.payload, header);
    if (!rec.expected) {
      REQUIRE(std::holds_alternative<core::StoreEvent>(result));
      ++good;
      continue;
    }
    REQUIRE(std::holds_alternative<Rejection>(result));
    const auto& r = std::get<Rejection>(result);
    INFO("rejection: " << core::reason_code(r.reason) << " " << r.field << ": " << r.detail);
    REQUIRE(r.reason == *rec.expected);
    if (!rec.bad_field.empty()) CHECK(r.field == rec.bad_field);
    reasons.insert(r.reason);
  }
  CHECK(reasons.size() == 6);
  CHECK(good > 13'400);
  CHECK(good < 14'600);
}
