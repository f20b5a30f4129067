#pragma once

// What the window and folding tests share: exact values from text, and store
// events and totals made and described in one line.

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "millrace/core/window.hpp"
#include "millrace/reference/store_event_rules.hpp"
#include "millrace/reference/store_totals.hpp"

namespace Catch {
template <>
struct StringMaker<millrace::core::Amount> {
  static std::string convert(const millrace::core::Amount& a) { return a.to_string(); }
};
}  // namespace Catch

namespace millrace::core::testing {

inline TimestampUs ts(std::string_view text) {
  const auto parsed = millrace::core::parse_timestamp(text);
  INFO("timestamp: " << text);
  REQUIRE(parsed.has_value());
  return *parsed;
}

inline Decimal dec(std::string_view literal) {
  const auto parsed = Decimal::parse(literal);
  INFO("decimal: " << literal);
  REQUIRE(parsed.has_value());
  return *parsed;
}

inline std::string fmt(TimestampUs t) {
  return millrace::core::format_timestamp(t);
}

inline std::string revenue(std::string_view price, std::int32_t qty, std::string_view discount,
                           bool is_return = false) {
  return sale_revenue(dec(price), qty, dec(discount), is_return).to_string();
}

inline std::string discount(std::string_view price, std::int32_t qty, std::string_view discount,
                            bool is_return = false) {
  return discount_amount(dec(price), qty, dec(discount), is_return).to_string();
}

// One line per Totals, so a mismatch shows every field at once.
inline std::string describe(const Totals& t) {
  return "events=" + std::to_string(t.events) + " units=" + std::to_string(t.units) +
         " revenue=" + t.revenue.to_string() + " discount=" + t.discount_total.to_string() +
         " returns=" + std::to_string(t.returns);
}

inline StoreEvent event(EventType type, std::string category, std::int64_t sku,
                        std::string_view price, std::int32_t qty, std::string_view disc,
                        std::string_view when, bool is_return) {
  StoreEvent e;
  e.event_type = type;
  e.category = std::move(category);
  e.sku = sku;
  e.price = dec(price);
  e.qty = qty;
  e.discount = dec(disc);
  e.ts = ts(when);
  e.is_return = is_return;
  return e;
}

}  // namespace millrace::core::testing
