#include "render.hpp"

#include "millrace/core/json_string.hpp"
#include "millrace/pg/views.hpp"

namespace millrace::api {

namespace {

// PostgreSQL prints integers and numerics as an optional '-', digits and at
// most one point: already a JSON number. NaN or infinity (which no view
// produces) would not be, and are kept as strings rather than break the
// document.
bool json_number(const std::string& s) {
  std::size_t i = s.empty() || s[0] != '-' ? 0 : 1;
  const std::size_t first = i;
  bool point = false;
  for (; i < s.size(); ++i) {
    if (s[i] == '.' && !point && i > first && i + 1 < s.size()) {
      point = true;
    } else if (s[i] < '0' || s[i] > '9') {
      return false;
    }
  }
  // JSON allows no leading zero before other digits ("01").
  return i > first && !(s[first] == '0' && first + 1 < s.size() && s[first + 1] != '.');
}

}  // namespace

std::string rows_json(const View& view, const Rows& rows, std::int64_t limit) {
  std::string out = "{\"view\":";
  core::append_json_string(out, view.name);
  out += ",\"limit\":" + std::to_string(limit);
  out += rows.truncated ? ",\"truncated\":true" : ",\"truncated\":false";
  if (rows.fill) {
    out += ",\"fill\":{\"state\":";
    core::append_json_string(out, rows.fill->state);
    out += ",\"offsets_read\":" + std::to_string(rows.fill->done) +
           ",\"offsets\":" + std::to_string(rows.fill->until) + '}';
  }
  out += ",\"rows\":[";
  for (std::size_t r = 0; r < rows.rows.size(); ++r) {
    if (r > 0) out += ',';
    out += '{';
    const auto& row = rows.rows[r];
    for (std::size_t c = 0; c < view.columns.size(); ++c) {
      if (c > 0) out += ',';
      core::append_json_string(out, view.columns[c].name);
      out += ':';
      const auto& v = c < row.size() ? row[c] : std::nullopt;
      const ColumnType type = view.columns[c].type;
      if (!v) {
        out += "null";
      } else if ((type == ColumnType::kInteger || type == ColumnType::kNumeric) &&
                 json_number(*v)) {
        out += *v;
      } else {
        core::append_json_string(out, *v);
      }
    }
    out += '}';
  }
  out += "]}";
  return out;
}

std::string rows_csv(const View& view, const Rows& rows) {
  // pg::render writes the same CSV as `millrace views --format csv`.
  pg::Table table;
  for (const auto& c : view.columns) table.columns.emplace_back(c.name);
  table.rows = rows.rows;
  return pg::render(table, pg::Format::kCsv);
}

std::string views_json(const ServedViews& served) {
  std::string out = "{\"views\":[";
  bool first = true;
  for (const auto& v : served.views) {
    if (!first) out += ',';
    first = false;
    out += "{\"name\":";
    core::append_json_string(out, v.name);
    out += ",\"kind\":";
    core::append_json_string(out, v.kind);
    out += ",\"description\":";
    core::append_json_string(out, v.description);
    out += ",\"path\":";
    core::append_json_string(out, "/v1/views/" + std::string(v.name));
    out += v.windowed ? ",\"windowed\":true" : ",\"windowed\":false";
    // What the dashboard charts a declared view by: its groups.
    out += v.grain == pg::ViewGrain::kDeclared ? ",\"declared\":true" : ",\"declared\":false";
    out += ",\"dimensions\":[";
    for (std::size_t d = 0; d < v.dimensions.size(); ++d) {
      if (d > 0) out += ',';
      core::append_json_string(out, v.dimensions[d]);
    }
    out += ']';
    out += ",\"columns\":[";
    for (std::size_t c = 0; c < v.columns.size(); ++c) {
      if (c > 0) out += ',';
      out += "{\"name\":";
      core::append_json_string(out, v.columns[c].name);
      out += ",\"type\":";
      core::append_json_string(out, type_name(v.columns[c].type));
      out += '}';
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

}  // namespace millrace::api
