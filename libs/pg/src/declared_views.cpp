#include "millrace/pg/declared_views.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

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
  if (!v.adopts_table()) out.emplace_back("row_count", "bigint");
  for (const auto& m : v.measures) {
    if (v.has_column(m)) out.emplace_back(m.as, view_measure_type(v, m));
  }
  return out;
}

// What the shape records of the rows folded besides the columns: which
// rows each measure takes. Empty for a view without conditions.
std::string conditions_text(const Declaration& d, const ViewDecl& v) {
  const auto name = [&](const kinds::ViewField& f) {
    return f.on_line ? d.lines->fields[f.index].name : d.fields[f.index].name;
  };
  const auto where = [&](const std::vector<kinds::ViewMatch>& matches) {
    std::string out;
    for (const auto& m : matches) {
      out += " " + name(m.field) + "=" +
             std::visit(
                 [](const auto& x) -> std::string {
                   using T = std::decay_t<decltype(x)>;
                   if constexpr (std::is_same_v<T, std::string>) return x;
                   if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
                   if constexpr (std::is_same_v<T, std::int64_t>) return std::to_string(x);
                 },
                 m.equals);
    }
    return out;
  };
  std::string out = v.where.empty() ? "" : "; where" + where(v.where);
  for (const auto& m : v.measures) {
    std::string of;
    for (const auto& f : m.of) of += f.percent ? " percent" : "";
    if (m.where.empty() && !m.negative_when && of.empty()) continue;
    out += "; " + m.as + of + (m.where.empty() ? "" : " where" + where(m.where)) +
           (m.negative_when ? " negative_when " + name(*m.negative_when) : "");
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
    if (!v.has_column(m)) continue;
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
        out += ", w." + (v.has_column(m) ? m.as : std::string("row_count")) + "::bigint AS " + m.as;
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
  return v.adopts_table() ? v.table : "agg_view_" + v.name;
}

std::string view_time_column(const ViewDecl& v) {
  return v.adopts_table() ? "window_start" : "bucket";
}

std::string view_measure_type(const ViewDecl& v, const MeasureDecl& m) {
  if (m.op == MeasureDecl::Op::kCount) return "bigint";
  return v.adopts_table() && m.scale == 0 ? "bigint" : "numeric";
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

std::vector<std::string> declared_view_statements(const Declaration& d, const ViewDecl& v) {
  if (v.adopts_table()) return {};
  std::string columns, key = "bucket";
  for (const auto& [name, type] : table_columns(d, v)) {
    columns += ", " + name + " " + type + " NOT NULL";
  }
  for (const auto& g : v.group_by) key += ", " + view_group_column(d, g);
  return {"CREATE TABLE IF NOT EXISTS " + view_table(v) + " (bucket timestamptz NOT NULL" +
              columns + ", PRIMARY KEY (" + key + "))",
          "COMMENT ON TABLE " + view_table(v) + " IS " + literal(window_text(v.window)),
          view_sql(d, v)};
}

std::vector<std::string> declared_view_statements(const Declaration& d) {
  std::vector<std::string> out;
  for (const auto& v : d.views) {
    for (auto& sql : declared_view_statements(d, v)) out.push_back(std::move(sql));
  }
  return out;
}

std::string view_shape(const Declaration& d, const ViewDecl& v) {
  std::string out = window_text(v.window) + "; bucket timestamptz";
  for (const auto& [name, type] : table_columns(d, v)) out += ", " + name + " " + type;
  return out + conditions_text(d, v);
}

namespace {

void refuse_names_and_zone(pqxx::work& tx, const Declaration& d, const ViewDecl& v) {
  const auto fail = [&](const std::string& what) {
    throw core::InfraError(core::FailureClass::kFatal,
                           "kind " + d.kind + ": view " + v.name + ": " + what);
  };
  const auto names = kind_table_names(d);
  // The view's name is a relation of its own: not one of the kind's
  // tables, nor any other table of the schema.
  for (const auto* tables : {&names.records, &names.sums, &names.views}) {
    if (std::find(tables->begin(), tables->end(), v.name) != tables->end()) {
      fail("its name is one of the kind's tables; name the view otherwise");
    }
  }
  const auto kind = tx.exec_params(
      "SELECT c.relkind::text FROM pg_class c WHERE c.oid = to_regclass(quote_ident($1))", v.name);
  if (!kind.empty() && kind[0][0].as<std::string>() != "v") {
    fail("a table named " + v.name + " exists; name the view otherwise");
  }
  if (tx.exec_params1("SELECT count(*) FROM pg_timezone_names WHERE name = $1",
                      v.window.time_zone)[0]
          .as<int>() == 0) {
    fail("PostgreSQL knows no time zone \"" + v.window.time_zone +
         "\" (SELECT name FROM pg_timezone_names lists them)");
  }
}

// The shape of the table `table` holds, as view_shape() writes one; empty
// when there is no such table. For a table made before aggregator_views
// recorded shapes (migration 0021): its columns and its comment's window.
std::string held_shape(pqxx::work& tx, const std::string& table) {
  std::string columns;
  for (const auto& row : tx.exec_params(
           "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
           "current_schema() AND table_name = $1 ORDER BY ordinal_position",
           table)) {
    const auto type = row[1].as<std::string>();
    columns += ", " + row[0].as<std::string>() + " " +
               (type == "timestamp with time zone" ? "timestamptz" : type);
  }
  if (columns.empty()) return "";
  const auto comment =
      tx.exec_params1("SELECT coalesce(obj_description(to_regclass($1), 'pg_class'), '')", table)[0]
          .as<std::string>();
  return comment + ";" + columns.substr(1);
}

// A table the view adopts holds the columns the view keeps, in any order
// and with others besides (a migration made it; nothing here changes it).
void check_adopted(pqxx::work& tx, const Declaration& d, const ViewDecl& v) {
  std::map<std::string, std::string> held;
  for (const auto& row : tx.exec_params(
           "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
           "current_schema() AND table_name = $1",
           v.table)) {
    const auto type = row[1].as<std::string>();
    held[row[0].as<std::string>()] = type == "timestamp with time zone" ? "timestamptz" : type;
  }
  auto want = table_columns(d, v);
  if (!v.window.all_time) want.emplace_back(view_time_column(v), "timestamptz");
  std::string missing;
  for (const auto& [name, type] : want) {
    const auto it = held.find(name);
    if (it == held.end() || it->second != type) missing += " " + name + " " + type;
  }
  if (held.empty() || !missing.empty()) {
    throw core::InfraError(core::FailureClass::kFatal,
                           "kind " + d.kind + ": view " + v.name + " adopts table " + v.table +
                               (held.empty() ? ", which does not exist (a migration makes it)"
                                             : ", which lacks the columns" + missing));
  }
}

void drop_view(pqxx::work& tx, const std::string& name, const std::string& table) {
  tx.exec("DROP VIEW IF EXISTS " + tx.quote_name(name));
  tx.exec("DROP TABLE IF EXISTS " + tx.quote_name(table));
  tx.exec_params("DELETE FROM aggregator_views WHERE view_name = $1", name);
}

}  // namespace

void sync_declared_views(pqxx::work& tx, const Declaration& d, ViewChanges changes) {
  std::map<std::string, std::string> registered;  // view -> shape
  for (const auto& row :
       tx.exec_params("SELECT view_name, shape FROM aggregator_views WHERE kind = $1", d.kind)) {
    registered.emplace(row[0].as<std::string>(), row[1].as<std::string>());
  }
  const auto rebuild = changes == ViewChanges::kRebuild;
  for (const auto& v : d.views) {
    if (v.adopts_table()) {
      check_adopted(tx, d, v);
      continue;
    }
    refuse_names_and_zone(tx, d, v);
    const auto table = view_table(v);
    const auto want = view_shape(d, v);
    const auto it = registered.find(v.name);
    // A table dropped by hand is made again, and filled.
    const auto on_disk = held_shape(tx, table);
    const auto held = on_disk.empty() || it == registered.end() ? on_disk : it->second;
    if (!held.empty() && held != want) {
      if (!rebuild) continue;  // the aggregator, or `millrace migrate`, rebuilds it
      drop_view(tx, v.name, table);
    }
    const bool made = held.empty() || held != want;
    for (const auto& sql : declared_view_statements(d, v)) tx.exec(sql);
    if (made || it == registered.end()) {
      // A table made now waits for the aggregator to claim it (claim_view_fills);
      // one that was there before shapes were recorded was its aggregator's.
      tx.exec_params(
          "INSERT INTO aggregator_views (view_name, kind, shape, state) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (view_name) DO UPDATE SET kind = EXCLUDED.kind, shape = EXCLUDED.shape, "
          "state = EXCLUDED.state, made_at = now(), claimed_at = NULL, filled_at = NULL",
          v.name, d.kind, want, made ? "unfilled" : "filled");
    }
    registered.erase(v.name);
  }
  if (!rebuild) return;
  // Views the declaration no longer has.
  for (const auto& [name, shape] : registered) drop_view(tx, name, "agg_view_" + name);
}

std::int64_t claim_view_fills(pqxx::connection& connection, const std::string& kind,
                              const std::string& group, const std::string& topic) {
  pqxx::work tx(connection);
  const auto r = tx.exec_params(
      "WITH consumed AS (SELECT EXISTS (SELECT 1 FROM consumer_offsets WHERE group_id = $2 AND "
      "topic = $3 AND next_offset > 0) AS any), "
      "claimed AS (UPDATE aggregator_views SET state = CASE WHEN c.any THEN 'filling' ELSE "
      "'filled' END, claimed_at = now(), filled_at = CASE WHEN c.any THEN NULL ELSE now() END "
      "FROM consumed c WHERE kind = $1 AND state = 'unfilled' RETURNING view_name, state), "
      "ranges AS (INSERT INTO aggregator_view_fills (view_name, topic, partition, until_offset) "
      "SELECT c.view_name, o.topic, o.partition, o.next_offset FROM claimed c JOIN "
      "consumer_offsets o ON o.group_id = $2 AND o.topic = $3 AND o.next_offset > 0 WHERE "
      "c.state = 'filling') "
      "SELECT count(*) FROM claimed",
      kind, group, topic);
  tx.commit();
  return r[0][0].as<std::int64_t>();
}

std::vector<ViewFill> pending_view_fills(pqxx::connection& connection, const std::string& kind) {
  pqxx::read_transaction tx(connection);
  std::vector<ViewFill> out;
  // Before the migrations made it (an aggregator migrating the schema
  // itself starts its fill beside): nothing to fill yet.
  if (tx.exec1("SELECT to_regclass('aggregator_view_fills') IS NULL")[0].as<bool>()) return out;
  for (const auto& row : tx.exec_params(
           "SELECT f.view_name, f.topic, f.partition, f.until_offset, f.done_offset FROM "
           "aggregator_view_fills f JOIN aggregator_views v USING (view_name) WHERE v.kind = $1 "
           "AND v.state = 'filling' ORDER BY f.view_name, f.partition",
           kind)) {
    const auto name = row[0].as<std::string>();
    if (out.empty() || out.back().view != name) out.push_back({name, row[1].as<std::string>(), {}});
    out.back().partitions.push_back(
        {row[2].as<std::int32_t>(), row[3].as<std::int64_t>(), row[4].as<std::int64_t>()});
  }
  return out;
}

std::optional<ViewFillState> view_fill_state(pqxx::transaction_base& tx, const std::string& view) {
  if (!tx.exec1("SELECT to_regclass('aggregator_views') IS NOT NULL AND "
                "has_table_privilege('aggregator_views', 'SELECT') AND "
                "has_table_privilege('aggregator_view_fills', 'SELECT')")[0]
           .as<bool>()) {
    return std::nullopt;
  }
  const auto r = tx.exec_params(
      "SELECT v.state, coalesce(sum(f.done_offset), 0), coalesce(sum(f.until_offset), 0) FROM "
      "aggregator_views v LEFT JOIN aggregator_view_fills f USING (view_name) WHERE "
      "v.view_name = $1 GROUP BY v.state",
      view);
  if (r.empty()) return std::nullopt;
  ViewFillState out{r[0][0].as<std::string>(), r[0][1].as<std::int64_t>(),
                    r[0][2].as<std::int64_t>()};
  if (out.state != "unfilled" && out.state != "filling") return std::nullopt;
  return out;
}

std::string view_fill_note(const std::string& view, const ViewFillState& state) {
  if (state.state == "unfilled") {
    return "view " + view +
           " was made after its kind's records were folded and waits for its aggregator to fill "
           "it: its rows hold only what was folded since";
  }
  return "view " + view +
         " is being filled from the records before it: " + std::to_string(state.done) + " of " +
         std::to_string(state.until) + " offsets read; until then its rows lack some of them";
}

std::optional<std::string> view_fill_note(pqxx::connection& connection, const std::string& view) {
  pqxx::read_transaction tx(connection);
  const auto state = view_fill_state(tx, view);
  if (!state) return std::nullopt;
  return view_fill_note(view, *state);
}

void advance_view_fill(pqxx::work& tx, const std::string& view, const FillRange& range,
                       std::int64_t done, std::int64_t missing) {
  const auto r = tx.exec_params(
      "UPDATE aggregator_view_fills SET done_offset = $3, missing = missing + $5 WHERE "
      "view_name = $1 AND partition = $2 AND done_offset = $4",
      view, range.partition, done, range.done, missing);
  if (r.affected_rows() != 1) {
    throw core::InfraError(core::FailureClass::kRetryable,
                           "view " + view + ": partition " + std::to_string(range.partition) +
                               " was filled past offset " + std::to_string(range.done) +
                               " by another aggregator meanwhile; reading its progress again");
  }
  tx.exec_params(
      "UPDATE aggregator_views SET state = 'filled', filled_at = now() WHERE view_name = $1 AND "
      "state = 'filling' AND NOT EXISTS (SELECT 1 FROM aggregator_view_fills WHERE view_name = $1 "
      "AND done_offset < until_offset)",
      view);
}

}  // namespace millrace::pg
