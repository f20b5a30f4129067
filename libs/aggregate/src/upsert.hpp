#pragma once

// The aggregator's additive upserts into a declared kind's tables
// (kind_tables.cpp's windows and items, view_deltas.cpp's declared views):
// a batch's rows as one array per column, summed (or their extremes taken)
// per key in SQL and added to the rows held. Exact numbers travel as text.

#include <cstddef>
#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "millrace/core/decimal.hpp"
#include "millrace/pg/array.hpp"

namespace millrace::aggregate::detail {

// `value` with `scale` decimals, exact, as numeric reads it, keeping at
// least `min_decimals` (amounts keep two: money reads so).
std::string scaled_text(core::Int128 value, int scale, std::size_t min_decimals);

// An exact sum of terms that may outgrow 128 bits (a notional: a price
// times a volume, each with six decimals, summed): a new part begins where
// an addition would overflow, and PostgreSQL adds the parts in numeric.
struct WideSum {
  std::vector<core::Int128> parts;
  void add(core::Int128 term);
};

// One column of an upsert: its name, its array's element type, how a new
// row's value joins the held one, and its values.
struct Column {
  enum class Combine : std::uint8_t { kKey, kSum, kMin, kMax };
  std::string name, type;
  Combine combine = Combine::kSum;
  pg::ArrayLiteral values;
};

// Adds the rows of `columns` (the key columns first) to `table`: rows of
// one key are combined in the statement (a key may come more than once: a
// WideSum's parts), then with the row held. The rows are inserted in key
// order: two members of a group upserting overlapping keys lock them in
// the same order, and never deadlock (a hash aggregate's order is any).
void upsert(pqxx::work& tx, const std::string& table, std::vector<Column>& columns);

}  // namespace millrace::aggregate::detail
