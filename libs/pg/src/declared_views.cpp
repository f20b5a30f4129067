#include "millrace/pg/declared_views.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include "kind_aggregate.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/core/values.hpp"
#include "millrace/pg/kind_tables.hpp"

namespace millrace::pg {

using kinds::Declaration;
using kinds::MeasureDecl;
using kinds::ViewDecl;
using kinds::ViewWindow;
using std::chrono::minutes;

namespace {

constexpr minutes kDay{1440};
constexpr minutes kWeek{7 * 1440};

std::string literal(const std::string& s) {
  return "'" + s + "'";  // a zone's name: letters, digits, / _ - + only (view_decl.cpp)
}

std::string interval(minutes m) {
  return m % kDay == minutes{0} ? "interval '" + std::to_string(m / kDay) + " days'"
                                : "interval '" + std::to_string(m.count()) + " minutes'";
}

// The table's columns after bucket, with their types, in order.
std::vector<std::pair<std::string, std::string>> table_columns(const Declaration& d,
                                                               const ViewDecl& v) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& g : v.group_by) out.emplace_back(view_group_column(d, g), view_group_type(d, g));
  out.emplace_back("row_count", "bigint");
  for (const auto& m : v.measures) {
    if (m.op != MeasureDecl::Op::kCount) out.emplace_back(m.as, "numeric");
  }
  return out;
}

// What the table's comment records of the window: rows bucketed by another
// window cannot be read as this one's.
std::string window_text(const ViewWindow& w) {
  return "window size " + core::format_duration(w.size) + " hop " + core::format_duration(w.hop) +
         " time_zone " + w.time_zone;
}

std::string groups_of(const Declaration& d, const ViewDecl& v, const std::string& alias) {
  std::string out;
  for (const auto& g : v.group_by) out += ", " + alias + view_group_column(d, g);
  return out;
}

// The windows: each bucket summed into the size / hop windows holding it.
std::string windows_sql(const Declaration& d, const ViewDecl& v) {
  const auto& w = v.window;
  const bool days = w.hop >= kDay;  // hops of local days: calendar arithmetic
  const std::string zone = literal(w.time_zone);
  const std::string start = w.tumbling() ? "b.bucket"
                            : days       ? "((b.bucket AT TIME ZONE " + zone + ") - s.i * " +
                                         interval(w.hop) + ") AT TIME ZONE " + zone
                                   : "b.bucket - s.i * " + interval(w.hop);
  const std::string end = w.size % kDay == minutes{0}
                              ? "((" + start + ") AT TIME ZONE " + zone + " + " + interval(w.size) +
                                    ") AT TIME ZONE " + zone
                              : "(" + start + ") + " + interval(w.size);
  std::string sums = ", sum(b.row_count) AS row_count";
  for (const auto& m : v.measures) {
    if (m.op == MeasureDecl::Op::kCount) continue;
    const char* f = m.op == MeasureDecl::Op::kMin   ? "min"
                    : m.op == MeasureDecl::Op::kMax ? "max"
                                                    : "sum";
    sums += ", " + std::string(f) + "(b." + m.as + ") AS " + m.as;
  }
  const std::string hops = w.tumbling() ? ""
                                        : " CROSS JOIN generate_series(0, " +
                                              std::to_string(w.size / w.hop - 1) + ") AS s(i)";
  return "SELECT " + start + " AS window_start, " + end + " AS window_end" + groups_of(d, v, "b.") +
         sums + " FROM " + view_table(v) + " b" + hops + " GROUP BY 1, 2" + groups_of(d, v, "b.");
}

// The view's columns from the windows `w`: counts, sums, extremes, averages.
std::string measures_sql(const Declaration& d, const ViewDecl& v) {
  std::string out = "w.window_start, w.window_end" + groups_of(d, v, "w.");
  for (const auto& m : v.measures) {
    switch (m.op) {
      case MeasureDecl::Op::kCount:
        out += ", w.row_count::bigint AS " + m.as;
        break;
      case MeasureDecl::Op::kAvg:
        out += ", " + ratio_sql("w." + m.as, "w.row_count", m.avg_scale) + " AS " + m.as;
        break;
      default:
        out += ", w." + m.as;
    }
  }
  return out;
}

std::string view_sql(const Declaration& d, const ViewDecl& v) {
  std::string sql = "SELECT " + measures_sql(d, v) + " FROM (" + windows_sql(d, v) + ") w";
  if (!v.top) return "CREATE OR REPLACE VIEW " + v.name + " AS " + sql;
  const auto& t = *v.top;
  const auto column = [&](std::size_t g) { return "m." + view_group_column(d, v.group_by[g]); };
  std::string partition = "m.window_start";
  for (const auto p : t.per) partition += ", " + column(p);
  std::string order = "m." + t.by + (t.ascending ? " ASC" : " DESC");
  // With `then`, a total order: the groups it names, then the others.
  if (!t.then.empty()) {
    std::set<std::size_t> named(t.per.begin(), t.per.end());
    for (const auto g : t.then) {
      order += ", " + column(g);
      named.insert(g);
    }
    for (std::size_t g = 0; g < v.group_by.size(); ++g) {
      if (!named.contains(g)) order += ", " + column(g);
    }
  }
  const std::string rank = t.then.empty() ? "rank()" : "row_number()";
  std::string columns = "r.window_start, r.window_end" + groups_of(d, v, "r.");
  for (const auto& m : v.measures) columns += ", r." + m.as;
  return "CREATE OR REPLACE VIEW " + v.name + " AS SELECT " + columns +
         ", r.rank FROM (SELECT m.*, (" + rank + " OVER (PARTITION BY " + partition + " ORDER BY " +
         order + "))::int AS rank FROM (" + sql + ") m) r WHERE r.rank <= " + std::to_string(t.n);
}

}  // namespace

