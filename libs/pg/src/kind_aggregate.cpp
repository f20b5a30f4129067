#include "kind_aggregate.hpp"

#include <set>

#include "millrace/core/failure.hpp"
#include "millrace/pg/kind_tables.hpp"

namespace millrace::pg {

using kinds::Declaration;

namespace {

// The window tables' columns after window_start, in their order.
std::vector<std::pair<std::string, std::string>> window_table_columns(const Declaration& d) {
  const auto& a = *d.aggregate;
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto g : a.group_by)
    out.emplace_back(d.fields[g].column, column_type(d.fields[g].type));
  out.emplace_back("records", "bigint");
  out.emplace_back("amount", "numeric");
  out.emplace_back("units", "bigint");
  for (const auto& s : a.sums) out.emplace_back(s.as, "numeric");
  return out;
}

// A view column's table column: the views rename records and amount.
std::string table_column(const kinds::AggregateDecl& a, const std::string& view_column) {
  if (view_column == a.records_as) return "records";
  if (view_column == a.amount_as) return "amount";
  return view_column;
}

// The windows' view columns after the window's, read from alias `t`; with
// `zero`, an absent row's sums read 0 (the current hour's one row).
std::string view_columns(const Declaration& d, bool zero) {
  const auto& a = *d.aggregate;
  const auto col = [&](const std::string& c, const char* cast) {
    return zero ? "coalesce(t." + c + ", 0)" + cast : "t." + c;
  };
  std::string out;
  for (const auto g : a.group_by) out += ", t." + d.fields[g].column;
  out += ", " + col("records", "::bigint") + " AS " + a.records_as;
  out += ", " + col("amount", "") + " AS " + a.amount_as;
  out += ", " + col("units", "::bigint") + " AS units";
  for (const auto& s : a.sums) out += ", " + col(s.as, "") + " AS " + s.as;
  for (const auto& r : a.ratios) {
    out += ", " +
           ratio_sql(col(table_column(a, r.of), ""), col(table_column(a, r.per), ""), r.scale) +
           " AS " + r.as;
  }
  return out;
}

}  // namespace

std::string ratio_sql(const std::string& of, const std::string& per, int scale) {
  const std::string shift = "1" + std::string(static_cast<std::size_t>(scale), '0');
  const std::string unit =
      scale == 0 ? "1" : "0." + std::string(static_cast<std::size_t>(scale - 1), '0') + "1";
  const std::string o = "(" + of + ")::numeric", p = "(" + per + ")::numeric";
  return "CASE WHEN " + p + " = 0 THEN NULL ELSE sign(" + o + ") * sign(" + p + ") * div(2 * abs(" +
         o + ") * " + shift + " + abs(" + p + "), 2 * abs(" + p + ")) * " + unit + " END";
}

std::vector<std::string> aggregate_statements(const Declaration& d) {
  const auto& a = *d.aggregate;
  const std::string agg = "agg_" + a.name;
  const std::string records = a.records_as, amount = a.amount_as;
  std::string key = "window_start";
  for (const auto g : a.group_by) key += ", " + d.fields[g].column;
  std::string columns;
  for (const auto& [name, type] : window_table_columns(d))
    columns += ", " + name + " " + type + " NOT NULL";
  std::vector<std::string> out;
  for (const char* grain : {"hourly", "daily"}) {
    out.push_back("CREATE TABLE IF NOT EXISTS " + agg + "_" + grain +
                  (a.group_by.empty() ? " (window_start timestamptz PRIMARY KEY" + columns + ")"
                                      : " (window_start timestamptz NOT NULL" + columns +
                                            ", PRIMARY KEY (" + key + "))"));
    out.push_back("CREATE OR REPLACE VIEW " + a.name + "_" + grain + " AS SELECT t.window_start" +
                  view_columns(d, false) + " FROM " + agg + "_" + grain + " t");
  }
  // The current UTC hour and day so far: without groups exactly one row
  // (zeros before the first record), with groups a row per group seen.
  const auto current = [&](const char* unit, const char* grain, const char* view,
                           const char* column) {
    return "CREATE OR REPLACE VIEW " + a.name + "_" + view + " AS SELECT n." + column +
           view_columns(d, a.group_by.empty()) + " FROM (SELECT date_trunc('" + unit +
           "', now(), 'UTC') AS " + column + ") n " + (a.group_by.empty() ? "LEFT " : "") +
           "JOIN " + agg + "_" + grain + " t ON t.window_start = n." + column;
  };
  out.push_back(current("hour", "hourly", "this_hour", "window_start"));
  out.push_back(current("day", "daily", "today", "day"));
  if (a.item) {
    out.push_back("CREATE TABLE IF NOT EXISTS " + agg +
                  "_items (item bigint PRIMARY KEY, units bigint NOT NULL, amount numeric NOT "
                  "NULL, records bigint NOT NULL)");
    out.push_back("CREATE INDEX IF NOT EXISTS " + agg + "_items_rank_idx ON " + agg +
                  "_items (units DESC, item)");
    // Names come from the catalog when read, as top_products' do.
    out.push_back("CREATE OR REPLACE VIEW " + a.name +
                  "_top_products AS SELECT t.rank, t.item AS product_id, t.units, t.amount AS " +
                  amount + ", t.records AS " + records +
                  ", p.name, p.brand FROM (SELECT (row_number() OVER (ORDER BY units DESC, "
                  "item))::int AS rank, item, units, amount, records FROM (SELECT * FROM " +
                  agg +
                  "_items ORDER BY units DESC, item LIMIT 10) x) t LEFT JOIN products p ON "
                  "p.sku = t.item ORDER BY t.rank");
    out.push_back("CREATE OR REPLACE VIEW " + a.name +
                  "_categories AS SELECT p.category, sum(t.units)::bigint AS units, "
                  "sum(t.amount) AS " +
                  amount + ", c.display_name FROM " + agg +
                  "_items t JOIN products p ON p.sku = t.item LEFT JOIN categories c ON c.name = "
                  "p.category GROUP BY p.category, c.display_name ORDER BY units DESC, "
                  "p.category");
  }
  return out;
}

void check_aggregate_tables(pqxx::work& tx, const Declaration& d) {
  const auto& a = *d.aggregate;
  std::set<std::string> want = {"window_start"};
  for (const auto& [name, type] : window_table_columns(d)) want.insert(name);
  for (const char* grain : {"hourly", "daily"}) {
    const std::string table = "agg_" + a.name + "_" + grain;
    std::set<std::string> have;
    for (const auto& row :
         tx.exec_params("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                        "current_schema() AND table_name = $1",
                        table)) {
      have.insert(row[0].as<std::string>());
    }
    if (have.empty() || have == want) continue;
    const auto list = [](const std::set<std::string>& s) {
      std::string out;
      for (const auto& c : s) out += (out.empty() ? "" : ", ") + c;
      return out;
    };
    throw core::InfraError(
        core::FailureClass::kFatal,
        "table " + table + " has the columns (" + list(have) + ") but kind " + d.kind +
            "'s aggregate makes (" + list(want) +
            "): its groups and sums are fixed once its tables exist; give aggregate.name a new "
            "name (its tables then fill from the records folded from then on), or drop " +
            table + " and its views to start it again");
  }
}

}  // namespace millrace::pg
