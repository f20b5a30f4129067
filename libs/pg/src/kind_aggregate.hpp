#pragma once

// A declared kind's aggregate tables and views (kinds::AggregateDecl):
// agg_<name>_hourly and _daily, a row per window and group, with records,
// amount, units and the declared sums; _items per catalog product; and the
// views that name their columns as the declaration says and compute the
// declared ratios. Private to the library: kind_tables.cpp runs them.

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "millrace/kinds/declaration.hpp"

namespace millrace::pg {

// CREATE TABLE IF NOT EXISTS and CREATE OR REPLACE VIEW statements, in order.
std::vector<std::string> aggregate_statements(const kinds::Declaration& d);

// Refuses (core::InfraError, fatal) window tables made for another shape
// of the aggregate: other groups or sums than the declaration's. Their
// rows hold sums by other keys, which no statement can turn into these.
void check_aggregate_tables(pqxx::work& tx, const kinds::Declaration& d);

// SQL for `of` / `per` (two numeric expressions) rounded half away from zero
// to `scale` decimals, exactly: div() is numeric's exact integer quotient,
// and a product keeps every digit, where a numeric division stops at its
// own scale and rounding its result again could round twice. NULL where
// `per` is 0.
std::string ratio_sql(const std::string& of, const std::string& per, int scale);

}  // namespace millrace::pg