std::string view_table(const ViewDecl& v) {
  return "agg_view_" + v.name;
}

minutes view_slot(const ViewWindow& w) {
  if (w.time_zone == "UTC") return w.hop == kWeek ? kDay : w.hop;
  return minutes{15} % w.hop == minutes{0} ? w.hop : minutes{15};
}

std::string bucket_sql(const ViewWindow& w, const std::string& slot) {
  if (view_slot(w) == w.hop) return slot;
  const char* unit = w.hop == minutes{60} ? "hour" : w.hop == kDay ? "day" : "week";
  return "date_trunc('" + std::string(unit) + "', " + slot + ", " + literal(w.time_zone) + ")";
}

std::string view_group_type(const Declaration& d, const kinds::ViewField& f) {
  if (f.catalog != kinds::CatalogFact::kNone) return "text";
  return column_type(f.on_line ? d.lines->fields[f.index].type : d.fields[f.index].type);
}

const std::string& view_group_column(const Declaration& d, const kinds::ViewField& f) {
  // The sink's enriched columns' names, in CatalogFact's order.
  if (f.catalog != kinds::CatalogFact::kNone) {
    return kEnrichmentColumns[static_cast<std::size_t>(f.catalog) - 1];
  }
  return f.on_line ? d.lines->fields[f.index].column : d.fields[f.index].column;
}

std::vector<std::string> declared_view_statements(const Declaration& d) {
  std::vector<std::string> out;
  for (const auto& v : d.views) {
    std::string columns, key = "bucket";
    for (const auto& [name, type] : table_columns(d, v)) {
      columns += ", " + name + " " + type + " NOT NULL";
    }
    for (const auto& g : v.group_by) key += ", " + view_group_column(d, g);
    out.push_back("CREATE TABLE IF NOT EXISTS " + view_table(v) + " (bucket timestamptz NOT NULL" +
                  columns + ", PRIMARY KEY (" + key + "))");
    out.push_back("COMMENT ON TABLE " + view_table(v) + " IS " + literal(window_text(v.window)));
    out.push_back(view_sql(d, v));
  }
  return out;
}

void check_declared_views(pqxx::work& tx, const Declaration& d) {
  const auto fail = [&](const ViewDecl& v, const std::string& what) {
    throw core::InfraError(core::FailureClass::kFatal,
                           "kind " + d.kind + ": view " + v.name + ": " + what);
  };
  const auto names = kind_table_names(d);
  for (const auto& v : d.views) {
    // The view's name is a relation of its own: not one of the kind's
    // tables, nor any other table of the schema.
    for (const auto* tables : {&names.records, &names.sums, &names.views}) {
      if (std::find(tables->begin(), tables->end(), v.name) != tables->end()) {
        fail(v, "its name is one of the kind's tables; name the view otherwise");
      }
    }
    const auto kind = tx.exec_params(
        "SELECT c.relkind::text FROM pg_class c WHERE c.oid = to_regclass(quote_ident($1))",
        v.name);
    if (!kind.empty() && kind[0][0].as<std::string>() != "v") {
      fail(v, "a table named " + v.name + " exists; name the view otherwise");
    }
    if (tx.exec_params1("SELECT count(*) FROM pg_timezone_names WHERE name = $1",
                        v.window.time_zone)[0]
            .as<int>() == 0) {
      fail(v, "PostgreSQL knows no time zone \"" + v.window.time_zone +
                  "\" (SELECT name FROM pg_timezone_names lists them)");
    }
    const auto table = view_table(v);
    std::set<std::string> have, want = {"bucket"};
    for (const auto& [name, type] : table_columns(d, v)) want.insert(name);
    for (const auto& row :
         tx.exec_params("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                        "current_schema() AND table_name = $1",
                        table)) {
      have.insert(row[0].as<std::string>());
    }
    if (have.empty()) continue;
    const auto list = [](const std::set<std::string>& s) {
      std::string out;
      for (const auto& c : s) out += (out.empty() ? "" : ", ") + c;
      return out;
    };
    const auto comment =
        tx.exec_params1("SELECT coalesce(obj_description(to_regclass($1), 'pg_class'), '')",
                        table)[0]
            .as<std::string>();
    const std::string again =
        ": give the view a new name (its table then fills from the records folded from then on), "
        "or drop " +
        table + " and the view " + v.name + " to start it again";
    if (have != want) {
      fail(v, "table " + table + " has the columns (" + list(have) +
                  ") but the declaration makes (" + list(want) + ")" + again);
    }
    if (comment != window_text(v.window)) {
      fail(v, "table " + table + " holds buckets of another window (" + comment + ") than the " +
                  "declaration's (" + window_text(v.window) + ")" + again);
    }
  }
}

}  // namespace millrace::pg
