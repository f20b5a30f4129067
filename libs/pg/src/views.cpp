#include "millrace/pg/views.hpp"

#include <algorithm>
#include <stdexcept>

#include "millrace/core/event.hpp"

namespace millrace::pg {

namespace {

constexpr ViewInfo kViews[] = {
    {"hourly_sales", "per hour and event type: events, units, revenue, discount_total, returns"},
    {"daily_sales", "per UTC day and event type: events, units, revenue, discount_total, returns"},
    {"orders_this_hour", "sale events of the current hour: orders and revenue"},
    {"today_summary", "sale events of the current UTC day: orders, revenue, units, returns"},
    {"top_products", "the 10 skus with the most net units sold, all time, with name and brand"},
    {"popular_categories", "sale events per category, most units first, with display name"},
    {"web_orders_hourly", "orders (seed 003) per hour of OrderDate: orders, revenue, units"},
    {"web_orders_daily", "orders per UTC day of OrderDate: orders, revenue, units"},
    {"web_orders_this_hour", "orders of the current UTC hour so far: orders, revenue, units"},
    {"web_orders_today", "orders of the current UTC day so far: orders, revenue, units"},
    {"web_orders_top_products",
     "the 10 products with the most units ordered, all time, with name and brand"},
    {"web_orders_categories", "units and revenue ordered per catalog category, most units first"},
};

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

std::span<const ViewInfo> public_views() {
  return kViews;
}

const ViewInfo* find_view(std::string_view name) {
  for (const auto& v : kViews) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

Table read_view(pqxx::connection& connection, std::string_view name) {
  if (find_view(name) == nullptr) {
    throw std::invalid_argument("unknown view \"" + std::string(name) + "\"");
  }
  pqxx::read_transaction tx(connection);
  // Views with a natural order define it; the windowed ones read best oldest first.
  std::string sql = "SELECT * FROM " + tx.quote_name(std::string(name));
  if (name == "hourly_sales" || name == "daily_sales") sql += " ORDER BY window_start, event_type";
  if (name == "web_orders_hourly" || name == "web_orders_daily") sql += " ORDER BY window_start";
  const auto result = tx.exec(sql);
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
