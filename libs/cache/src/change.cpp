#include "change.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stdexcept>

#include "millrace/catalog/json.hpp"
#include "millrace/core/timestamp.hpp"

namespace millrace::cache::detail {

std::string category_key(std::string_view name) {
  return "category:" + std::string(name);
}

std::string product_key(std::string_view sku) {
  return "product:" + std::string(sku);
}

std::string asset_key(std::string_view symbol) {
  return "asset:" + std::string(symbol);
}

std::string entry_key(catalog::Table table, std::string_view key) {
  switch (table) {
    case catalog::Table::kCategories:
      return category_key(key);
    case catalog::Table::kProducts:
      return product_key(key);
    case catalog::Table::kAssets:
      break;
  }
  return asset_key(key);
}

bool may_be_catalog(std::optional<std::string_view> kafka_key, std::string_view schema) {
  if (!kafka_key) return true;  // not written by the feed: let the parser judge
  for (std::string_view table : {"categories", "products", "assets"}) {
    const std::string prefix =
        "{\"table\":\"" + std::string(schema) + "." + std::string(table) + "\"";
    if (kafka_key->starts_with(prefix)) return true;
  }
  // A key of another shape is read in full rather than guessed at.
  return !kafka_key->starts_with("{\"table\":\"");
}

namespace {

std::string serialize(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

const rapidjson::Value* member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  const auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::optional<std::string> string_of(const rapidjson::Value* value) {
  if (value == nullptr || !value->IsString()) return std::nullopt;
  return std::string(value->GetString(), value->GetStringLength());
}

// The key column's text in a row object (name, or sku as its literal).
std::optional<std::string> key_of(const rapidjson::Value* row, catalog::Table table) {
  if (row == nullptr || !row->IsObject()) return std::nullopt;
  const auto* v = member(*row, catalog::columns(table).front().data());
  if (v == nullptr) return std::nullopt;
  return string_of(v);  // numbers are parsed as strings (their literal)
}

}  // namespace

std::variant<NotCatalog, CatalogChange, std::string> read_change(std::string_view value,
                                                                 std::string_view schema) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseNumbersAsStringsFlag>(value.data(), value.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::string("not a JSON object");
  const auto table_name = string_of(member(doc, "table"));
  if (!table_name) return std::string("no table");
  CatalogChange change;
  const std::string prefix = std::string(schema) + ".";
  const auto table = table_name->starts_with(prefix)
                         ? catalog::parse_table(std::string_view(*table_name).substr(prefix.size()))
                         : std::nullopt;
  if (!table) return NotCatalog{};
  change.table = *table;
  const auto id = string_of(member(doc, "id"));
  const auto op = string_of(member(doc, "op"));
  if (!id || id->empty()) return std::string("no id");
  if (!op) return std::string("no op");
  change.id = *id;
  const auto* source = member(doc, "source");
  if (source == nullptr || !source->IsObject()) return std::string("no source");
  const auto xid = string_of(member(*source, "xid"));
  if (!xid) return std::string("no source.xid");
  try {
    change.xid = static_cast<std::uint32_t>(std::stoull(*xid));
  } catch (const std::exception&) {
    return "source.xid is not a number: " + *xid;
  }
  if (const auto at = string_of(member(*source, "commit_time"))) {
    change.commit_us = core::parse_timestamp(*at);
  }
  if (*op == "t" || *op == "g") {
    change.op = *op == "t" ? CatalogChange::Op::kTruncate : CatalogChange::Op::kGap;
    return change;
  }
  // A backfill's end marker: its rows came before it, one by one.
  if (*op == "e") return NotCatalog{};
  const auto* key = member(doc, "key");
  const auto* before = member(doc, "before");
  const auto* after = member(doc, "after");
  if (*op == "d") {
    change.op = CatalogChange::Op::kDelete;
    auto name = key_of(key, change.table);
    if (!name) name = key_of(before, change.table);
    if (!name) return std::string("a delete without its key");
    change.name = std::move(*name);
    return change;
  }
  if (*op != "c" && *op != "u" && *op != "r") return "unknown op " + *op;
  auto name = key_of(after, change.table);
  if (!name) return std::string("no new row with its key");
  change.name = std::move(*name);
  if (const auto old = key_of(before, change.table); old && *old != change.name) {
    change.old_name = old;
  }
  if (member(doc, "unchanged") != nullptr) {
    // Only TOASTed values are left out; catalog rows are far too small for
    // that, so a row without all its values is not one this build knows.
    return std::string("a row with unchanged (TOASTed) values");
  }
  auto values = catalog::change_values(serialize(*after));
  if (auto* why = std::get_if<std::string>(&values)) return "the new row: " + *why;
  try {
    const auto& row = std::get<catalog::RowText>(values);
    switch (change.table) {
      case catalog::Table::kCategories:
        change.body = catalog::category_json(row);
        break;
      case catalog::Table::kProducts:
        change.body = catalog::product_json(row);
        break;
      case catalog::Table::kAssets:
        change.body = catalog::asset_json(row);
        break;
    }
  } catch (const std::invalid_argument& e) {
    return std::string("the new row: ") + e.what();
  }
  return change;
}

}  // namespace millrace::cache::detail
