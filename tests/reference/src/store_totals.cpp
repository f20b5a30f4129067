#include "millrace/reference/store_totals.hpp"

namespace millrace::core {
namespace {

// 100% at Decimal scale: discount is a percentage.
constexpr Int128 kHundredPercentUnits = Int128{100} * Decimal::kOne;

constexpr Int128 kAmountOne = [] {
  Int128 one = 1;
  for (int i = 0; i < Amount::kScale; ++i) one *= 10;
  return one;
}();

Amount signed_amount(Int128 units14, bool is_return) {
  return Amount::from_units14(is_return ? -units14 : units14);
}

}  // namespace

std::string Amount::to_string() const {
  __extension__ typedef unsigned __int128 UInt128;
  const bool negative = units14_ < 0;
  // Via unsigned so that the most negative value has a magnitude too.
  const UInt128 magnitude =
      negative ? ~static_cast<UInt128>(units14_) + 1 : static_cast<UInt128>(units14_);
  UInt128 whole = magnitude / static_cast<UInt128>(kAmountOne);
  UInt128 frac = magnitude % static_cast<UInt128>(kAmountOne);

  // Built right to left: 39 digits for the whole part, a point, 14 fraction
  // digits and a sign.
  char buf[64];
  char* const end = buf + sizeof buf;
  char* p = end;
  if (frac != 0) {
    int digits = kScale;
    while (frac % 10 == 0) {
      frac /= 10;
      --digits;
    }
    for (int i = 0; i < digits; ++i) {
      *--p = static_cast<char>('0' + static_cast<int>(frac % 10));
      frac /= 10;
    }
    *--p = '.';
  }
  do {
    *--p = static_cast<char>('0' + static_cast<int>(whole % 10));
    whole /= 10;
  } while (whole != 0);
  if (negative) *--p = '-';
  return std::string(p, end);
}

Amount sale_revenue(Decimal price, std::int32_t qty, Decimal discount, bool is_return) {
  // price(6) x qty x (100% - discount)(6) = revenue x 100 at scale 12
  //                                      = revenue at scale 14.
  return signed_amount(Int128{price.units()} * qty * (kHundredPercentUnits - discount.units()),
                       is_return);
}

Amount discount_amount(Decimal price, std::int32_t qty, Decimal discount, bool is_return) {
  return signed_amount(Int128{price.units()} * qty * discount.units(), is_return);
}

Totals& Totals::operator+=(const Totals& other) {
  events += other.events;
  units += other.units;
  revenue += other.revenue;
  discount_total += other.discount_total;
  returns += other.returns;
  return *this;
}

Totals event_totals(const Sale& event) {
  Totals t;
  t.events = 1;
  t.units = event.is_return ? -std::int64_t{event.qty} : std::int64_t{event.qty};
  t.returns = event.is_return ? 1 : 0;
  if (event.event_type == EventType::kSale) {
    t.revenue = sale_revenue(event.price, event.qty, event.discount, event.is_return);
    t.discount_total = discount_amount(event.price, event.qty, event.discount, event.is_return);
  }
  return t;
}

void Deltas::fold(const Sale& event) {
  const Totals t = event_totals(event);
  hourly_[WindowKey{hour_start(event.ts), event.event_type, *event.category}] += t;
  daily_[WindowKey{day_start(event.ts), event.event_type, *event.category}] += t;
  if (event.event_type == EventType::kSale) {
    ProductTotals& product = products_[event.sku];
    product.units += t.units;
    product.revenue += t.revenue;
    categories_[*event.category] += t;
  }
  ++events_;
}

void Deltas::clear() {
  hourly_.clear();
  daily_.clear();
  products_.clear();
  categories_.clear();
  events_ = 0;
}

}  // namespace millrace::core
