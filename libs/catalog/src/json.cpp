#include "millrace/catalog/json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <stdexcept>

#include "millrace/core/json_string.hpp"
#include "millrace/core/timestamp.hpp"

namespace millrace::catalog {

namespace {

const std::optional<std::string>& column(const RowText& row, std::string_view name) {
  const auto it = row.find(name);
  if (it == row.end()) {
    throw std::invalid_argument("the row has no column " + std::string(name));
  }
  return it->second;
}

const std::string& required(const RowText& row, std::string_view name) {
  const auto& value = column(row, name);
  if (!value) throw std::invalid_argument("column " + std::string(name) + " is null");
  return *value;
}

void key(std::string& out, std::string_view name, bool first = false) {
  if (!first) out.push_back(',');
  core::append_json_string(out, name);
  out.push_back(':');
}

void text(std::string& out, const std::optional<std::string>& value) {
  if (value) {
    core::append_json_string(out, *value);
  } else {
    out += "null";
  }
}

void boolean(std::string& out, const RowText& row, std::string_view name) {
  const auto& value = required(row, name);
  if (value == "t" || value == "true") {
    out += "true";
  } else if (value == "f" || value == "false") {
    out += "false";
  } else {
    throw std::invalid_argument("column " + std::string(name) + " is not a boolean: " + value);
  }
}

// A number as PostgreSQL printed it: digits, one optional point, a sign.
void number(std::string& out, const RowText& row, std::string_view name) {
  const auto& value = required(row, name);
  bool digits = false, point = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c == '.' && !point && digits) {
      point = true;
    } else if (c == '-' && i == 0) {
    } else {
      digits = false;
      break;
    }
  }
  if (!digits || value.back() == '.') {
    throw std::invalid_argument("column " + std::string(name) + " is not a number: " + value);
  }
  out += value;
}

// PostgreSQL's ISO output ("2026-11-23 18:00:00.5+00", "+05:30") to RFC 3339
// UTC, so rows read with any session TimeZone render the same.
void timestamp(std::string& out, const RowText& row, std::string_view name) {
  std::string value = required(row, name);
  const auto sign = value.find_last_of("+-");
  if (sign != std::string::npos && sign > 10 && value.size() - sign == 3) value += ":00";
  const auto parsed = core::parse_timestamp(value);
  if (!parsed) {
    throw std::invalid_argument("column " + std::string(name) + " is not a timestamp: " + value);
  }
  core::append_json_string(out, core::format_timestamp(*parsed));
}

}  // namespace

std::string category_json(const RowText& row) {
  std::string out = "{";
  key(out, "name", true);
  core::append_json_string(out, required(row, "name"));
  key(out, "display_name");
  core::append_json_string(out, required(row, "display_name"));
  key(out, "description");
  text(out, column(row, "description"));
  key(out, "active");
  boolean(out, row, "active");
  key(out, "updated_at");
  timestamp(out, row, "updated_at");
  out.push_back('}');
  return out;
}

std::string product_json(const RowText& row) {
  std::string out = "{";
  key(out, "sku", true);
  number(out, row, "sku");
  key(out, "name");
  core::append_json_string(out, required(row, "name"));
  key(out, "brand");
  text(out, column(row, "brand"));
  key(out, "category");
  core::append_json_string(out, required(row, "category"));
  key(out, "list_price");
  number(out, row, "list_price");
  key(out, "active");
  boolean(out, row, "active");
  key(out, "updated_at");
  timestamp(out, row, "updated_at");
  out.push_back('}');
  return out;
}

std::string asset_json(const RowText& row) {
  std::string out = "{";
  key(out, "symbol", true);
  core::append_json_string(out, required(row, "symbol"));
  for (const std::string_view name : {"description", "type", "currency", "display_symbol"}) {
    key(out, name);
    text(out, column(row, name));
  }
  key(out, "updated_at");
  timestamp(out, row, "updated_at");
  out.push_back('}');
  return out;
}

std::string category_list_json(const std::vector<std::string>& items) {
  std::size_t size = 20;
  for (const auto& item : items) size += item.size() + 1;
  std::string out;
  out.reserve(size);
  out += "{\"categories\":[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += items[i];
  }
  out += "]}";
  return out;
}

std::variant<RowText, std::string> change_values(std::string_view row_json) {
  rapidjson::Document doc;
  // Numbers as their literal text: numeric keeps every digit.
  doc.Parse<rapidjson::kParseNumbersAsStringsFlag>(row_json.data(), row_json.size());
  if (doc.HasParseError()) {
    return std::string("not JSON: ") + rapidjson::GetParseError_En(doc.GetParseError());
  }
  if (!doc.IsObject()) return std::string("the row is not an object");
  RowText row;
  for (const auto& member : doc.GetObject()) {
    std::string name(member.name.GetString(), member.name.GetStringLength());
    const auto& v = member.value;
    if (v.IsNull()) {
      row.emplace(std::move(name), std::nullopt);
    } else if (v.IsBool()) {
      row.emplace(std::move(name), v.GetBool() ? "t" : "f");
    } else if (v.IsString()) {
      row.emplace(std::move(name), std::string(v.GetString(), v.GetStringLength()));
    } else {
      return "column " + name + " is not a scalar";
    }
  }
  return row;
}

}  // namespace millrace::catalog
