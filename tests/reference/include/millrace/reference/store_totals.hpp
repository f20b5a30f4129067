#pragma once

// The store event's aggregates as the aggregator folded them before its
// tables became declared views (proto/kinds/store_event.json's views over
// agg_hourly, agg_daily, agg_products and agg_categories): exact money and
// the per-window, per-product and per-category totals of core::Sale, the
// reference the tests compare the declared views' fold against.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "millrace/core/decimal.hpp"
#include "millrace/core/event_type.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/core/window.hpp"

namespace millrace::core {

// ---------------------------------------------------------------------------
// Exact money. price (scale 6) x qty x (100 - discount) (scale 6) is revenue
// x 100 at scale 12, which is exactly revenue at scale 14: with scale 14 no
// aggregate ever rounds, so a sum of deltas equals the sum recomputed from the
// stored rows to the last digit. One event is < 1e29 at scale 14 (price <= 1e9,
// qty <= 1e6) and Int128 holds ~1.7e38, so even a billion maximal events fit.
class Amount {
 public:
  static constexpr int kScale = 14;

  constexpr Amount() = default;
  static constexpr Amount from_units14(Int128 units14) { return Amount(units14); }
  constexpr Int128 units14() const { return units14_; }

  constexpr Amount& operator+=(Amount other) {
    units14_ += other.units14_;
    return *this;
  }
  constexpr Amount& operator-=(Amount other) {
    units14_ -= other.units14_;
    return *this;
  }
  friend constexpr Amount operator+(Amount a, Amount b) { return a += b; }
  friend constexpr Amount operator-(Amount a, Amount b) { return a -= b; }
  friend constexpr Amount operator-(Amount a) { return Amount(-a.units14_); }
  friend constexpr bool operator==(Amount a, Amount b) { return a.units14_ == b.units14_; }

  // Exact decimal text with trailing zeros trimmed: "1398.3333", "0", "-12.5".
  // No exponent, so it is a valid PostgreSQL numeric literal.
  std::string to_string() const;

 private:
  constexpr explicit Amount(Int128 units14) : units14_(units14) {}
  Int128 units14_ = 0;
};

// price x qty x (1 - discount/100), exact; negative when is_return.
Amount sale_revenue(Decimal price, std::int32_t qty, Decimal discount, bool is_return);
// price x qty x discount/100, exact; negative when is_return. For any event
// sale_revenue + discount_amount == price x qty (signed).
Amount discount_amount(Decimal price, std::int32_t qty, Decimal discount, bool is_return);

// ---------------------------------------------------------------------------
// Delta folding. A batch of events is folded into per-window deltas that are
// applied as additive upserts (column = column + delta), so folding is
// commutative: the order of events within or across batches does not matter.
//
// What one event contributes to a Totals:
//   events          1 for every event
//   units           +qty, or -qty when is_return
//   returns         1 when is_return, else 0
//   revenue         sale events: sale_revenue(price, qty, discount, is_return)
//   discount_total  sale events: discount_amount(price, qty, discount, is_return)
// Inventory events contribute 0 to revenue and discount_total. Returns make
// units, revenue and discount_total negative.
struct Totals {
  std::int64_t events = 0;
  std::int64_t units = 0;
  Amount revenue;
  Amount discount_total;
  std::int64_t returns = 0;

  Totals& operator+=(const Totals& other);
  friend bool operator==(const Totals&, const Totals&) = default;
};

// The contribution of one event, by the rules above.
Totals event_totals(const Sale& sale);

struct WindowKey {
  TimestampUs window_start;
  EventType event_type;
  std::string category;
  auto operator<=>(const WindowKey&) const = default;
};

// Per sku, sale events only: units signed as in Totals, revenue as in Totals.
struct ProductTotals {
  std::int64_t units = 0;
  Amount revenue;
  friend bool operator==(const ProductTotals&, const ProductTotals&) = default;
};

class Deltas {
 public:
  void fold(const Sale& sale);

  // Every event, keyed by (hour_start(ts), event_type, category).
  const std::map<WindowKey, Totals>& hourly() const { return hourly_; }
  // Every event, keyed by (day_start(ts), event_type, category).
  const std::map<WindowKey, Totals>& daily() const { return daily_; }
  // Sale events only, by sku.
  const std::map<std::int64_t, ProductTotals>& products() const { return products_; }
  // Sale events only, by category (all time).
  const std::map<std::string, Totals>& categories() const { return categories_; }

  // Number of events folded since construction or clear().
  std::size_t events() const { return events_; }
  bool empty() const { return events_ == 0; }
  void clear();

 private:
  std::map<WindowKey, Totals> hourly_;
  std::map<WindowKey, Totals> daily_;
  std::map<std::int64_t, ProductTotals> products_;
  std::map<std::string, Totals> categories_;
  std::size_t events_ = 0;
};

}  // namespace millrace::core
