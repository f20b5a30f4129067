#include "millrace/pg/views.hpp"

#include <algorithm>
#include <stdexcept>

#include "millrace/core/json_string.hpp"
#include "millrace/core/options.hpp"
#include "millrace/core/values.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/pg/declared_views.hpp"

namespace millrace::pg {

namespace {

using enum ColumnKind;

ViewInfo store_view(std::string name, std::string description, std::vector<ViewColumn> columns,
                    std::string order_by, bool windowed) {
  return {std::move(name), std::move(description),          std::move(columns), std::move(order_by),
          windowed,        std::string(kinds::kStoreEvent), ViewGrain::kOther,  {}};
}

std::vector<ViewInfo> store_event_views() {
  const std::vector<ViewColumn> sales = {{"window_start", kTimestamp}, {"event_type", kText},
                                         {"events", kInteger},         {"units", kInteger},
                                         {"revenue", kNumeric},        {"discount_total", kNumeric},
                                         {"returns", kInteger}};
  return {
      store_view("hourly_sales",
                 "per hour and event type: events, units, revenue, discount_total, returns", sales,
                 "window_start, event_type", true),
      store_view("daily_sales",
                 "per UTC day and event type: events, units, revenue, discount_total, returns",
                 sales, "window_start, event_type", true),
      store_view("orders_this_hour", "sale events of the current hour: orders and revenue",
                 {{"window_start", kTimestamp}, {"orders", kInteger}, {"revenue", kNumeric}},
                 "window_start", false),
      store_view("today_summary",
                 "sale events of the current UTC day: orders, revenue, units, returns",
                 {{"day", kTimestamp},
                  {"orders", kInteger},
                  {"revenue", kNumeric},
                  {"units", kInteger},
                  {"returns", kInteger}},
                 "day", false),
      store_view("top_products",
                 "the 10 skus with the most net units sold, all time, with name and brand",
                 {{"rank", kInteger},
                  {"sku", kInteger},
                  {"units", kInteger},
                  {"revenue", kNumeric},
                  {"name", kText, true},
                  {"brand", kText, true}},
                 "rank", false),
      store_view("popular_categories",
                 "sale events per category, most units first, with display name",
                 {{"category", kText},
                  {"events", kInteger},
                  {"units", kInteger},
                  {"revenue", kNumeric},
                  {"display_name", kText, true}},
                 "units DESC, category", false),
  };
}

}  // namespace

std::string_view type_name(ColumnKind type) {
  switch (type) {
    case kTimestamp:
      return "timestamp";
    case kText:
      return "text";
    case kInteger:
      return "integer";
    case kNumeric:
      return "decimal";
  }
  return "text";
}

namespace {

// A declared view (declared_views.cpp's): its windows, groups, measures
// and, with a top N, the rank.
ViewInfo declared_view(const kinds::Declaration& d, const kinds::ViewDecl& v) {
  std::vector<ViewColumn> columns{{"window_start", kTimestamp}, {"window_end", kTimestamp}};
  std::string groups;
  for (const auto& g : v.group_by) {
    const auto& column = view_group_column(d, g);
    columns.push_back({column, view_group_type(d, g) == "bigint" ? kInteger : kText});
    groups += ", " + column;
  }
  std::string measures;
  for (const auto& m : v.measures) {
    columns.push_back({m.as, m.op == kinds::MeasureDecl::Op::kCount ? kInteger : kNumeric,
                       m.op == kinds::MeasureDecl::Op::kAvg});
    measures += (measures.empty() ? "" : ", ") + m.as;
  }
  std::string order = "window_start";
  if (v.top) {
    for (const auto p : v.top->per) order += ", " + view_group_column(d, v.group_by[p]);
    order += ", rank";
    columns.push_back({"rank", kInteger});
  }
  order += groups;
  const auto& w = v.window;
  std::string description = v.description;
  if (description.empty()) {
    description = "kind " + d.kind + ", " +
                  (v.top ? "the top " + std::to_string(v.top->n) + " by " + v.top->by + " of each "
                         : "per ") +
                  "window of " + core::format_duration(w.size) +
                  (w.tumbling() ? "" : " every " + core::format_duration(w.hop)) + " in " +
                  w.time_zone + (groups.empty() ? "" : " and" + groups.substr(1)) + ": " + measures;
  }
  std::vector<std::string> dimensions;
  for (const auto& g : v.group_by) dimensions.push_back(view_group_column(d, g));
  return {v.name, std::move(description), std::move(columns),   std::move(order), true,
          d.kind, ViewGrain::kDeclared,   std::move(dimensions)};
}

}  // namespace

// The columns are kind_tables.cpp's views' (aggregate_statements), in their
// order: units is in each window's view whether or not the kind has lines
// (0 without them).
std::vector<ViewInfo> aggregate_views(const kinds::Declaration& d) {
  std::vector<ViewInfo> out;
  const auto& a = *d.aggregate;
  const std::string& records = a.records_as;
  const std::string& amount = a.amount_as;
  const std::string time = d.time_field().name;
  const auto view = [&](std::string_view suffix, std::string description,
                        std::vector<ViewColumn> columns, std::string order_by, bool windowed,
                        ViewGrain grain) {
    out.push_back({a.name + "_" + std::string(suffix),
                   std::move(description),
                   std::move(columns),
                   std::move(order_by),
                   windowed,
                   d.kind,
                   grain,
                   {}});
  };
  // The windows' columns: their start, the groups, the sums and the ratios
  // (kind_aggregate.cpp's views, in their order).
  const auto window = [&](const char* first) {
    std::vector<ViewColumn> columns{{first, kTimestamp}};
    for (const auto g : a.group_by) {
      const auto& f = d.fields[g];
      columns.push_back({f.column, f.type == kinds::ValueType::kInteger ? kInteger : kText});
    }
    columns.insert(columns.end(), {{records, kInteger}, {amount, kNumeric}, {"units", kInteger}});
    for (const auto& s : a.sums) columns.push_back({s.as, kNumeric});
    for (const auto& r : a.ratios) columns.push_back({r.as, kNumeric, true});
    return columns;
  };
  std::string groups, sums = records + ", " + amount + ", units";
  for (const auto g : a.group_by) groups += ", " + d.fields[g].column;
  for (const auto& s : a.sums) sums += ", " + s.as;
  for (const auto& r : a.ratios) sums += ", " + r.as;
  const std::string per = groups.empty() ? "" : " and" + groups.substr(1);
  view("hourly", "kind " + d.kind + ", per hour of " + time + per + ": " + sums,
       window("window_start"), "window_start" + groups, true, ViewGrain::kHourly);
  view("daily", "kind " + d.kind + ", per UTC day of " + time + per + ": " + sums,
       window("window_start"), "window_start" + groups, true, ViewGrain::kDaily);
  view("this_hour", "kind " + d.kind + ", the current UTC hour so far" + per + ": " + sums,
       window("window_start"), "window_start" + groups, false, ViewGrain::kThisHour);
  view("today", "kind " + d.kind + ", the current UTC day so far" + per + ": " + sums,
       window("day"), "day" + groups, false, ViewGrain::kToday);
  if (a.item) {
    const std::string item = d.lines->fields[*a.item].name;
    view("top_products",
         "kind " + d.kind + ", the 10 products (" + item +
             ") with the most units, all time, with name and brand",
         {{"rank", kInteger},
          {"product_id", kInteger},
          {"units", kInteger},
          {amount, kNumeric},
          {records, kInteger},
          {"name", kText, true},
          {"brand", kText, true}},
         "rank", false, ViewGrain::kTopProducts);
    view("categories",
         "kind " + d.kind + ", units and " + amount + " per catalog category, most units first",
         {{"category", kText},
          {"units", kInteger},
          {amount, kNumeric},
          {"display_name", kText, true}},
         "units DESC, category", false, ViewGrain::kCategories);
  }
  return out;
}

std::vector<ViewInfo> kind_views(const kinds::Declaration& d) {
  std::vector<ViewInfo> out;
  if (d.aggregate) out = aggregate_views(d);
  for (const auto& v : d.views) {
    // A view adopting a migration's table is read by the migration's views
    // (the store event's hourly_sales and the others, store_event_views()).
    if (!v.adopts_table()) out.push_back(declared_view(d, v));
  }
  return out;
}

std::vector<ViewInfo> public_views(const std::vector<kinds::Declaration>& kinds) {
  auto out = store_event_views();
  for (const auto& d : kinds) {
    for (auto& v : kind_views(d)) {
      if (const auto* other = find_view(out, v.name)) {
        throw core::UsageError("kind " + d.kind + ": its aggregate's view " + v.name +
                               " has the name of a view of kind " + other->kind +
                               "; give aggregate.name another name");
      }
      out.push_back(std::move(v));
    }
  }
  return out;
}

const ViewInfo* find_view(const std::vector<ViewInfo>& views, std::string_view name) {
  for (const auto& v : views) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

namespace {

bool is_number(std::string_view s) {
  if (s.empty()) return false;
  std::size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  bool digits = false;
  bool dot = false;
  for (; i < s.size(); ++i) {
    if (s[i] >= '0' && s[i] <= '9') {
      digits = true;
    } else if (s[i] == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  return digits;
}

void csv_field(std::string& out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += s;
    return;
  }
  out += '"';
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

}  // namespace

Table read_view(pqxx::connection& connection, const ViewInfo& view) {
  pqxx::read_transaction tx(connection);
  std::string columns;
  for (const auto& c : view.columns) {
    columns += (columns.empty() ? "" : ", ") + tx.quote_name(c.name);
  }
  // Its described columns in its order, so `millrace views` and the API agree.
  const auto result = tx.exec("SELECT " + columns + " FROM " + tx.quote_name(view.name) +
                              " ORDER BY " + view.order_by);
  Table table;
  for (pqxx::row::size_type c = 0; c < result.columns(); ++c) {
    table.columns.emplace_back(result.column_name(c));
  }
  for (const auto& row : result) {
    auto& out = table.rows.emplace_back();
    for (const auto& field : row) {
      out.push_back(field.is_null() ? std::nullopt : std::optional<std::string>(field.c_str()));
    }
  }
  return table;
}

std::optional<Format> parse_format(std::string_view text) {
  if (text == "table") return Format::kTable;
  if (text == "json") return Format::kJson;
  if (text == "csv") return Format::kCsv;
  return std::nullopt;
}

std::string render(const Table& table, Format format) {
  std::string out;
  switch (format) {
    case Format::kTable: {
      std::vector<std::size_t> width;
      for (const auto& c : table.columns) width.push_back(c.size());
      for (const auto& row : table.rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
          width[i] = std::max(width[i], row[i] ? row[i]->size() : 0);
        }
      }
      const auto line = [&](const auto& cells) {
        for (std::size_t i = 0; i < cells.size(); ++i) {
          const std::string& s = cells[i];
          if (i > 0) out += " | ";
          out += s;
          if (i + 1 < cells.size()) out.append(width[i] - s.size(), ' ');
        }
        out += '\n';
      };
      line(table.columns);
      for (std::size_t i = 0; i < width.size(); ++i) {
        if (i > 0) out += "-+-";
        out.append(width[i], '-');
      }
      out += '\n';
      for (const auto& row : table.rows) {
        std::vector<std::string> cells;
        for (const auto& v : row) cells.push_back(v.value_or(""));
        line(cells);
      }
      out += "(" + std::to_string(table.rows.size()) +
             (table.rows.size() == 1 ? " row)\n" : " rows)\n");
      break;
    }
    case Format::kJson: {
      out += '[';
      for (std::size_t r = 0; r < table.rows.size(); ++r) {
        out += r == 0 ? "\n  {" : ",\n  {";
        for (std::size_t i = 0; i < table.columns.size(); ++i) {
          if (i > 0) out += ", ";
          core::append_json_string(out, table.columns[i]);
          out += ": ";
          const auto& v = table.rows[r][i];
          if (!v) {
            out += "null";
          } else if (is_number(*v)) {
            out += *v;
          } else {
            core::append_json_string(out, *v);
          }
        }
        out += '}';
      }
      out += table.rows.empty() ? "]\n" : "\n]\n";
      break;
    }
    case Format::kCsv: {
      for (std::size_t i = 0; i < table.columns.size(); ++i) {
        if (i > 0) out += ',';
        csv_field(out, table.columns[i]);
      }
      out += "\r\n";
      for (const auto& row : table.rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
          if (i > 0) out += ',';
          if (row[i]) csv_field(out, *row[i]);
        }
        out += "\r\n";
      }
      break;
    }
  }
  return out;
}

}  // namespace millrace::pg
