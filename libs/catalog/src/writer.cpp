#include "millrace/catalog/writer.hpp"

#include <csv.h>

#include "millrace/core/json_string.hpp"
#include "millrace/core/overloaded.hpp"

namespace millrace::catalog {

namespace {

// The record's columns in columns() order, as text (nullopt: empty).
std::vector<std::optional<std::string>> values(const Record& record) {
  return std::visit(
      core::Overloaded{
          [](const Category& c) -> std::vector<std::optional<std::string>> {
            return {c.name, c.display_name, c.description, c.active ? "true" : "false"};
          },
          [](const Product& p) -> std::vector<std::optional<std::string>> {
            return {
                std::to_string(p.sku),      p.name, p.brand, p.category, p.list_price.to_string(),
                p.active ? "true" : "false"};
          },
          [](const Asset& a) -> std::vector<std::optional<std::string>> {
            return {a.symbol, a.description, a.type, a.currency, a.display_symbol};
          }},
      record);
}

Table table_of(const Record& record) {
  constexpr Table kTables[] = {Table::kCategories, Table::kProducts, Table::kAssets};
  return kTables[record.index()];
}

void append_csv_field(std::string& out, std::string_view text) {
  // libcsv quotes the field and doubles its quotes: at most 2n + 2 bytes.
  std::string buffer(2 * text.size() + 2, '\0');
  const auto n = csv_write(buffer.data(), buffer.size(), text.data(), text.size());
  out.append(buffer.data(), n);
}

}  // namespace

std::string to_ndjson(const Record& record) {
  const auto& names = columns(table_of(record));
  const auto vals = values(record);
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!vals[i]) continue;
    if (out.size() > 1) out += ',';
    core::append_json_string(out, names[i]);
    out += ':';
    const bool bare = names[i] == "active" || names[i] == "sku" || names[i] == "list_price";
    if (bare) {
      out += *vals[i];
    } else {
      core::append_json_string(out, *vals[i]);
    }
  }
  out += '}';
  return out;
}

std::string csv_header(Table table) {
  std::string out;
  for (const auto name : columns(table)) {
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

std::string to_csv(const Record& record) {
  std::string out;
  bool first = true;
  for (const auto& v : values(record)) {
    if (!first) out += ',';
    first = false;
    if (v) append_csv_field(out, *v);
  }
  return out;
}

}  // namespace millrace::catalog
