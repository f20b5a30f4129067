#pragma once

// A kind's declared views (kinds::ViewDecl; docs/views.md, "Declared
// views") in PostgreSQL. Each has a table, agg_view_<name>, one row per
// bucket (a hop of its window, aligned in its time zone) and group: the
// rows folded (row_count) and each measure's sum, minimum or maximum, exact
// in numeric. The view <name> reads it: every window summed from its
// buckets (a hopping window from size / hop of them), averages computed
// then, rounded half away from zero, and with a top N only the first N
// groups of each window, with their rank.
//
// The aggregator folds a row into the bucket of a "slot" (view_slot()):
// the bucket itself when the buckets are the same instants in every zone,
// else the quarter hour of UTC the row falls in, which PostgreSQL maps to
// its local hour, day or week (bucket_sql()) when it adds it: the time
// zone database is PostgreSQL's.

#include <chrono>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "millrace/kinds/declaration.hpp"

namespace millrace::pg {

// agg_view_<name>.
std::string view_table(const kinds::ViewDecl& v);

// The width of the slots the aggregator folds rows into, aligned to the
// Unix epoch in UTC.
std::chrono::minutes view_slot(const kinds::ViewWindow& w);

// SQL mapping `slot` (a timestamptz expression: a slot's start) to its
// bucket's start.
std::string bucket_sql(const kinds::ViewWindow& w, const std::string& slot);

// The column type of a group field.
std::string view_group_type(const kinds::Declaration& d, const kinds::ViewField& f);
// A group field's column.
const std::string& view_group_column(const kinds::Declaration& d, const kinds::ViewField& f);

// CREATE TABLE IF NOT EXISTS and CREATE OR REPLACE VIEW statements for every
// view `d` declares, in order.
std::vector<std::string> declared_view_statements(const kinds::Declaration& d);

// Refuses (core::InfraError, fatal) a view's table made for another shape
// (other groups or measures: its rows hold sums by other keys), and a
// time zone PostgreSQL does not know.
void check_declared_views(pqxx::work& tx, const kinds::Declaration& d);

}  // namespace millrace::pg
